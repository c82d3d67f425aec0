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
//   latency     N sequential messages sent with a wait for the receipt (`send --wait`): each is
//               timed from just before its send request until the station answers, which it does
//               once the peer's signed receipt is stored at the author; then N more timed from
//               just before the send until the author's status shows them receipted (polled in a
//               tight loop; the cost of one poll is measured too, since it bounds the
//               resolution); then N more, one every 10 ms and unpolled, timed from the databases
//   throughput  N messages queued while the peer is down, one send each; then the peer starts
//               and the run is timed until all N are receipted
//   flash       FLASH messages sent while a 100,000-entry ROUTINE backlog drains, with a wait for
//               the receipt (see flash_behind_backlog), then unwaited runs timed from the databases
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
#include "bench/link_bench.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "bench/must.h"
#include "bench/stats.h"
#include "line/session.h"
#include "link/limits.h"

namespace hotline::bench {

// One message at a time, from the send request to its durable receipt at alpha.
//
// Waited (the method, and the headline figure): `send --wait`, answered by alpha once
// bravo's receipt is stored. Polled (how it was measured before the wait existed): alpha's status
// is polled back to back until receipted covers the message; the time to the first such poll is the
// figure, so one poll's cost bounds the resolution. The polls are not free: each takes alpha's one
// thread ~0.15 ms, and the polling keeps a core busy here. Unpolled: the messages are sent every 10
// ms and nothing else is asked of alpha; afterwards alpha's database tells when it stored each
// receipt (`received_at`, stamped in the store's transaction, one fsync before the commit returns).
// Polled messages are also timed that way, to show what the polling itself adds.
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

  // Send and wait: the station answers when the receipt is durable, so nothing is polled.
  std::vector<double> waited_us;
  std::uint64_t seq = 0;
  const CpuUse waited_cpu(p.alpha, p.bravo);
  for (std::uint64_t i = 0; i < o.latency_warmup + o.latency_samples; ++i) {
    ++seq;
    const std::int64_t start = now_nanos();
    const json answer = p.alpha.send(kLine, "ROUTINE", "waited-" + std::to_string(i), kWaitSeconds);
    const double us = micros_since(start);
    if (answer.value("status", "") != "receipted") {
      throw std::runtime_error("message " + std::to_string(seq) + " not receipted within " +
                               std::to_string(static_cast<int>(kWaitSeconds)) +
                               " s: " + answer.dump());
    }
    if (i >= o.latency_warmup) {
      waited_us.push_back(us);
    }
  }
  const json waited_cpu_use = waited_cpu.figures();
  const std::uint64_t polled_first = seq + o.latency_warmup + 1;

  std::vector<double> total_us, send_us, polls;
  std::vector<std::int64_t> sent_wall;  // per measured message, by seq - 1 - warm-up
  const CpuUse polled_cpu(p.alpha, p.bravo);
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
        k < o.latency_samples ? polled_first + k : unpolled_first + (k - o.latency_samples);
    const double us = static_cast<double>(receipt_stored_at(receipts, s) - sent_wall[k]);
    (k < o.latency_samples ? polled_stamped_us : unpolled_stamped_us).push_back(us);
  }

  double polls_sum = 0;
  for (double n : polls) {
    polls_sum += n;
  }
  json out = distribution(waited_us);
  out["method"] = "send with a wait for the receipt: the station answers once it is stored";
  out["warmup_messages"] = o.latency_warmup;
  out["cpu_use_waited"] = waited_cpu_use;
  out["polled_us"] = distribution(total_us);
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

namespace {

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