#include "station/procedure_json.h"

#include "core/duration.h"
#include "procedure/report.h"

namespace hotline::station {

using nlohmann::json;
using procedure::entry_id_text;

namespace {

json time_or_null(std::optional<Micros> t) { return t ? json(format_utc(*t)) : json(); }

// "us" or "peer" while a decision is pending, else null.
json awaiting_json(const LineDesk& desk, const procedure::Request& r,
                   procedure::RequestState state) {
  if (!procedure::undecided(state)) {
    return json();
  }
  return r.awaiting == desk.local() ? "us" : "peer";
}

json window_json(const procedure::TimeWindow& w) {
  return {{"start", format_utc(w.start)}, {"end", format_utc(w.end)}};
}

json translations_of(const LineDesk& desk, const procedure::EntryRef& entry) {
  json out = json::array();
  auto it = desk.book().translations().find(entry);
  if (it == desk.book().translations().end()) {
    return out;
  }
  for (const procedure::Translation& t : it->second) {
    out.push_back({{"entry", entry_id_text(t.entry)},
                   {"language", t.language},
                   {"text", t.text},
                   {"by", t.by},
                   {"time", format_utc(t.time)}});
  }
  return out;
}

}  // namespace

json request_json(const LineDesk& desk, const procedure::Request& r) {
  json windows = json::array();
  for (const procedure::TimeWindow& w : r.proposal.windows) {
    windows.push_back(window_json(w));
  }
  json history = json::array();
  for (const procedure::HistoryItem& h : r.history) {
    history.push_back({{"kind", h.kind},
                       {"entry", entry_id_text(h.entry)},
                       {"time", format_utc(h.time)},
                       {"by", h.signatories.by},
                       {"confirmed_by", h.signatories.confirmed_by},
                       {"translations", translations_of(desk, h.entry)}});
  }
  json flags = json::array();
  for (const procedure::HistoryItem& h : r.history) {  // the request itself first
    for (const store::NoticeRow& n : desk.notices_about(entry_id_text(h.entry))) {
      flags.push_back(n.message);
    }
  }
  const procedure::RequestState state = desk.state_of(r);
  return {{"id", entry_id_text(r.id)},
          {"line", desk.config().name},
          {"direction", r.requester == desk.local() ? "outgoing" : "incoming"},
          {"kind", std::string(procedure::request_kind_name(r.proposal.kind))},
          {"immediate", r.immediate},
          {"topic", r.proposal.topic},
          {"officials", r.proposal.officials},
          {"level", r.proposal.level},
          {"windows", windows},
          {"precedence", std::string(precedence_name(r.precedence))},
          {"state", std::string(procedure::state_name(state))},
          {"requested_at", format_utc(r.requested_at)},
          {"delivered_at", time_or_null(r.delivered_at)},
          {"ack_deadline", format_utc(r.ack_deadline)},
          {"response_deadline", format_utc(r.response_deadline)},
          {"awaiting", awaiting_json(desk, r, state)},
          {"acknowledged", r.acknowledged},
          {"scheduled", r.scheduled ? window_json(*r.scheduled) : json()},
          {"reason", r.reason},
          {"referred_to", r.referred_to},
          {"history", history},
          {"translations", translations_of(desk, r.id)},
          {"anomalies", r.anomalies},
          {"flags", flags}};
}

json request_summary_json(const LineDesk& desk, const procedure::Request& r) {
  const procedure::RequestState state = desk.state_of(r);
  json deadline;
  if (procedure::undecided(state)) {
    deadline = format_utc(!r.acknowledged && desk.now() < r.ack_deadline ? r.ack_deadline
                                                                         : r.response_deadline);
  }
  return {{"id", entry_id_text(r.id)},
          {"line", desk.config().name},
          {"direction", r.requester == desk.local() ? "outgoing" : "incoming"},
          {"state", std::string(procedure::state_name(state))},
          {"kind", std::string(procedure::request_kind_name(r.proposal.kind))},
          {"topic", r.proposal.topic},
          {"precedence", std::string(precedence_name(r.precedence))},
          {"awaiting", awaiting_json(desk, r, state)},
          {"deadline", deadline}};
}

json message_json(const LineDesk& desk, const procedure::EntryRef& id,
                  const procedure::MessageBody& body, Micros sent_at) {
  json answer = {{"id", entry_id_text(id)},
                 {"direction", id.author == desk.local() ? "outgoing" : "incoming"},
                 {"precedence", std::string(precedence_name(body.precedence))},
                 {"text", body.text},
                 {"from", body.from},
                 {"sent_at", format_utc(sent_at)},
                 {"ack_deadline", time_or_null(body.ack_deadline)},
                 {"acknowledged_at", json()},
                 {"acknowledged_by", ""},
                 {"late", false},
                 {"translations", translations_of(desk, id)}};
  auto tracked = desk.book().messages().find(id);
  if (tracked != desk.book().messages().end() && tracked->second.ack) {
    answer["acknowledged_at"] = format_utc(tracked->second.ack->time);
    answer["acknowledged_by"] = tracked->second.ack->signatories.by;
    answer["late"] = tracked->second.late;
  }
  return answer;
}

json draft_json(const store::DecisionDraft& d) {
  return {{"id", d.id},
          {"request", d.request},
          {"step", d.step},
          {"status", d.status},
          {"drafted_by", d.drafted_by},
          {"drafted_at", format_utc(d.drafted_at)},
          {"decided_by", d.decided_by},
          {"decided_at", time_or_null(d.decided_at)},
          {"entry", d.seq ? json(*d.seq) : json()},
          {"note", d.note}};
}

json notice_json(const store::NoticeRow& n) {
  return {{"id", n.id},
          {"subject", n.subject},
          {"kind", n.kind},
          {"audience", n.audience},
          {"at", format_utc(n.at)},
          {"raised_at", format_utc(n.raised_at)},
          {"message", n.message}};
}

json link_tests_json(const LinkTestStatus& t) {
  return {{"sent", t.sent},
          {"answered", t.answered},
          {"missed", t.missed},
          {"answered_for_peer", t.answered_for_peer},
          {"last_sent_at", time_or_null(t.last_sent_at)},
          {"last_round_trip_us", t.last_round_trip ? json(*t.last_round_trip) : json()}};
}

json LineDesk::recent_messages_json() const {
  constexpr std::uint64_t kLatest = 50;
  std::vector<std::pair<Micros, json>> found;
  const line::LineStatus status = link_.status();
  for (const auto& [author, head] :
       {std::pair{local(), status.own.seq}, std::pair{peer(), status.peer.seq}}) {
    // Messages are most of a chain: the last entries, read back, hold the latest of them.
    const std::uint64_t from = head > 4 * kLatest ? head - 4 * kLatest + 1 : 1;
    auto entries = store_.read_entries(link_id(), author, from, 4 * kLatest);
    if (!entries.ok()) {
      continue;
    }
    std::size_t taken = 0;
    for (auto it = entries->rbegin(); it != entries->rend() && taken < kLatest; ++it) {
      if (it->fields.kind != "message") {
        continue;
      }
      auto body = procedure::decode_message(it->fields.body);
      if (body.ok()) {
        found.emplace_back(it->fields.time, message_json(*this, {author, it->fields.seq},
                                                         body.value(), it->fields.time));
        ++taken;
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  json out = json::array();
  for (auto& [time, message] : found) {
    out.push_back(std::move(message));
  }
  return out;
}

nlohmann::json line_report_json(const LineDesk& desk, Micros from, Micros to) {
  const procedure::LineReport report =
      procedure::make_report(desk.book(), desk.local(), desk.peer(), {from, to},
                             desk.own_entries_until(), desk.peer_entries_until());
  nlohmann::json answer = procedure::report_json(report);
  answer["line"] = desk.config().name;
  answer["text"] = procedure::report_text(report);
  return answer;
}

}  // namespace hotline::station
