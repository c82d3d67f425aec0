#include "station/station_status.h"

#include "core/precedence.h"
#include "station/procedure_json.h"

namespace hotline::station {

using nlohmann::json;

namespace {

json position_json(const record::ChainPosition& p) {
  return {{"seq", p.seq}, {"hash", to_hex(p.hash)}};
}

// How many requests of the line are in each state now.
json request_counts(const LineDesk& desk) {
  json counts = json::object();
  for (const auto& [id, request] : desk.book().requests()) {
    const std::string state(procedure::state_name(desk.state_of(request)));
    counts[state] = counts.value(state, 0) + 1;
  }
  return counts;
}

}  // namespace

json line_status_json(const line::LineLink& link, const LineDesk& desk) {
  line::LineStatus s = link.status();
  json outbox = json::object();
  for (std::size_t p = 0; p < s.outbox.size(); ++p) {
    outbox[std::string(precedence_name(static_cast<Precedence>(p)))] = s.outbox[p];
  }
  json routes = json::array();
  for (const line::RouteStatus& r : s.routes) {
    routes.push_back({{"route", r.route},
                      {"connections", r.connections},
                      {"entries_carried", r.entries_carried},
                      {"last_error", r.last_error}});
  }
  const line::LineCounters& c = s.counters;
  return {
      {"name", s.name},
      {"peer", link.parties().peer.fingerprint()},
      {"state", s.state},
      {"route", s.route ? json(*s.route) : json()},
      {"dialed_by_peer", s.dialed_by_peer},
      {"own", position_json(s.own)},
      {"peer_chain", position_json(s.peer)},
      {"receipted", s.receipted},
      {"round_trip_us", s.round_trip ? json(s.round_trip->count()) : json()},
      {"peer_clock_offset_us", s.peer_clock_offset ? json(s.peer_clock_offset->count()) : json()},
      {"outbox", outbox},
      {"routes", routes},
      {"requests", request_counts(desk)},
      {"link_tests", link_tests_json(desk.link_tests())},
      {"counters",
       {{"entries_sent", c.entries_sent},
        {"entries_resent", c.entries_resent},
        {"entries_received", c.entries_received},
        {"duplicates_dropped", c.duplicates_dropped},
        {"entries_recovered", c.entries_recovered},
        {"receipts_sent", c.receipts_sent},
        {"receipts_received", c.receipts_received},
        {"checkpoints_received", c.checkpoints_received},
        {"connections_opened", c.connections_opened},
        {"alarms", c.alarms},
        {"rejected", c.rejected}}},
  };
}

json line_health_json(const line::LineLink& link, const LineDesk& desk, const LineConfig& config) {
  line::LineStatus s = link.status();
  const LinkTestStatus& tests = desk.link_tests();
  return {{"name", s.name},
          {"peer", link.parties().peer.fingerprint()},
          {"state", s.state},
          {"route", s.route ? json(*s.route) : json()},
          {"routes", config.routes.size()},
          {"round_trip_us", s.round_trip ? json(s.round_trip->count()) : json()},
          {"last_test_at", tests.last_sent_at ? json(format_utc(*tests.last_sent_at)) : json()},
          {"tests_missed", tests.missed}};
}

}  // namespace hotline::station
