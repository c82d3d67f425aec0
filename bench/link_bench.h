// bench/link_bench.h — what the link benchmark's runs share: two real stations, their status,
// waits with deadlines, the timestamps they record and the CPU they use (bench/link_bench.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/machine.h"
#include "bench/scratch_dir.h"
#include "integration/station_process.h"
#include "record/entry.h"
#include "testing/fault_proxy.h"

namespace hotline::bench {

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

inline std::int64_t now_nanos() { return monotonic_nanos(); }
inline double micros_since(std::int64_t start) {
  return static_cast<double>(now_nanos() - start) / 1e3;
}
inline double millis_since(std::int64_t start) {
  return static_cast<double>(now_nanos() - start) / 1e6;
}
inline std::int64_t deadline_after(double seconds) {
  return now_nanos() + static_cast<std::int64_t>(seconds * 1e9);
}
inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Each station has one line.
inline json line_of(const json& status) { return status.at("lines").at(0); }
inline json line_of(const StationProcess& station) { return line_of(station.status()); }
inline std::uint64_t receipted(const json& line) {
  return line.at("receipted").get<std::uint64_t>();
}
inline std::uint64_t own_seq(const json& line) {
  return line.at("own").at("seq").get<std::uint64_t>();
}
inline std::uint64_t peer_seq(const json& line) {
  return line.at("peer_chain").at("seq").get<std::uint64_t>();
}
inline std::uint64_t queued(const json& line, const char* precedence) {
  return line.at("outbox").at(precedence).get<std::uint64_t>();
}
inline std::string route_of(const json& line) {
  const json& route = line.at("route");
  return route.is_string() ? route.get<std::string>() : "";
}

// Polls `station`'s line every `interval_ms` (0: back to back) until `done` holds; returns that
// status. Throws, with the last status, if `seconds` pass first.
json wait_line(const StationProcess& station, const std::string& what,
               const std::function<bool(const json&)>& done, double seconds = kWaitSeconds,
               int interval_ms = 5);

// The disk's fsync floor in `dir`, and what one status request to `station` costs.
json fsync_floor(const std::string& dir, std::uint64_t samples);
json poll_cost(const StationProcess& station, std::uint64_t samples);
// Sends `count` messages of `precedence` one request each; returns the seconds it took.
double queue_messages(const StationProcess& station, const char* precedence,
                      const std::string& prefix, std::uint64_t first, std::uint64_t count);

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
  void wait_delivered(std::uint64_t seq, int interval_ms = 20);
};

// Wall-clock microseconds since the epoch: the clock the stations stamp their records with.
std::int64_t wall_micros();

// The rows of two integers that `sql` selects from the SQLite database at `path`, opened
// read-only (the station must be stopped).
std::vector<std::pair<std::int64_t, std::int64_t>> select_pairs(const std::string& path,
                                                                const std::string& sql);

// Read from alpha's database once it stopped: (held seq, alpha's clock when it stored it) of every
// receipt bravo gave for alpha's chain, in storage order; when the first receipt covering `seq`
// was stored (0 if none); the highest seq covered by receipts stored before `when`.
using ReceiptTimes = std::vector<std::pair<std::int64_t, std::int64_t>>;
ReceiptTimes alpha_receipts(const Pair& p);
std::int64_t receipt_stored_at(const ReceiptTimes& receipts, std::uint64_t seq);
std::uint64_t receipted_before(const ReceiptTimes& receipts, std::int64_t when);

// What the two stations and the whole machine used between construction and figures().
class CpuUse {
 public:
  CpuUse(const StationProcess& alpha, const StationProcess& bravo);
  // CPU seconds per wall second (1.0: one core all the time); both stations must be running.
  json figures() const;

 private:
  const StationProcess& alpha_;
  const StationProcess& bravo_;
  std::int64_t start_;
  double alpha_start_;
  double bravo_start_;
  std::pair<double, double> machine_start_;
};

// The text of a message entry (body key 1), or "".
std::string text_of(const record::SignedEntry& entry);
// Alpha's chain as bravo stored it (bravo must be stopped).
std::vector<record::SignedEntry> alpha_chain_at_bravo(const Pair& p, std::uint64_t length);

// The runs, each with fresh stations; each returns its figures.
json latency(const Options& o);
json throughput(const Options& o);
json flash_behind_backlog(const Options& o);
json failover(const Options& o);

}  // namespace hotline::bench
