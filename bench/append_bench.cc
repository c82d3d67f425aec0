// bench/append_bench.cc — durable appends: throughput with group commit, and one append's latency.
//
// Every run uses a fresh SQLite database in a scratch directory under /tmp (the real disk), through
// the same store a station uses (WAL, synchronous=FULL, one writer thread batching jobs). Each
// throughput run stops after a bounded number of entries or a bounded time, whichever comes first,
// and then checks that the chain's stored head is the last entry submitted.
//
// Runs, to tell apart what bounds the end-to-end figure:
//   sign_only                  ChainAuthor::next alone, no store
//   store_only_presigned       appends of entries signed beforehand (the store's own ceiling)
//   sign_append_batch_1/_16    one producer signs one chain in order and submits batches of 1 or
//                              16 entries with append_entries_async, at most kWindow in flight:
//                              the "sign + append + durable commit" (target 25,000/s)
//   sign_append_two_chains     both chains of a line, each signed and submitted by its own thread
//                              (chain order holds: each chain has one producer)
//   latency                    one entry per call, waiting for it, nothing else in flight
//   fsync_floor                append 8 KiB to a file and fdatasync it: the disk's own floor
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <future>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/chain_author.h"
#include "bench/machine.h"
#include "bench/must.h"
#include "bench/scratch_dir.h"
#include "bench/stats.h"
#include "core/clock.h"
#include "store/sqlite_record_store.h"

namespace hotline::bench {
namespace {

using nlohmann::json;
using record::ChainPosition;
using record::SignedEntry;

constexpr double kTargetEntriesPerSecond = 25'000;
constexpr std::size_t kWindow = 64;                 // batches in flight per producer
constexpr double kTimeLimitSeconds = 20;            // per throughput run
constexpr std::uint64_t kDefaultEntries = 100'000;  // per throughput run
constexpr std::uint64_t kDefaultLatencySamples = 2'000;
constexpr std::size_t kFsyncProbeBytes = 8192;  // about one WAL commit of one entry
constexpr Micros kFirstTime = 1'700'000'000'000'000;

// A fresh store with one line between two deterministic stations.
struct Fixture {
  ScratchDir dir;
  crypto::SigningKey alpha = bench_key(0x11);
  crypto::SigningKey bravo = bench_key(0x22);
  store::LineParties line;
  std::unique_ptr<store::SqliteRecordStore> store;  // declared after `dir`: closed before removal

  Fixture() {
    line.name = "benchmark line";
    line.id = record::derive_line_id(alpha.public_key(), bravo.public_key(), line.name);
    line.local = alpha.public_key();
    line.peer = bravo.public_key();
    store = must(store::SqliteRecordStore::open(dir.file("record.db"), {}), "open the store");
    must(store->add_line(line), "add the line");
  }

  // Exits unless `key`'s stored chain ends at sequence `seq`.
  void expect_head(const crypto::SigningKey& key, std::uint64_t seq) {
    const record::ChainHead head = must(store->chain_head(line.id, key.public_key()), "head");
    if (head.position.seq != seq) {
      fail("stored chain ends at " + std::to_string(head.position.seq) + ", expected " +
           std::to_string(seq));
    }
  }
};

std::int64_t deadline_after(double seconds) {
  return monotonic_nanos() + static_cast<std::int64_t>(seconds * 1e9);
}

// Submits batches from `make_batch(n)` until `count` entries are submitted or `deadline` passes,
// with at most kWindow batches in flight; returns when all are durable, with the number submitted.
template <class MakeBatch>
std::uint64_t submit_all(store::RecordStore& store, std::uint64_t count, std::size_t batch_size,
                         std::int64_t deadline, MakeBatch make_batch) {
  std::deque<std::future<Result<void>>> in_flight;
  std::uint64_t submitted = 0;
  while (submitted < count && monotonic_nanos() < deadline) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(batch_size, count - submitted));
    std::vector<SignedEntry> batch = make_batch(n);
    if (in_flight.size() == kWindow) {
      must(in_flight.front().get(), "append_entries_async");
      in_flight.pop_front();
    }
    in_flight.push_back(store.append_entries_async(std::move(batch)));
    submitted += n;
  }
  for (auto& done : in_flight) {
    must(done.get(), "append_entries_async");
  }
  return submitted;
}

json throughput(std::uint64_t entries, double seconds, std::uint64_t commits) {
  const double rate = static_cast<double>(entries) / seconds;
  json out = {{"entries", entries}, {"seconds", seconds}, {"entries_per_second", rate}};
  if (commits > 0) {
    out["commits"] = commits;
    out["entries_per_commit"] = static_cast<double>(entries) / static_cast<double>(commits);
  }
  return out;
}

json with_target(json run) {
  run["target_entries_per_second"] = kTargetEntriesPerSecond;
  run["meets_target"] = run["entries_per_second"].get<double>() >= kTargetEntriesPerSecond;
  return run;
}

json sign_only(std::uint64_t count) {
  const crypto::SigningKey key = bench_key(0x11);
  const record::LineId line{};
  ChainAuthor author(key, line, kFirstTime, 1000);
  const std::int64_t deadline = deadline_after(kTimeLimitSeconds);
  const std::int64_t start = monotonic_nanos();
  std::uint64_t signed_count = 0;
  while (signed_count < count && monotonic_nanos() < deadline) {
    author.next({});
    ++signed_count;
  }
  return throughput(signed_count, seconds_between(start, monotonic_nanos()), 0);
}

json store_only_presigned(std::uint64_t count, std::size_t batch_size) {
  Fixture f;
  ChainAuthor author(f.alpha, f.line.id, kFirstTime, 1000);
  std::vector<SignedEntry> presigned;
  presigned.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    presigned.push_back(author.next({}));
  }
  std::size_t next = 0;
  const std::int64_t start = monotonic_nanos();
  const std::uint64_t done = submit_all(
      *f.store, count, batch_size, deadline_after(kTimeLimitSeconds), [&](std::size_t n) {
        std::vector<SignedEntry> batch(std::make_move_iterator(presigned.begin() + next),
                                       std::make_move_iterator(presigned.begin() + next + n));
        next += n;
        return batch;
      });
  const double seconds = seconds_between(start, monotonic_nanos());
  f.expect_head(f.alpha, done);
  json out = throughput(done, seconds, f.store->commits());
  out["batch_entries"] = batch_size;
  out["window_batches"] = kWindow;
  return out;
}

json sign_append(std::uint64_t count, std::size_t batch_size) {
  Fixture f;
  ChainAuthor author(f.alpha, f.line.id, kFirstTime, 1000);
  const std::int64_t start = monotonic_nanos();
  const std::uint64_t done = submit_all(*f.store, count, batch_size,
                                        deadline_after(kTimeLimitSeconds), [&](std::size_t n) {
                                          std::vector<SignedEntry> batch;
                                          batch.reserve(n);
                                          for (std::size_t i = 0; i < n; ++i) {
                                            batch.push_back(author.next({}));
                                          }
                                          return batch;
                                        });
  const double seconds = seconds_between(start, monotonic_nanos());
  f.expect_head(f.alpha, done);
  json out = throughput(done, seconds, f.store->commits());
  out["batch_entries"] = batch_size;
  out["window_batches"] = kWindow;
  return with_target(std::move(out));
}

// Both chains of the line, each signed in order by its own thread, cross-linking the other
// chain's latest entry signed so far.
json sign_append_two_chains(std::uint64_t count, std::size_t batch_size) {
  Fixture f;
  std::mutex heads_mutex;  // guards heads
  ChainPosition heads[2];
  std::uint64_t done[2] = {0, 0};
  const std::int64_t deadline = deadline_after(kTimeLimitSeconds);
  auto produce = [&](int side) {
    ChainAuthor author(side == 0 ? f.alpha : f.bravo, f.line.id, kFirstTime + side, 1000);
    const std::uint64_t share = side == 0 ? (count + 1) / 2 : count / 2;
    done[side] = submit_all(*f.store, share, batch_size, deadline, [&](std::size_t n) {
      std::vector<SignedEntry> batch;
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        ChainPosition cross;
        {
          std::lock_guard lock(heads_mutex);
          cross = heads[1 - side];
        }
        batch.push_back(author.next(cross));
      }
      std::lock_guard lock(heads_mutex);
      heads[side] = author.head();
      return batch;
    });
  };
  const std::int64_t start = monotonic_nanos();
  std::thread bravo_thread(produce, 1);
  produce(0);
  bravo_thread.join();
  const double seconds = seconds_between(start, monotonic_nanos());
  f.expect_head(f.alpha, done[0]);
  f.expect_head(f.bravo, done[1]);
  json out = throughput(done[0] + done[1], seconds, f.store->commits());
  out["batch_entries"] = batch_size;
  out["window_batches_per_thread"] = kWindow;
  out["signer_threads"] = 2;
  return with_target(std::move(out));
}

json latency(std::uint64_t samples) {
  Fixture f;
  ChainAuthor author(f.alpha, f.line.id, kFirstTime, 1000);
  std::vector<std::vector<SignedEntry>> calls(samples);
  for (auto& call : calls) {
    call.push_back(author.next({}));
  }
  std::vector<double> micros;
  micros.reserve(samples);
  for (auto& call : calls) {
    const std::int64_t start = monotonic_nanos();
    must(f.store->append_entries(std::move(call)), "append_entries");
    micros.push_back(static_cast<double>(monotonic_nanos() - start) / 1e3);
  }
  f.expect_head(f.alpha, samples);
  json out = distribution(micros);
  out["entries_per_call"] = 1;
  out["commits"] = f.store->commits();
  return out;
}

json fsync_floor(std::uint64_t samples) {
  ScratchDir dir;
  const std::string path = dir.file("fsync-probe");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    fail("cannot create " + path);
  }
  const std::vector<char> block(kFsyncProbeBytes, 'x');
  std::vector<double> micros;
  micros.reserve(samples);
  for (std::uint64_t i = 0; i < samples; ++i) {
    const std::int64_t start = monotonic_nanos();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      ::close(fd);
      fail("cannot write and fdatasync " + path);
    }
    micros.push_back(static_cast<double>(monotonic_nanos() - start) / 1e3);
  }
  ::close(fd);
  json out = distribution(micros);
  out["bytes_per_write"] = kFsyncProbeBytes;
  return out;
}

int run() {
  const std::uint64_t entries = env_count("HOTLINE_BENCH_APPEND_ENTRIES", kDefaultEntries);
  const std::uint64_t samples = env_count("HOTLINE_BENCH_LATENCY_SAMPLES", kDefaultLatencySamples);
  const double load_before = load_average();
  json figures;
  std::cerr << "append bench: " << entries << " entries per throughput run\n";
  figures["sign_only"] = sign_only(entries);
  figures["store_only_presigned_batch_16"] = store_only_presigned(entries, 16);
  figures["sign_append_batch_1"] = sign_append(entries, 1);
  figures["sign_append_batch_16"] = sign_append(entries, 16);
  figures["sign_append_two_chains_batch_16"] = sign_append_two_chains(entries, 16);
  std::cerr << "append bench: latency over " << samples << " appends\n";
  figures["latency_one_entry"] = latency(samples);
  figures["fsync_floor"] = fsync_floor(samples);
  const json doc = {{"benchmark", "append"},
                    {"machine", describe_machine()},
                    {"load_average_before", load_before},
                    {"load_average_after", load_average()},
                    {"limits",
                     {{"entries_per_run", entries},
                      {"time_limit_seconds_per_run", kTimeLimitSeconds},
                      {"window_batches", kWindow}}},
                    {"figures", figures}};
  std::cout << doc.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace hotline::bench

int main() { return hotline::bench::run(); }
