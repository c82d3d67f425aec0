// The FLASH run of the link benchmark (bench/link_bench.h).
#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "bench/link_bench.h"
#include "bench/stats.h"
#include "line/session.h"
#include "link/limits.h"

namespace hotline::bench {

// One FLASH message sent while the ROUTINE backlog drains.
struct FlashRun {
  bool polled = false;             // waited for its receipt (send --wait)
  std::int64_t sent_wall = 0;      // wall_micros() just before the send request
  std::uint64_t routine_sent = 0;  // ROUTINE messages queued so far
  json figures;                    // what the waited runs saw
};

// FLASH messages sent while a ROUTINE backlog drains, two ways.
//
// Waited (the method): the FLASH is sent with a wait for its receipt (`send --wait`), so
// alpha's control socket answers once bravo's signed receipt covering it is stored at alpha; the
// time from just before the send request to that answer is the figure. Nothing is polled.
//
// Unwaited: the FLASH is sent and nothing is asked of alpha for a while. Afterwards, with both
// stations stopped, the databases tell when it was authored (its author time), stored by bravo
// (bravo's received_at) and its receipt stored by alpha (alpha's received_at): both stations
// stamp with this machine's clock. Waited runs are timed this way too.
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
    const json answer =
        p.alpha.send(kLine, "FLASH", "flash-" + std::to_string(r), run.polled ? kWaitSeconds : 0);
    if (!run.polled) {
      runs.push_back(std::move(run));
      sleep_ms(250);  // well past its receipt, and nothing asked of alpha meanwhile
      continue;
    }
    const double waited_ms = millis_since(t0);
    if (answer.value("status", "") != "receipted") {
      throw std::runtime_error("FLASH " + std::to_string(r) + " not receipted within " +
                               std::to_string(static_cast<int>(kWaitSeconds)) +
                               " s: " + answer.dump());
    }
    line = line_of(p.alpha);
    run.figures = {{"waited_ms", waited_ms},
                   {"own_seq_at_last_poll_before_send", own_at_send},
                   {"receipted_at_last_poll_before_send", receipted_at_send},
                   {"routine_queued_at_send", routine_at_send},
                   {"routine_queued_when_answered", queued(line, "ROUTINE")}};
    std::cerr << "link bench:   FLASH " << r << ": " << waited_ms << " ms, "
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
      bounds_ms.push_back(figures["waited_ms"].get<double>());
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
      {"waited_runs", polled},
      {"unwaited_runs", unpolled},
      {"median_ms", median(bounds_ms)},
      {"max_ms", *std::max_element(bounds_ms.begin(), bounds_ms.end())},
      {"median_ms_waited_from_timestamps", median(polled_ms)},
      {"median_ms_unwaited", median(unpolled_ms)},
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
      {"meets_target_unwaited", median(unpolled_ms) < kTargetFlashMs},
  };
  return out;
}

}  // namespace hotline::bench
