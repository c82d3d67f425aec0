#include "bench/record_generator.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "bench/chain_author.h"
#include "bench/must.h"
#include "core/clock.h"
#include "record/export_jsonl.h"
#include "record/receipt.h"

namespace hotline::bench {
namespace {

using record::ChainPosition;

// Entry i of one chain cross-links entry i - kCrossLag of the other, as a station would that
// receives the peer's entries a little late. The lag is what lets the two chains be signed on two
// threads: neither waits for the other unless it runs kCrossLag entries ahead.
constexpr std::uint64_t kCrossLag = 64;
constexpr std::uint64_t kReceiptEvery = 100;
constexpr Micros kFirstTime = 1'700'000'000'000'000;
constexpr Micros kTimeStep = 1000;  // per entry of one chain; the two chains interleave

// The hashes of one chain as its author thread publishes them, for the other thread's
// cross-links and receipts. hashes[seq - 1] is written once, before `published` reaches seq.
class PublishedChain {
 public:
  explicit PublishedChain(std::uint64_t entries) : hashes_(entries) {}

  void publish(std::uint64_t seq, const record::Hash& hash) {
    hashes_[seq - 1] = hash;
    published_.store(seq, std::memory_order_release);
    published_.notify_all();
  }

  // The position of entry `seq` (0: the empty chain), once its author has published it.
  ChainPosition wait_for(std::uint64_t seq) const {
    std::uint64_t seen = published_.load(std::memory_order_acquire);
    while (seen < seq) {
      published_.wait(seen, std::memory_order_acquire);
      seen = published_.load(std::memory_order_acquire);
    }
    return seq == 0 ? ChainPosition{} : ChainPosition{seq, hashes_[seq - 1]};
  }

 private:
  std::vector<record::Hash> hashes_;
  std::atomic<std::uint64_t> published_{0};
};

// One station's share of the work, done on its own thread.
struct Side {
  const crypto::SigningKey* key;
  const crypto::SigningKey* peer;
  std::uint64_t entries;  // of this station's chain
  std::uint64_t lag;      // cross-link entry i - lag of the other chain
  Micros first_time;
  std::string entries_path;   // this chain, exported
  std::string receipts_path;  // this station's receipts for the other chain, exported
  std::uint64_t receipts = 0;
  ChainPosition head;
  Micros last_time = 0;
};

void write_line(std::ofstream& out, const std::string& text) {
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.put('\n');
}

void author_side(Side& side, const record::LineId& line, PublishedChain& own,
                 const PublishedChain& other) {
  ChainAuthor author(*side.key, line, side.first_time, kTimeStep);
  std::ofstream entries(side.entries_path, std::ios::binary | std::ios::trunc);
  std::ofstream receipts(side.receipts_path, std::ios::binary | std::ios::trunc);
  for (std::uint64_t i = 1; i <= side.entries; ++i) {
    const std::uint64_t cross_seq = i > side.lag ? i - side.lag : 0;
    const ChainPosition cross = other.wait_for(cross_seq);
    const record::SignedEntry entry = author.next(cross);
    own.publish(i, entry.hash);
    write_line(entries, record::export_entry(entry));
    if (i % kReceiptEvery == 0 && cross_seq > 0) {
      record::ReceiptFields fields;
      fields.line = line;
      fields.signer = side.key->public_key();
      fields.chain_author = side.peer->public_key();
      fields.held = cross;  // cumulative: never behind the previous receipt
      fields.time = author.time();
      write_line(receipts, record::export_receipt(
                               must(record::sign_receipt(*side.key, fields), "sign_receipt")));
      ++side.receipts;
    }
  }
  side.head = author.head();
  side.last_time = author.time();
  if (!entries.flush() || !receipts.flush()) {
    fail("cannot write " + side.entries_path);
  }
}

void append_file(std::ofstream& out, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || !(out << in.rdbuf())) {
    fail("cannot copy " + path + " into the export");
  }
  in.close();
  std::filesystem::remove(path);
}

}  // namespace

GeneratedRecord write_record_export(const ScratchDir& dir, const std::string& name,
                                    std::uint64_t entries) {
  if (entries < 2) {
    fail("a generated record needs at least 2 entries");
  }
  const crypto::SigningKey alpha = bench_key(0x11);
  const crypto::SigningKey bravo = bench_key(0x22);
  record::LineHeader header;
  header.name = "benchmark line";
  header.first = alpha.public_key();
  header.second = bravo.public_key();
  header.id = record::derive_line_id(header.first, header.second, header.name);

  // Alpha authors entry i before bravo's entry i; bravo's entry i links alpha's i - lag + 1.
  Side sides[2] = {
      {&alpha,
       &bravo,
       (entries + 1) / 2,
       kCrossLag,
       kFirstTime,
       dir.file("alpha.part"),
       dir.file("alpha-receipts.part"),
       0,
       {},
       0},
      {&bravo,
       &alpha,
       entries / 2,
       kCrossLag - 1,
       kFirstTime + kTimeStep / 2,
       dir.file("bravo.part"),
       dir.file("bravo-receipts.part"),
       0,
       {},
       0},
  };
  PublishedChain alpha_chain(sides[0].entries);
  PublishedChain bravo_chain(sides[1].entries);

  const std::int64_t start = monotonic_nanos();
  std::thread bravo_thread([&] { author_side(sides[1], header.id, bravo_chain, alpha_chain); });
  author_side(sides[0], header.id, alpha_chain, bravo_chain);
  bravo_thread.join();

  record::CheckpointFields checkpoint;
  checkpoint.line = header.id;
  checkpoint.signer = alpha.public_key();
  checkpoint.own = sides[0].head;
  checkpoint.peer = sides[1].head;
  checkpoint.time = std::max(sides[0].last_time, sides[1].last_time) + kTimeStep;

  const std::string path = dir.file(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  write_line(out, record::export_line_header(header));
  const bool alpha_first = alpha.public_key() < bravo.public_key();
  append_file(out, sides[alpha_first ? 0 : 1].entries_path);
  append_file(out, sides[alpha_first ? 1 : 0].entries_path);
  append_file(out, sides[0].receipts_path);
  append_file(out, sides[1].receipts_path);
  write_line(out, record::export_checkpoint(
                      must(record::sign_checkpoint(alpha, checkpoint), "sign_checkpoint")));
  if (!out.flush()) {
    fail("cannot write " + path);
  }
  out.close();

  GeneratedRecord generated;
  generated.entries = entries;
  generated.receipts = sides[0].receipts + sides[1].receipts;
  generated.checkpoints = 1;
  generated.file_bytes = std::filesystem::file_size(path);
  generated.seconds = static_cast<double>(monotonic_nanos() - start) / 1e9;
  generated.signer_threads = 2;
  return generated;
}

}  // namespace hotline::bench
