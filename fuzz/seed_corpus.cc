// fuzz/seed_corpus.cc — writes the fuzzers' seed inputs, so that no binary corpus is committed.
//
//   fuzz_seeds VECTORS_JSON FRAME_DIR ENTRY_DIR
//
// ENTRY_DIR gets every signed item and payload of docs/test-vectors.json (valid and invalid).
// FRAME_DIR gets one valid frame of every message type, built from those vectors, and a stream of
// all of them; each starts with the chunk-seed byte that frame_fuzzer.cc expects.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/bytes.h"
#include "link/messages.h"
#include "record/types.h"

namespace {

using hotline::Bytes;
using namespace hotline::link;

bool write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

// name → signed bytes, for every vector that has them.
std::map<std::string, Bytes> signed_items(const nlohmann::json& vectors) {
  std::map<std::string, Bytes> items;
  for (const auto& [name, vector] : vectors.items()) {
    if (vector.is_object() && vector.contains("signed")) {
      items[name] = hotline::from_hex(vector["signed"].get<std::string>()).value();
    }
  }
  return items;
}

std::map<std::string, Message> seed_messages(const std::map<std::string, Bytes>& items) {
  Hello hello;
  hello.line.bytes.fill(0x11);
  hello.sender = hotline::record::PublicKey(std::array<std::uint8_t, 32>{0x22});
  hello.sender_chain = {2, hotline::record::Hash{0x33}};
  Entries entries;
  for (const char* name : {"entry_first", "entry_second"}) {
    entries.items.push_back(items.at(name));
  }
  return {
      {"hello", hello},
      {"entries", entries},
      {"receipt", Receipt{items.at("receipt")}},
      {"checkpoint", Checkpoint{items.at("checkpoint")}},
      {"heartbeat", Heartbeat{7, 1'700'000'000'000'000}},
      {"heartbeat_ack", HeartbeatAck{7}},
      {"resend_request", ResendRequest{hello.sender, 3}},
      {"goodbye", Goodbye{GoodbyeReason::kMalformed, "frame at stream offset 0: type 9"}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: fuzz_seeds VECTORS_JSON FRAME_DIR ENTRY_DIR\n";
    return 2;
  }
  const std::filesystem::path frame_dir = argv[2];
  const std::filesystem::path entry_dir = argv[3];
  std::filesystem::create_directories(frame_dir);
  std::filesystem::create_directories(entry_dir);

  std::ifstream in(argv[1]);
  const nlohmann::json vectors = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (vectors.is_discarded()) {
    std::cerr << "fuzz_seeds: cannot parse " << argv[1] << "\n";
    return 1;
  }
  bool ok = true;
  for (const auto& [name, vector] : vectors.items()) {
    for (const char* field : {"signed", "payload"}) {
      if (vector.is_object() && vector.contains(field)) {
        const Bytes bytes = hotline::from_hex(vector[field].get<std::string>()).value();
        ok &= write_file(entry_dir / (name + "." + field), bytes);
      }
    }
  }
  Bytes stream{0x00};  // chunk seed
  for (const auto& [name, message] : seed_messages(signed_items(vectors))) {
    const Bytes frame = encode_message(message).value();
    Bytes seed{0x01};
    seed.insert(seed.end(), frame.begin(), frame.end());
    ok &= write_file(frame_dir / name, seed);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  ok &= write_file(frame_dir / "all_messages", stream);
  if (!ok) {
    std::cerr << "fuzz_seeds: cannot write the seeds\n";
    return 1;
  }
  return 0;
}
