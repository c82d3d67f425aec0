// hotline-vectors: prints the record format's test vectors (docs/record-format.md §10) as JSON,
// or, with --check FILE, exits non-zero unless FILE holds exactly what it would print.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "record/checkpoint.h"
#include "record/entry.h"
#include "record/receipt.h"

namespace {

using namespace hotline;
using nlohmann::json;

constexpr Micros kStart = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

Bytes seed_from(std::uint8_t first) {
  Bytes seed(32);
  for (std::size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<std::uint8_t>(first + i);
  }
  return seed;
}

json item_json(const record::Envelope& envelope, const Bytes& signed_bytes,
               const crypto::Hash& hash, std::string_view context) {
  return {{"context", context},
          {"payload", to_hex(envelope.payload)},
          {"signature", to_hex(envelope.signature)},
          {"signed", to_hex(signed_bytes)},
          {"signed_base64", to_base64(signed_bytes)},
          {"hash", to_hex(hash)}};
}

record::SignedEntry entry(const crypto::SigningKey& key, const record::LineId& line,
                          std::uint64_t seq, const crypto::Hash& prev, Micros time,
                          record::ChainPosition cross, const std::string& text) {
  record::EntryFields f;
  f.line = line;
  f.author = key.public_key();
  f.seq = seq;
  f.prev = prev;
  f.time = time;
  f.cross = cross;
  f.kind = "message";
  f.body = cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}});
  return record::sign_entry(key, std::move(f)).value();
}

json entry_json(const record::SignedEntry& e) {
  json j = item_json(e.envelope, e.signed_bytes, e.hash, "hotline/v1/entry");
  j["fields"] = {{"seq", e.fields.seq},
                 {"prev", to_hex(e.fields.prev)},
                 {"time", e.fields.time},
                 {"cross_seq", e.fields.cross.seq},
                 {"cross_hash", to_hex(e.fields.cross.hash)},
                 {"kind", e.fields.kind},
                 {"author", e.fields.author.fingerprint()}};
  return j;
}

json invalid(const Bytes& signed_bytes, const std::string& reason) {
  return {{"signed", to_hex(signed_bytes)}, {"must_reject_because", reason}};
}

json vectors() {
  const Bytes alpha_seed = seed_from(0x00);
  const Bytes bravo_seed = seed_from(0x20);
  auto alpha = crypto::SigningKey::from_seed(alpha_seed).value();
  auto bravo = crypto::SigningKey::from_seed(bravo_seed).value();
  const std::string name = "defence-ministers";
  const auto line = record::derive_line_id(alpha.public_key(), bravo.public_key(), name);

  auto a1 = entry(alpha, line, 1, {}, kStart, {}, "Request for a call between the ministers");
  auto b1 = entry(bravo, line, 1, {}, kStart + 1'500'000, a1.position(), "Received; we will check");
  auto a2 = entry(alpha, line, 2, a1.hash, kStart + 2'000'000, b1.position(), "Thank you");

  record::ReceiptFields rf{record::kFormatVersion, line,          bravo.public_key(),
                           alpha.public_key(),     a2.position(), kStart + 2'100'000};
  auto receipt = record::sign_receipt(bravo, rf).value();
  record::CheckpointFields cf{record::kFormatVersion, line,          alpha.public_key(),
                              a2.position(),          b1.position(), kStart + 3'000'000};
  auto checkpoint = record::sign_checkpoint(alpha, cf).value();

  // Invalid 1: seq 1 written as 0x18 0x01, then validly signed over those very bytes.
  Bytes payload = a1.envelope.payload;
  const Bytes canonical_seq = {0x04, 0x01};  // key 4, value 1
  auto at = std::search(payload.begin(), payload.end(), canonical_seq.begin(), canonical_seq.end());
  payload.insert(at + 1, 0x18);
  auto bad_sig = alpha.sign(crypto::SigningContext::kEntry, payload);
  Bytes non_canonical = record::seal_envelope(payload, bad_sig);
  // Invalid 2: the last byte of the body text changed after signing.
  Bytes tampered_payload = a1.envelope.payload;
  tampered_payload.back() ^= 0x01;
  Bytes tampered = record::seal_envelope(tampered_payload, a1.envelope.signature);
  // Invalid 3: one trailing byte.
  Bytes trailing = a1.signed_bytes;
  trailing.push_back(0x00);

  return {{"format", "hotline record v1"},
          {"keys",
           {{"alpha",
             {{"seed", to_hex(alpha_seed)}, {"fingerprint", alpha.public_key().fingerprint()}}},
            {"bravo",
             {{"seed", to_hex(bravo_seed)}, {"fingerprint", bravo.public_key().fingerprint()}}}}},
          {"line", {{"name", name}, {"id", line.hex()}}},
          {"entry_first", entry_json(a1)},
          {"entry_cross_linked", entry_json(b1)},
          {"entry_second", entry_json(a2)},
          {"receipt",
           item_json(receipt.envelope, receipt.signed_bytes, receipt.hash, "hotline/v1/receipt")},
          {"checkpoint", item_json(checkpoint.envelope, checkpoint.signed_bytes, checkpoint.hash,
                                   "hotline/v1/checkpoint")},
          {"invalid_non_canonical",
           invalid(non_canonical, "seq is encoded as 0x18 0x01, not in its shortest form")},
          {"invalid_bad_signature",
           invalid(tampered, "the body was changed after signing: the signature does not verify")},
          {"invalid_trailing_byte", invalid(trailing, "one byte follows the signed item")}};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string text = vectors().dump(2) + "\n";
  if (argc == 3 && std::string(argv[1]) == "--check") {
    std::ifstream in(argv[2]);
    std::stringstream committed;
    committed << in.rdbuf();
    if (committed.str() != text) {
      std::cerr << "hotline-vectors: " << argv[2]
                << " differs from what the implementation produces; regenerate it with "
                   "hotline-vectors > docs/test-vectors.json and review the change\n";
      return 1;
    }
    std::cout << "test vectors match " << argv[2] << "\n";
    return 0;
  }
  std::cout << text;
  return 0;
}
