// bench/link_bench.cc — the link's figures (issue 4) with two real `hotline serve` processes.
//
// Both stations run on this machine, on loopback, each as its own `hotline serve` process with its
// own database in a scratch directory under /tmp (the real disk). The benchmark drives them the
// way an operator does, over their control sockets (integration/station_process.h), and reads
// every figure from the author's status: `receipted` is the seq of the author's own chain that the
// peer's durable signed receipt covers, so "receipted ≥ seq" means the entry was authored, sent,
// verified and stored by the peer, and the peer's receipt verified and stored by the author.
//
// Runs (each with fresh stations):
//   latency     N sequential messages, each timed from just before its send request until the
//               author's status shows it receipted (the status is polled in a tight loop; the
//               cost of one poll is measured too, since it bounds the resolution); then N more,
//               one every 10 ms and unpolled, timed from the databases (below)
//   throughput  N messages queued while the peer is down, one send each; then the peer starts
//               and the run is timed until all N are receipted
//   flash       FLASH messages sent while a 100,000-entry ROUTINE backlog drains: an upper bound
//               of each one's latency from polling (see flash_behind_backlog), then unpolled runs
//   failover    the author dials the peer over two FaultProxy routes; the primary goes silent
//               (black hole) and one message is sent: time until it is receipted over the backup
//
// Polling is not free: a status answer takes the author's one thread 0.15 ms, and milliseconds
// with a large outbox (it counts the drafts). So the runs also time messages from what the
// stations recorded: both stamp their databases with this machine's clock (an entry's author
// time, the `received_at` of a stored entry or receipt), which the benchmark reads once the
// stations have stopped. The CPU time of each station and of the whole machine during a run is
// reported too (`cpu_use`), to show what was busy and whether something else took the cores.
//
// Every wait has a deadline, after which the program stops with a message naming what it waited
// for; the stations are killed and the scratch directories removed on the way out.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/machine.h"
#include "bench/must.h"
#include "bench/scratch_dir.h"
#include "core/cbor.h"
#include "core/clock.h"
#include "crypto/identity.h"
#include "integration/station_process.h"
#include "line/session.h"
#include "link/limits.h"
#include "store/record_store.h"
#include "testing/fault_proxy.h"

namespace hotline::bench {
namespace {

using nlohmann::json;
using testing::FaultProxy;
using testing::StationProcess;

const std::string kLine = "alpha-bravo";

// Issue 4's targets.
constexpr double kTargetLatencyP50Us = 1'000;
constexpr double kTargetLatencyP99Us = 3'000;
constexpr double kTargetEntriesPerSecond = 20'000;
constexpr double kTargetFlashMs = 20;
constexpr double kTargetFailoverMs = 3'000;

// Every wait for another process gives up after this long (and the program fails).
constexpr double kWaitSeconds = 120;
// LineLink backs off before redialing after a connection that lasted less than this
// (kStableConnection in line/line_link.cc); a fail-over run cuts a line that has been up longer,
// as a real line is, so that the figure is the fail-over and not that backoff.
constexpr double kStableLineSeconds = 11;
// The station probes its preferred route every 5 s while on a backup (LinkTiming).
constexpr double kReturnToPrimarySeconds = 30;

struct Options {
  std::uint64_t latency_samples = 1'000;
  std::uint64_t latency_warmup = 50;
  std::uint64_t poll_samples = 1'000;
  std::uint64_t throughput_entries = 50'000;
  std::uint64_t backlog_entries = 100'000;
  std::uint64_t flash_runs = 5;
  std::uint64_t failover_runs = 3;
  std::string only;  // one run by name, or all
  bool quick = false;
};

std::int64_t now_nanos() { return monotonic_nanos(); }
double micros_since(std::int64_t start) { return static_cast<double>(now_nanos() - start) / 1e3; }
double millis_since(std::int64_t start) { return static_cast<double>(now_nanos() - start) / 1e6; }
std::int64_t deadline_after(double seconds) {
  return now_nanos() + static_cast<std::int64_t>(seconds * 1e9);
}
void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Each station has one line.
json line_of(const json& status) { return status.at("lines").at(0); }
json line_of(const StationProcess& station) { return line_of(station.status()); }
std::uint64_t receipted(const json& line) { return line.at("receipted").get<std::uint64_t>(); }
std::uint64_t own_seq(const json& line) { return line.at("own").at("seq").get<std::uint64_t>(); }
std::uint64_t peer_seq(const json& line) {
  return line.at("peer_chain").at("seq").get<std::uint64_t>();
}
std::uint64_t queued(const json& line, const char* precedence) {
  return line.at("outbox").at(precedence).get<std::uint64_t>();
}
std::string route_of(const json& line) {
  const json& route = line.at("route");
  return route.is_string() ? route.get<std::string>() : "";
}

// Polls `station`'s line every `interval_ms` (0: back to back) until `done` holds; returns that
// status. Throws, with the last status, if `seconds` pass first.
json wait_line(const StationProcess& station, const std::string& what,
               const std::function<bool(const json&)>& done, double seconds = kWaitSeconds,
               int interval_ms = 5) {
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

// Nearest-rank percentiles of `micros`, which it sorts.
json distribution(std::vector<double>& micros) {
  if (micros.empty()) {
    return {{"samples", 0}};
  }
  std::sort(micros.begin(), micros.end());
  auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(std::ceil(p * static_cast<double>(micros.size())));
    return micros[std::max<std::size_t>(index, 1) - 1];
  };
  double sum = 0;
  for (double m : micros) {
    sum += m;
  }
  return {{"samples", micros.size()},
          {"min_us", micros.front()},
          {"p50_us", rank(0.50)},
          {"p90_us", rank(0.90)},
          {"p99_us", rank(0.99)},
          {"max_us", micros.back()},
          {"mean_us", sum / static_cast<double>(micros.size())}};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
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

// Two stations with deterministic identities in one scratch directory. Declared after the
// directory, the stations are killed (if still running) before it is removed.
struct Pair {
  ScratchDir dir;
  StationProcess alpha{dir.path(), "alpha", 0x11};
  StationProcess bravo{dir.path(), "bravo", 0x22};

  Pair() {
    alpha.init();
    bravo.init();
  }

  // Alpha dials `alpha_routes` (none: it only answers); bravo dials `bravo_routes`.
  void add_lines(const std::vector<std::string>& alpha_routes,
                 const std::vector<std::string>& bravo_routes) {
    alpha.add_line(kLine, bravo.fingerprint(), alpha_routes);
    bravo.add_line(kLine, alpha.fingerprint(), bravo_routes);
  }

  // Waits until alpha's own chain is `seq` long, all receipted, and bravo holds it.
  // Polls every `interval_ms`: with a large backlog each status answer costs alpha milliseconds.
  void wait_delivered(std::uint64_t seq, int interval_ms = 20) {
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
};

// Wall-clock microseconds since the epoch: the clock the stations stamp their records with
// (entry author times, `received_at`), the same clock here since both run on this machine.
std::int64_t wall_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// (held seq, alpha's clock when it stored the receipt) of every receipt bravo gave for alpha's
// chain, in the order alpha stored them. `received_at` is stamped in the store's transaction,
// before its commit's fsync.
std::vector<std::pair<std::int64_t, std::int64_t>> alpha_receipts(const Pair& p) {
  return select_pairs(p.alpha.dir() + "/hotline.db",
                      "SELECT held_seq, received_at FROM receipts "
                      "WHERE chain_author = (SELECT local_key FROM lines) ORDER BY id");
}

// When alpha stored the first receipt covering `seq`, or 0 if none does.
std::int64_t receipt_stored_at(const std::vector<std::pair<std::int64_t, std::int64_t>>& receipts,
                               std::uint64_t seq) {
  for (const auto& [held, at] : receipts) {
    if (static_cast<std::uint64_t>(held) >= seq) {
      return at;
    }
  }
  return 0;
}

// The highest seq that receipts alpha had stored before `when` cover.
std::uint64_t receipted_before(const std::vector<std::pair<std::int64_t, std::int64_t>>& receipts,
                               std::int64_t when) {
  std::uint64_t held = 0;
  for (const auto& [seq, at] : receipts) {
    if (at < when) {
      held = std::max(held, static_cast<std::uint64_t>(seq));
    }
  }
  return held;
}

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

// What the two stations and the whole machine used between construction and figures().
class CpuUse {
 public:
  CpuUse(const StationProcess& alpha, const StationProcess& bravo)
      : alpha_(alpha),
        bravo_(bravo),
        start_(now_nanos()),
        alpha_start_(alpha.running() ? cpu_seconds(alpha) : 0),
        bravo_start_(bravo.running() ? cpu_seconds(bravo) : 0),
        machine_start_(machine_cpu_ticks()) {}

  // CPU seconds per wall second (1.0: one core all the time); both stations must be running.
  json figures() const {
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

 private:
  const StationProcess& alpha_;
  const StationProcess& bravo_;
  std::int64_t start_;
  double alpha_start_;
  double bravo_start_;
  std::pair<double, double> machine_start_;
};

// One message at a time, from the send request to its durable receipt at alpha.
//
// Polled (the method): alpha's status is polled back to back until receipted covers the
// message; the time to the first such poll is the figure, so one poll's cost bounds the
// resolution. The polls are not free: each takes alpha's one thread ~0.15 ms, and the polling
// keeps a core busy here. Unpolled: the messages are sent every 10 ms and nothing else is asked of
// alpha; afterwards alpha's database tells when it stored each receipt (`received_at`, stamped in
// the store's transaction, one fsync before the commit returns). Polled messages are also timed
// that way, to show what the polling itself adds.
json latency(const Options& o) {
  std::cerr << "link bench: latency, " << o.latency_samples << " messages after "
            << o.latency_warmup << " warm-up, then " << o.latency_samples << " unpolled\n";
  Pair p;
  p.add_lines({}, {p.alpha.listen()});  // bravo dials alpha
  p.alpha.start();
  p.bravo.start();
  wait_line(p.alpha, "the line to open", [](const json& l) { return l.at("state") == "open"; });

  json idle_poll = poll_cost(p.alpha, o.poll_samples);
  json fsync = fsync_floor(p.dir.path(), 200);
  std::vector<double> total_us, send_us, polls;
  std::vector<std::int64_t> sent_wall;  // per measured message, by seq - 1 - warm-up
  const CpuUse polled_cpu(p.alpha, p.bravo);
  std::uint64_t seq = 0;
  for (std::uint64_t i = 0; i < o.latency_warmup + o.latency_samples; ++i) {
    ++seq;  // alpha's chain holds only these messages
    const std::int64_t wall = wall_micros();
    const std::int64_t start = now_nanos();
    p.alpha.send(kLine, "ROUTINE", "latency-" + std::to_string(i));
    const double sent = micros_since(start);
    const std::int64_t deadline = deadline_after(kWaitSeconds);
    std::uint64_t n = 0;
    for (;;) {
      const json line = line_of(p.alpha);
      ++n;
      if (receipted(line) >= seq) {
        break;
      }
      if (now_nanos() > deadline) {
        throw std::runtime_error("entry " + std::to_string(seq) + " not receipted within " +
                                 std::to_string(static_cast<int>(kWaitSeconds)) +
                                 " s: " + line.dump());
      }
    }
    const double total = micros_since(start);
    if (i >= o.latency_warmup) {
      total_us.push_back(total);
      send_us.push_back(sent);
      polls.push_back(static_cast<double>(n));
      sent_wall.push_back(wall);
    }
  }
  const json polled_cpu_use = polled_cpu.figures();
  p.wait_delivered(seq);
  json busy_poll = poll_cost(p.alpha, std::min<std::uint64_t>(o.poll_samples, 200));

  const std::uint64_t unpolled_first = seq + 1;
  const CpuUse unpolled_cpu(p.alpha, p.bravo);
  const std::int64_t unpolled_start = now_nanos();
  for (std::uint64_t i = 0; i < o.latency_samples; ++i) {
    sent_wall.push_back(wall_micros());
    p.alpha.send(kLine, "ROUTINE", "unpolled-" + std::to_string(i));
    ++seq;
    const std::int64_t next = unpolled_start + static_cast<std::int64_t>(i + 1) * 10'000'000;
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::max<std::int64_t>(next - now_nanos(), 0)));
  }
  const json unpolled_cpu_use = unpolled_cpu.figures();
  p.wait_delivered(seq);
  p.alpha.terminate();
  p.bravo.terminate();

  const auto receipts = alpha_receipts(p);
  std::vector<double> polled_stamped_us, unpolled_stamped_us;
  for (std::size_t k = 0; k < sent_wall.size(); ++k) {
    const std::uint64_t s =
        k < o.latency_samples ? o.latency_warmup + 1 + k : unpolled_first + (k - o.latency_samples);
    const double us = static_cast<double>(receipt_stored_at(receipts, s) - sent_wall[k]);
    (k < o.latency_samples ? polled_stamped_us : unpolled_stamped_us).push_back(us);
  }

  double polls_sum = 0;
  for (double n : polls) {
    polls_sum += n;
  }
  json out = distribution(total_us);
  out["warmup_messages"] = o.latency_warmup;
  out["send_request_us"] = distribution(send_us);
  out["polls_per_message_mean"] = polls_sum / static_cast<double>(polls.size());
  out["status_poll_us"] = idle_poll;
  out["status_poll_us_after_run"] = busy_poll;
  out["cpu_use_polled"] = polled_cpu_use;
  out["receipt_stored_us_polled"] = distribution(polled_stamped_us);
  out["receipt_stored_us_unpolled_every_10_ms"] = distribution(unpolled_stamped_us);
  out["cpu_use_unpolled"] = unpolled_cpu_use;
  out["fsync_floor_8kib_us"] = fsync;
  out["target_p50_us"] = kTargetLatencyP50Us;
  out["target_p99_us"] = kTargetLatencyP99Us;
  out["meets_target"] = out["p50_us"].get<double>() < kTargetLatencyP50Us &&
                        out["p99_us"].get<double>() < kTargetLatencyP99Us;
  return out;
}

json throughput(const Options& o) {
  const std::uint64_t n = o.throughput_entries;
  std::cerr << "link bench: throughput, " << n << " messages queued with bravo down\n";
  Pair p;
  p.add_lines({}, {p.alpha.listen()});  // bravo dials alpha as soon as it starts
  p.alpha.start();
  const double queue_seconds = queue_messages(p.alpha, "ROUTINE", "t-", 0, n);
  const json before = line_of(p.alpha);
  if (queued(before, "ROUTINE") != n || own_seq(before) != 0) {
    throw std::runtime_error("expected " + std::to_string(n) +
                             " queued drafts and an empty chain: " + before.dump());
  }
  json backlog_poll = poll_cost(p.alpha, 50);

  // A status answer counts the outbox, which costs alpha's one thread milliseconds with a large
  // backlog: polled seldom, so as not to slow down what is measured. The exact end comes from
  // alpha's database afterwards.
  constexpr int kPollIntervalMs = 100;
  std::cerr << "link bench:   starting bravo\n";
  const CpuUse cpu(p.alpha, p.bravo);
  const std::int64_t start_wall = wall_micros();
  const std::int64_t start = now_nanos();
  p.bravo.start();
  const double start_ms = millis_since(start);
  wait_line(
      p.alpha, "all " + std::to_string(n) + " entries receipted",
      [&](const json& l) { return receipted(l) == n; }, kWaitSeconds, kPollIntervalMs);
  const double polled_seconds = seconds_between(start, now_nanos());
  const json cpu_use = cpu.figures();
  p.wait_delivered(n);
  p.alpha.terminate();
  p.bravo.terminate();

  const auto receipts = alpha_receipts(p);
  if (receipts.empty() || static_cast<std::uint64_t>(receipts.back().first) != n) {
    throw std::runtime_error("alpha's last stored receipt does not cover all entries");
  }
  const std::int64_t first_at = receipts.front().second;
  const std::uint64_t first_held = static_cast<std::uint64_t>(receipts.front().first);
  const std::int64_t last_at = receipt_stored_at(receipts, n);
  const double seconds = static_cast<double>(last_at - start_wall) / 1e6;
  const double rate = static_cast<double>(n) / seconds;
  return {
      {"entries", n},
      {"seconds_from_bravo_start", seconds},
      {"entries_per_second", rate},
      {"bravo_start_ms", start_ms},
      {"first_receipt_ms", static_cast<double>(first_at - start_wall) / 1e3},
      {"first_receipt_covers", first_held},
      {"entries_per_second_after_first_receipt",
       static_cast<double>(n - first_held) / (static_cast<double>(last_at - first_at) / 1e6)},
      {"receipts", receipts.size()},
      {"entries_per_receipt", static_cast<double>(n) / static_cast<double>(receipts.size())},
      {"seconds_by_polling", polled_seconds},
      {"cpu_use", cpu_use},
      {"poll_interval_ms", kPollIntervalMs},
      {"status_poll_us_with_backlog", backlog_poll},
      {"queueing",
       {{"messages", n},
        {"seconds", queue_seconds},
        {"messages_per_second", static_cast<double>(n) / queue_seconds}}},
      {"in_flight_window", line::kInFlightWindow},
      {"author_batch", line::kAuthorBatch},
      {"target_entries_per_second", kTargetEntriesPerSecond},
      {"meets_target", rate >= kTargetEntriesPerSecond},
  };
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

// One FLASH message sent while the ROUTINE backlog drains.
struct FlashRun {
  bool polled = false;
  std::int64_t sent_wall = 0;      // wall_micros() just before the send request
  std::uint64_t routine_sent = 0;  // ROUTINE messages queued so far
  json figures;                    // what the polls saw (polled runs)
};

// FLASH messages sent while a ROUTINE backlog drains, two ways.
//
// Polled (the method): alpha's status is polled back to back from just before the send
// (t0). At the first poll where no FLASH draft is queued, the FLASH has been authored, so its seq
// is at most that poll's own.seq, S; t1 is the first poll where receipted ≥ S. t1 − t0 bounds the
// FLASH message's latency from above. With a large backlog each status answer costs alpha's one
// thread milliseconds (it counts the outbox), so back-to-back polls also slow alpha down.
//
// Unpolled: the FLASH is sent and nothing is asked of alpha for a while. Afterwards, with both
// stations stopped, the databases tell when it was authored (its author time), stored by bravo
// (bravo's received_at) and its receipt stored by alpha (alpha's received_at): both stations
// stamp with this machine's clock. Polled runs are timed this way too.
json flash_behind_backlog(const Options& o) {
  const std::uint64_t backlog = o.backlog_entries;
  const std::uint64_t draining = std::min<std::uint64_t>(2'000, backlog / 5);
  const std::uint64_t refill_below = backlog / 10;
  std::cerr << "link bench: FLASH behind " << backlog << " ROUTINE, " << o.flash_runs
            << " polled and " << o.flash_runs << " unpolled runs\n";
  Pair p;
  p.add_lines({}, {p.alpha.listen()});
  p.alpha.start();
  const double queue_seconds = queue_messages(p.alpha, "ROUTINE", "r-", 0, backlog);
  std::uint64_t routine_sent = backlog;
  json backlog_poll = poll_cost(p.alpha, 50);

  std::uint64_t refills = 0;
  auto start_draining = [&] {
    p.bravo.start();
    const std::uint64_t from = receipted(line_of(p.alpha));
    wait_line(
        p.alpha, "the backlog to drain",
        [&](const json& l) { return receipted(l) >= from + draining; }, kWaitSeconds, 20);
  };
  start_draining();
  const CpuUse cpu(p.alpha, p.bravo);
  const std::int64_t draining_since = wall_micros();
  const std::uint64_t receipted_then = receipted(line_of(p.alpha));

  // Returns alpha's line status, with the backlog refilled (bravo down meanwhile) if it ran low.
  auto backlog_left = [&] {
    json line = line_of(p.alpha);
    if (queued(line, "ROUTINE") >= refill_below) {
      return line;
    }
    std::cerr << "link bench:   refilling the backlog\n";
    p.bravo.terminate();
    const std::uint64_t more = backlog - queued(line_of(p.alpha), "ROUTINE");
    queue_messages(p.alpha, "ROUTINE", "r-", routine_sent, more);
    routine_sent += more;
    ++refills;
    start_draining();
    return line_of(p.alpha);
  };

  std::vector<FlashRun> runs;
  for (std::uint64_t r = 0; r < 2 * o.flash_runs; ++r) {
    FlashRun run;
    run.polled = r < o.flash_runs;
    json line = backlog_left();
    run.routine_sent = routine_sent;
    const std::uint64_t own_at_send = own_seq(line);
    const std::uint64_t receipted_at_send = receipted(line);
    const std::uint64_t routine_at_send = queued(line, "ROUTINE");

    run.sent_wall = wall_micros();
    const std::int64_t t0 = now_nanos();
    p.alpha.send(kLine, "FLASH", "flash-" + std::to_string(r));
    if (!run.polled) {
      runs.push_back(std::move(run));
      sleep_ms(250);  // well past its receipt, and nothing asked of alpha meanwhile
      continue;
    }
    const double send_ms = millis_since(t0);
    const std::int64_t deadline = deadline_after(kWaitSeconds);
    std::uint64_t s = 0;
    double authored_ms = 0;
    std::uint64_t polls = 0;
    for (;;) {
      line = line_of(p.alpha);
      ++polls;
      if (s == 0 && queued(line, "FLASH") == 0) {
        s = own_seq(line);
        authored_ms = millis_since(t0);
      }
      if (s != 0 && receipted(line) >= s) {
        break;
      }
      if (now_nanos() > deadline) {
        throw std::runtime_error("FLASH " + std::to_string(r) + " not receipted within " +
                                 std::to_string(static_cast<int>(kWaitSeconds)) +
                                 " s: " + line.dump());
      }
    }
    const double bound_ms = millis_since(t0);
    run.figures = {{"upper_bound_ms", bound_ms},
                   {"send_request_ms", send_ms},
                   {"authored_seen_ms", authored_ms},
                   {"seq_at_most", s},
                   {"own_seq_at_last_poll_before_send", own_at_send},
                   {"receipted_at_last_poll_before_send", receipted_at_send},
                   {"routine_queued_at_send", routine_at_send},
                   {"routine_queued_when_receipted", queued(line, "ROUTINE")},
                   {"polls", polls}};
    std::cerr << "link bench:   FLASH " << r << ": at most " << bound_ms << " ms, "
              << queued(line, "ROUTINE") << " ROUTINE still queued\n";
    runs.push_back(std::move(run));
    sleep_ms(200);  // apart, so that each lands in a different part of the drain
  }

  const std::uint64_t total = routine_sent + runs.size();
  const std::int64_t drain_start = now_nanos();
  p.wait_delivered(total, 200);
  const json cpu_use = refills == 0 ? cpu.figures() : json();
  const double rest_seconds = seconds_between(drain_start, now_nanos());
  p.alpha.terminate();
  p.bravo.terminate();

  // Where each FLASH landed in the chain as bravo stored it, and when each step happened.
  const auto chain = alpha_chain_at_bravo(p, total);
  if (chain.size() != total) {
    throw std::runtime_error("bravo holds " + std::to_string(chain.size()) +
                             " entries of alpha's chain, expected " + std::to_string(total));
  }
  const auto stored_at_bravo =
      select_pairs(p.bravo.dir() + "/hotline.db",
                   "SELECT seq, received_at FROM entries "
                   "WHERE author = (SELECT peer_key FROM lines) ORDER BY seq");
  const auto receipts = alpha_receipts(p);
  if (stored_at_bravo.size() != total) {
    throw std::runtime_error("bravo's entries table does not hold alpha's whole chain");
  }
  std::vector<std::uint64_t> flash_seq(runs.size(), 0);
  std::uint64_t next_routine = 0;
  for (const auto& entry : chain) {
    const std::string text = text_of(entry);
    if (text.rfind("r-", 0) == 0) {
      if (text != "r-" + std::to_string(next_routine)) {
        throw std::runtime_error("ROUTINE out of order at seq " + std::to_string(entry.fields.seq) +
                                 ": " + text);
      }
      ++next_routine;
      continue;
    }
    flash_seq.at(std::stoull(text.substr(std::strlen("flash-")))) = entry.fields.seq;
  }

  json polled = json::array(), unpolled = json::array();
  std::vector<double> bounds_ms, polled_ms, unpolled_ms;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    FlashRun& run = runs[r];
    const std::uint64_t seq = flash_seq[r];
    if (seq == 0) {
      throw std::runtime_error("FLASH " + std::to_string(r) + " is not in alpha's chain");
    }
    const record::SignedEntry& entry = chain[seq - 1];
    const std::int64_t at_bravo = stored_at_bravo[seq - 1].second;
    const std::int64_t receipted_at = receipt_stored_at(receipts, seq);
    const double ms = static_cast<double>(receipted_at - run.sent_wall) / 1e3;
    // ROUTINE entries signed after the send began and ahead of the FLASH (0: it was next).
    std::uint64_t signed_ahead = 0;
    // ROUTINE entries already signed when it was authored but not yet stored by bravo: in flight
    // ahead of it.
    std::uint64_t in_flight_ahead = 0;
    for (std::uint64_t s = seq - 1; s >= 1; --s) {
      const bool after_send = chain[s - 1].fields.time >= run.sent_wall;
      const bool not_at_bravo = stored_at_bravo[s - 1].second >= entry.fields.time;
      if (!after_send && !not_at_bravo) {
        break;
      }
      signed_ahead += after_send ? 1 : 0;
      in_flight_ahead += not_at_bravo ? 1 : 0;
    }
    // ROUTINE authored by the time the receipt was stored: the rest was still queued.
    std::uint64_t authored = 0;
    for (const auto& e : chain) {
      if (e.fields.time <= receipted_at) {
        ++authored;
      }
    }
    std::uint64_t flashes_authored = 0;
    for (std::size_t k = 0; k < runs.size(); ++k) {
      flashes_authored += chain[flash_seq[k] - 1].fields.time <= receipted_at ? 1 : 0;
    }
    json figures = run.figures.is_object() ? run.figures : json::object();
    if (run.polled) {
      if (seq > figures["seq_at_most"].get<std::uint64_t>()) {
        throw std::runtime_error("FLASH " + std::to_string(r) + " at seq " + std::to_string(seq) +
                                 ", above the bound its status gave");
      }
      bounds_ms.push_back(figures["upper_bound_ms"].get<double>());
    }
    figures["ms"] = ms;
    figures["seq"] = seq;
    figures["queued_to_authored_ms"] = static_cast<double>(entry.fields.time - run.sent_wall) / 1e3;
    figures["authored_to_stored_at_bravo_ms"] =
        static_cast<double>(at_bravo - entry.fields.time) / 1e3;
    figures["stored_at_bravo_to_receipt_stored_ms"] =
        static_cast<double>(receipted_at - at_bravo) / 1e3;
    figures["receipted_before_send"] = receipted_before(receipts, run.sent_wall);
    figures["routine_signed_after_send_ahead_of_it"] = signed_ahead;
    figures["entries_in_flight_ahead_of_it"] = in_flight_ahead;
    figures["routine_queued_when_receipt_stored"] =
        run.routine_sent - (authored - flashes_authored);
    (run.polled ? polled_ms : unpolled_ms).push_back(ms);
    (run.polled ? polled : unpolled).push_back(std::move(figures));
  }
  const double drain_rate = static_cast<double>(total - receipted_then) /
                            (static_cast<double>(receipts.back().second - draining_since) / 1e6);

  json out = {
      {"backlog_entries", backlog},
      {"polled_runs", polled},
      {"unpolled_runs", unpolled},
      {"median_upper_bound_ms", median(bounds_ms)},
      {"max_upper_bound_ms", *std::max_element(bounds_ms.begin(), bounds_ms.end())},
      {"median_ms_polled", median(polled_ms)},
      {"median_ms_unpolled", median(unpolled_ms)},
      {"max_ms_unpolled", *std::max_element(unpolled_ms.begin(), unpolled_ms.end())},
      // From the moment the backlog was draining to the last receipt, FLASH runs included.
      {"drain_entries_per_second", refills == 0 ? json(drain_rate) : json()},
      {"cpu_use_while_draining", cpu_use},
      {"backlog_refills", refills},
      {"seconds_to_drain_the_rest", rest_seconds},
      {"status_poll_us_with_backlog", backlog_poll},
      {"queueing",
       {{"messages", backlog},
        {"seconds", queue_seconds},
        {"messages_per_second", static_cast<double>(backlog) / queue_seconds}}},
      {"in_flight_window", line::kInFlightWindow},
      {"author_batch", line::kAuthorBatch},
      {"target_ms", kTargetFlashMs},
      {"meets_target", median(bounds_ms) < kTargetFlashMs},
      {"meets_target_unpolled", median(unpolled_ms) < kTargetFlashMs},
  };
  return out;
}

json failover(const Options& o) {
  std::cerr << "link bench: fail-over, " << o.failover_runs << " runs\n";
  Pair p;
  auto primary = FaultProxy::start("127.0.0.1", 0, "127.0.0.1", p.bravo.listen_port());
  auto backup = FaultProxy::start("127.0.0.2", 0, "127.0.0.1", p.bravo.listen_port());
  p.add_lines({primary->endpoint(), backup->endpoint()}, {});
  p.alpha.start();
  p.bravo.start();
  std::uint64_t seq = 0;
  p.alpha.send(kLine, "ROUTINE", "before-" + std::to_string(seq++));
  p.wait_delivered(seq);
  wait_line(p.alpha, "the line on the primary route",
            [&](const json& l) { return route_of(l) == primary->endpoint(); });
  std::int64_t on_primary_since = now_nanos();

  json runs = json::array();
  std::vector<double> failover_ms;
  const double heartbeat_s = static_cast<double>(link::kHeartbeatInterval) / 1e6;
  for (std::uint64_t r = 0; r < o.failover_runs; ++r) {
    // The time since the last frame from bravo decides when the route is declared dead; frames
    // come with the heartbeats, every kHeartbeatInterval. Cuts at the same time after the line
    // came up would all fall at the same point of that period, so the cut moves across it.
    const double offset_s =
        heartbeat_s * (static_cast<double>(r) + 0.5) / static_cast<double>(o.failover_runs);
    const double up = seconds_between(on_primary_since, now_nanos());
    if (up < kStableLineSeconds + offset_s) {
      std::this_thread::sleep_for(
          std::chrono::duration<double>(kStableLineSeconds + offset_s - up));
    }
    const json before = line_of(p.alpha);
    if (route_of(before) != primary->endpoint()) {
      throw std::runtime_error("the line left the primary route by itself: " + before.dump());
    }
    const double line_up_seconds = seconds_between(on_primary_since, now_nanos());

    primary->set_blackhole(true);
    const std::int64_t t0 = now_nanos();
    p.alpha.send(kLine, "ROUTINE", "failover-" + std::to_string(r));
    const std::uint64_t target = ++seq;
    const json after = wait_line(
        p.alpha, "the message sent after the black hole to be receipted",
        [&](const json& l) { return receipted(l) >= target; }, kWaitSeconds, 1);
    const double ms = millis_since(t0);
    failover_ms.push_back(ms);
    const std::string route_after = route_of(after);
    std::cerr << "link bench:   fail-over " << r << ": " << ms << " ms, now on " << route_after
              << "\n";

    primary->set_blackhole(false);
    const std::int64_t unblocked = now_nanos();
    wait_line(
        p.alpha, "the line to return to the primary route",
        [&](const json& l) { return route_of(l) == primary->endpoint(); }, kReturnToPrimarySeconds,
        20);
    on_primary_since = now_nanos();
    const double back_s = seconds_between(unblocked, on_primary_since);
    p.alpha.send(kLine, "ROUTINE", "back-" + std::to_string(r));
    p.wait_delivered(++seq);
    runs.push_back({{"failover_ms", ms},
                    {"route_after", route_after},
                    {"became_backup", route_after == backup->endpoint()},
                    {"line_up_before_cut_seconds", line_up_seconds},
                    {"returned_to_primary_after_s", back_s}});
    if (route_after != backup->endpoint()) {
      throw std::runtime_error("after the primary went silent the line is on '" + route_after +
                               "', not the backup " + backup->endpoint());
    }
  }
  p.alpha.terminate();
  p.bravo.terminate();
  const double worst = *std::max_element(failover_ms.begin(), failover_ms.end());
  return {{"runs", runs},
          {"median_failover_ms", median(failover_ms)},
          {"max_failover_ms", worst},
          {"primary", primary->endpoint()},
          {"backup", backup->endpoint()},
          {"heartbeat_interval_ms", heartbeat_s * 1e3},
          {"missed_heartbeats_before_dead", link::kMissedHeartbeatsBeforeDead},
          {"target_ms", kTargetFailoverMs},
          {"meets_target", worst < kTargetFailoverMs}};
}

[[noreturn]] void usage(int code) {
  (code == 0 ? std::cout : std::cerr)
      << "usage: hotline_bench_link [--quick] [--only latency|throughput|flash|failover]\n"
         "  --quick  small counts, for a smoke run (figures not meaningful)\n"
         "Environment (counts): HOTLINE_BENCH_LINK_LATENCY_SAMPLES (1000),\n"
         "  HOTLINE_BENCH_LINK_ENTRIES (50000), HOTLINE_BENCH_LINK_BACKLOG (100000),\n"
         "  HOTLINE_BENCH_LINK_FLASH_RUNS (5), HOTLINE_BENCH_LINK_FAILOVER_RUNS (3)\n";
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--only" && i + 1 < argc) {
      o.only = argv[++i];
      if (o.only != "latency" && o.only != "throughput" && o.only != "flash" &&
          o.only != "failover") {
        usage(2);
      }
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      usage(2);
    }
  }
  if (o.quick) {
    o.latency_samples = 100;
    o.latency_warmup = 10;
    o.poll_samples = 100;
    o.throughput_entries = 2'000;
    o.backlog_entries = 5'000;
    o.flash_runs = 2;
    o.failover_runs = 1;
  }
  o.latency_samples = env_count("HOTLINE_BENCH_LINK_LATENCY_SAMPLES", o.latency_samples);
  o.throughput_entries = env_count("HOTLINE_BENCH_LINK_ENTRIES", o.throughput_entries);
  o.backlog_entries = env_count("HOTLINE_BENCH_LINK_BACKLOG", o.backlog_entries);
  o.flash_runs = env_count("HOTLINE_BENCH_LINK_FLASH_RUNS", o.flash_runs);
  o.failover_runs = env_count("HOTLINE_BENCH_LINK_FAILOVER_RUNS", o.failover_runs);
  return o;
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const double load_before = load_average();
  const std::int64_t start = now_nanos();
  json figures;
  try {
    if (o.only.empty() || o.only == "latency") {
      figures["latency_send_to_receipt"] = latency(o);
    }
    if (o.only.empty() || o.only == "throughput") {
      figures["throughput_one_line"] = throughput(o);
    }
    if (o.only.empty() || o.only == "flash") {
      figures["flash_behind_routine_backlog"] = flash_behind_backlog(o);
    }
    if (o.only.empty() || o.only == "failover") {
      figures["failover_to_backup_route"] = failover(o);
    }
  } catch (const std::exception& e) {
    // The stations were killed and the scratch directories removed while unwinding.
    fail(std::string("link: ") + e.what());
  }
  const json doc = {{"benchmark", "link"},
                    {"machine", describe_machine()},
                    {"load_average_before", load_before},
                    {"load_average_after", load_average()},
                    {"seconds", seconds_between(start, now_nanos())},
                    {"setup",
                     {{"stations", "two `hotline serve` processes on this machine, loopback TLS"},
                      {"hotline", HOTLINE_BINARY},
                      {"quick", o.quick}}},
                    {"figures", figures}};
  std::cout << doc.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace hotline::bench

int main(int argc, char** argv) { return hotline::bench::run(argc, argv); }
