// The link benchmark's shared parts (bench/link_bench.h).
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "bench/link_bench.h"
#include "bench/must.h"
#include "bench/stats.h"
#include "core/cbor.h"
#include "crypto/identity.h"
#include "store/record_store.h"

namespace hotline::bench {
namespace {

// CPU time, user and system, of the `hotline serve` child of this process that serves `station`'s
// directory, from /proc (all its threads: the io thread and the store's writer).
double cpu_seconds(const StationProcess& station) {
  const pid_t self = ::getpid();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    // After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    // utime stime, i.e. utime and stime are the 12th and 13th fields.
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    fields >> state >> ppid;
    if (ppid != self) {
      continue;
    }
    std::ifstream cmdline_file(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                        std::istreambuf_iterator<char>());
    if (cmdline.find(std::string("serve") + '\0' + "--dir" + '\0' + station.dir() + '\0') ==
        std::string::npos) {
      continue;
    }
    std::string skip;
    for (int i = 0; i < 9; ++i) {
      fields >> skip;
    }
    unsigned long long utime = 0, stime = 0;
    fields >> utime >> stime;
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  throw std::runtime_error("no running `hotline serve` for " + station.dir());
}

// The machine's busy and total CPU time so far (all cores, from /proc/stat), in clock ticks.
std::pair<double, double> machine_cpu_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double total = 0, idle = 0, value = 0;
  for (int i = 0; i < 8 && in >> value; ++i) {  // user nice system idle iowait irq softirq steal
    total += value;
    if (i == 3 || i == 4) {
      idle += value;
    }
  }
  return {total - idle, total};
}

}  // namespace

// The rows of two integers that `sql` selects from the SQLite database at `path`, opened
// read-only (the station must be stopped).
std::vector<std::pair<std::int64_t, std::int64_t>> select_pairs(const std::string& path,
                                                                const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* statement = nullptr;
  auto failure = [&](const std::string& what) {
    const std::string message = what + " " + path + ": " + (db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return std::runtime_error(message);
  };
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    throw failure("cannot open");
  }
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    throw failure("cannot query");
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> rows;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    rows.emplace_back(sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1));
  }
  if (rc != SQLITE_DONE) {
    throw failure("cannot read");
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return rows;
}

json wait_line(const StationProcess& station, const std::string& what,
               const std::function<bool(const json&)>& done, double seconds, int interval_ms) {
  const std::int64_t deadline = deadline_after(seconds);
  for (;;) {
    json line = line_of(station);
    if (done(line)) {
      return line;
    }
    if (now_nanos() > deadline) {
      throw std::runtime_error("gave up after " + std::to_string(static_cast<int>(seconds)) +
                               " s waiting for " + what + "; " + station.name() +
                               "'s line status: " + line.dump());
    }
    if (interval_ms > 0) {
      sleep_ms(interval_ms);
    }
  }
}

// Append 8 KiB to a file in `dir` and fdatasync it, `samples` times: the disk's own floor, which
// every durable step of the path (a draft, an authored batch, a stored batch, a receipt) pays.
json fsync_floor(const std::string& dir, std::uint64_t samples) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot create " + path);
  }
  const std::vector<char> block(8192, 'x');
  std::vector<double> micros;
  micros.reserve(samples);
  for (std::uint64_t i = 0; i < samples; ++i) {
    const std::int64_t start = now_nanos();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot write and fdatasync " + path);
    }
    micros.push_back(micros_since(start));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return distribution(micros);
}

// What one status request costs, answered by `station` as it is now.
json poll_cost(const StationProcess& station, std::uint64_t samples) {
  std::vector<double> micros;
  micros.reserve(samples);
  for (std::uint64_t i = 0; i < samples; ++i) {
    const std::int64_t start = now_nanos();
    (void)station.status();
    micros.push_back(micros_since(start));
  }
  return distribution(micros);
}

// Sends `count` messages of `precedence` one request each; returns the seconds it took.
double queue_messages(const StationProcess& station, const char* precedence,
                      const std::string& prefix, std::uint64_t first, std::uint64_t count) {
  const std::int64_t start = now_nanos();
  for (std::uint64_t i = first; i < first + count; ++i) {
    station.send(kLine, precedence, prefix + std::to_string(i));
    if ((i - first + 1) % 10'000 == 0) {
      std::cerr << "link bench:   queued " << (i - first + 1) << " of " << count << "\n";
    }
  }
  return static_cast<double>(now_nanos() - start) / 1e9;
}

void Pair::wait_delivered(std::uint64_t seq, int interval_ms) {
  wait_line(
      alpha, "alpha's receipt for entry " + std::to_string(seq),
      [&](const json& l) { return own_seq(l) == seq && receipted(l) == seq; }, kWaitSeconds,
      interval_ms);
  const std::uint64_t held = peer_seq(line_of(bravo));
  if (held != seq) {
    throw std::runtime_error("bravo holds alpha's chain up to " + std::to_string(held) +
                             ", expected " + std::to_string(seq));
  }
}

// Wall-clock microseconds since the epoch: the clock the stations stamp their records with
// (entry author times, `received_at`), the same clock here since both run on this machine.
std::int64_t wall_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// (held seq, alpha's clock when it stored the receipt) of every receipt bravo gave for alpha's
// chain, in the order alpha stored them. `received_at` is stamped in the store's transaction,
// before its commit's fsync.
ReceiptTimes alpha_receipts(const Pair& p) {
  return select_pairs(p.alpha.dir() + "/hotline.db",
                      "SELECT held_seq, received_at FROM receipts "
                      "WHERE chain_author = (SELECT local_key FROM lines) ORDER BY id");
}

// When alpha stored the first receipt covering `seq`, or 0 if none does.
std::int64_t receipt_stored_at(const ReceiptTimes& receipts, std::uint64_t seq) {
  for (const auto& [held, at] : receipts) {
    if (static_cast<std::uint64_t>(held) >= seq) {
      return at;
    }
  }
  return 0;
}

// The highest seq that receipts alpha had stored before `when` cover.
std::uint64_t receipted_before(const ReceiptTimes& receipts, std::int64_t when) {
  std::uint64_t held = 0;
  for (const auto& [seq, at] : receipts) {
    if (at < when) {
      held = std::max(held, static_cast<std::uint64_t>(seq));
    }
  }
  return held;
}

CpuUse::CpuUse(const StationProcess& alpha, const StationProcess& bravo)
    : alpha_(alpha),
      bravo_(bravo),
      start_(now_nanos()),
      alpha_start_(alpha.running() ? cpu_seconds(alpha) : 0),
      bravo_start_(bravo.running() ? cpu_seconds(bravo) : 0),
      machine_start_(machine_cpu_ticks()) {}

json CpuUse::figures() const {
  const double wall = seconds_between(start_, now_nanos());
  const auto machine = machine_cpu_ticks();
  const double cores = static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN));
  return {{"wall_seconds", wall},
          {"alpha_cpu_per_wall_second", (cpu_seconds(alpha_) - alpha_start_) / wall},
          {"bravo_cpu_per_wall_second", (cpu_seconds(bravo_) - bravo_start_) / wall},
          {"machine_busy_cores", cores * (machine.first - machine_start_.first) /
                                     (machine.second - machine_start_.second)},
          {"cores", cores}};
}

// The text of a message entry (body key 1), or "".
std::string text_of(const record::SignedEntry& entry) {
  const cbor::Value* text = entry.fields.body.find(1);
  return text != nullptr && text->is_text() ? text->as_text() : "";
}

// Alpha's chain as bravo stored it (bravo must be stopped).
std::vector<record::SignedEntry> alpha_chain_at_bravo(const Pair& p, std::uint64_t length) {
  store::SqliteOptions options;
  options.read_only = true;
  auto store = must(store::open_sqlite_store(p.bravo.dir() + "/hotline.db", options),
                    "open bravo's database");
  const auto lines = must(store->lines(), "bravo's lines");
  if (lines.size() != 1) {
    throw std::runtime_error("bravo has " + std::to_string(lines.size()) + " lines, expected 1");
  }
  const auto author = must(crypto::PublicKey::from_fingerprint(p.alpha.fingerprint()), "key");
  return must(store->read_entries(lines[0].id, author, 1, length + 1), "read alpha's chain");
}

}  // namespace hotline::bench
