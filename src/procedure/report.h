// procedure/report.h — the per-line report of `hotline report --line L`: per direction, how many
// requests were made, how long they took to be delivered, acknowledged and decided, and how they
// ended (design.md §2).
//
// The report is computed from the record alone, never from a clock, so that both stations print
// the same figures for the same period once they hold the same record:
// - Directions are named by their requester's key prefix (the 8 hex digits of entry ids, e.g.
//   "3fa9c2d1") and listed in the order of the requester's key. Which one is "outgoing" (made by
//   this station's party) is the only thing that differs between the two stations' reports.
// - A request is in the period [from, to) if its author time (requested_at) is.
// - Time to deliver = the responder station's "delivered" entry − the request; to acknowledge =
//   the first applied "ack" − the request; to decide = the first applied accept, decline, counter
//   or refer − the request. A request without that entry gives no sample for that figure. All are
//   author times from the record, so a clock skew between the stations can make one negative.
// - Median: of an even count, the lower of the two middle values, so it is always a recorded
//   value. Worst: the largest.
// - Outcome: the request's state in the record, except that an undecided one (sent, delivered,
//   acknowledged, referred, countered) is "expired" once the chain of the party it awaits is held
//   up to its response deadline or later: that chain then proves no decision was authored in time
//   (docs/procedure.md §4). A request whose responder's station wrote "delivered" and that has no
//   later step is "delivered". "expired-unconfirmed" never appears: it depends on a clock.
// - Anomalies: the steps of the direction's requests that the record holds but the rules did not
//   let apply (request_book.h).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "procedure/request_book.h"

namespace hotline::procedure {

// The requests a report covers: those authored in [from, to).
struct ReportPeriod {
  Micros from = 0;
  Micros to = 0;
};

// One measured interval over a direction's requests, in µs.
struct IntervalFigures {
  std::size_t count = 0;         // requests that gave a sample
  std::optional<Micros> median;  // the lower median; empty when count is 0
  std::optional<Micros> worst;   // the largest; empty when count is 0
  bool operator==(const IntervalFigures&) const = default;
};

// The requests one party made to the other in the period.
struct DirectionReport {
  record::PublicKey requester;
  record::PublicKey responder;
  std::size_t requests = 0;
  IntervalFigures to_deliver;
  IntervalFigures to_acknowledge;
  IntervalFigures to_decide;
  // How many requests ended in (or are now in) each state; never kExpiredUnconfirmed.
  std::map<RequestState, std::size_t> outcomes;
  std::size_t anomalies = 0;  // steps of these requests not applied
  bool operator==(const DirectionReport&) const = default;
};

// How far the record the report was made from reaches on one party's chain.
struct ChainReach {
  record::PublicKey party;
  Micros held_until = 0;  // the latest author time of that party's entries held
  bool operator==(const ChainReach&) const = default;
};

struct LineReport {
  record::PublicKey local;  // the party of the station that made it: its direction is "outgoing"
  ReportPeriod period;
  std::vector<ChainReach> chains;           // both parties, in key order
  std::vector<DirectionReport> directions;  // both directions, in requester key order
};

// The report of `book` (projected from both chains, as held by the station of `local`) for the
// requests authored in `period`. `local_until` and `peer_until` are the latest author times of
// any entry of each party's chain in the record the book was projected from (0 for an empty
// chain); they decide expiry. Pure: reads no clock, so two stations holding the same record get
// equal reports but for `local`.
LineReport make_report(const RequestBook& book, const record::PublicKey& local,
                       const record::PublicKey& peer, ReportPeriod period, Micros local_until,
                       Micros peer_until);

// The report as one JSON document: points in time as µs and as UTC text ("from", "from_utc");
// durations as µs and as text ("median", "median_text", e.g. "1h2m3s"); a figure without samples
// as null. Every key but "seen_from" (this station's party's prefix) depends on the record alone.
nlohmann::json report_json(const LineReport& report);

// The report as a table for people, one column per direction ("outgoing 3fa9c2d1").
std::string report_text(const LineReport& report);

}  // namespace hotline::procedure
