#include "procedure/report.h"

#include <algorithm>
#include <array>

#include "core/duration.h"

namespace hotline::procedure {

namespace {

// How people name a party: the 8 hex digits that start its entry ids (entry_id_text).
std::string party_prefix(const record::PublicKey& key) {
  return key.fingerprint().substr(crypto::kFingerprintPrefix.size(), 8);
}

bool is_decision_kind(std::string_view kind) {
  const std::optional<Step> step = parse_step(kind);
  return step && is_decision(*step);
}

// The author time of the first applied step of the request's history that `matches`.
template <typename Matches>
std::optional<Micros> first_time(const Request& r, Matches matches) {
  for (const HistoryItem& item : r.history) {
    if (matches(item.kind)) {
      return item.time;
    }
  }
  return std::nullopt;
}

IntervalFigures figures_of(std::vector<Micros> samples) {
  IntervalFigures f;
  f.count = samples.size();
  if (samples.empty()) {
    return f;
  }
  std::sort(samples.begin(), samples.end());
  f.median = samples[(samples.size() - 1) / 2];  // the lower median: a recorded value
  f.worst = samples.back();
  return f;
}

// The request's outcome from the record: expired once the awaiting party's chain is held up to
// the deadline (a decision at or after it does not count, so none can still come).
RequestState outcome(const Request& r, Micros awaiting_held_until) {
  if (undecided(r.state) && r.response_deadline <= awaiting_held_until) {
    return RequestState::kExpired;
  }
  if (r.state == RequestState::kSent && r.delivered_at) {
    return RequestState::kDelivered;
  }
  return r.state;
}

struct Samples {
  std::vector<Micros> to_deliver;
  std::vector<Micros> to_acknowledge;
  std::vector<Micros> to_decide;
};

void add_request(const Request& r, Micros awaiting_held_until, DirectionReport& d, Samples& s) {
  ++d.requests;
  if (r.delivered_at) {
    s.to_deliver.push_back(*r.delivered_at - r.requested_at);
  }
  if (auto ack = first_time(r, [](std::string_view kind) { return kind == "ack"; })) {
    s.to_acknowledge.push_back(*ack - r.requested_at);
  }
  if (auto decided = first_time(r, is_decision_kind)) {
    s.to_decide.push_back(*decided - r.requested_at);
  }
  ++d.outcomes[outcome(r, awaiting_held_until)];
  d.anomalies += r.anomalies.size();
}

// --- output ---

std::string duration_text(Micros d) {
  // Author times are non-negative, so a difference of two never overflows when negated.
  if (d >= 0) {
    return format_duration(d);
  }
  std::string text = "-";  // appended: see GCC bug 105329 (-Wrestrict at -O3)
  return text.append(format_duration(-d));
}

nlohmann::json interval_json(const IntervalFigures& f) {
  nlohmann::json j = {{"count", f.count}};
  for (const auto& [name, value] : {std::pair{"median", f.median}, std::pair{"worst", f.worst}}) {
    j[name] = value ? nlohmann::json(*value) : nlohmann::json();
    j[std::string(name) + "_text"] =
        value ? nlohmann::json(duration_text(*value)) : nlohmann::json();
  }
  return j;
}

nlohmann::json direction_json(const DirectionReport& d) {
  nlohmann::json outcomes = nlohmann::json::object();
  for (const auto& [state, count] : d.outcomes) {
    outcomes[std::string(state_name(state))] = count;
  }
  return {{"requester", party_prefix(d.requester)},
          {"responder", party_prefix(d.responder)},
          {"requests", d.requests},
          {"to_deliver", interval_json(d.to_deliver)},
          {"to_acknowledge", interval_json(d.to_acknowledge)},
          {"to_decide", interval_json(d.to_decide)},
          {"outcomes", outcomes},
          {"anomalies", d.anomalies}};
}

// A table: a row's label has two parts ("to deliver", "median"), then one cell per direction.
struct Row {
  std::string group;
  std::string label;
  std::vector<std::string> cells;
};

std::string figure_text(const std::optional<Micros>& value) {
  return value ? duration_text(*value) : "-";
}

void add_interval_rows(std::vector<Row>& rows, const std::string& group, const LineReport& report,
                       IntervalFigures DirectionReport::*member) {
  std::array<Row, 3> added = {Row{group, "samples", {}}, Row{"", "median", {}},
                              Row{"", "worst", {}}};
  for (const DirectionReport& d : report.directions) {
    const IntervalFigures& f = d.*member;
    added[0].cells.push_back(std::to_string(f.count));
    added[1].cells.push_back(figure_text(f.median));
    added[2].cells.push_back(figure_text(f.worst));
  }
  rows.insert(rows.end(), added.begin(), added.end());
}

void add_outcome_rows(std::vector<Row>& rows, const LineReport& report) {
  bool first = true;
  for (int k = 0; k <= static_cast<int>(RequestState::kExpiredUnconfirmed); ++k) {
    const auto state = static_cast<RequestState>(k);
    Row row{first ? "outcomes" : "", std::string(state_name(state)), {}};
    bool any = false;
    for (const DirectionReport& d : report.directions) {
      const auto it = d.outcomes.find(state);
      const std::size_t count = it == d.outcomes.end() ? 0 : it->second;
      any = any || count > 0;
      row.cells.push_back(std::to_string(count));
    }
    if (any) {
      rows.push_back(std::move(row));
      first = false;
    }
  }
}

std::string pad(const std::string& text, std::size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

std::string table_text(const std::vector<Row>& rows) {
  std::size_t group_width = 0;
  std::size_t label_width = 0;
  std::vector<std::size_t> cell_widths;
  for (const Row& row : rows) {
    group_width = std::max(group_width, row.group.size());
    label_width = std::max(label_width, row.label.size());
    cell_widths.resize(std::max(cell_widths.size(), row.cells.size()), 0);
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      cell_widths[i] = std::max(cell_widths[i], row.cells[i].size());
    }
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line = pad(row.group, group_width + 2) + pad(row.label, label_width + 2);
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      line += pad(row.cells[i], cell_widths[i] + 3);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

}  // namespace

LineReport make_report(const RequestBook& book, const record::PublicKey& local,
                       const record::PublicKey& peer, ReportPeriod period, Micros local_until,
                       Micros peer_until) {
  LineReport report;
  report.local = local;
  report.period = period;
  report.chains = {{local, local_until}, {peer, peer_until}};
  std::sort(report.chains.begin(), report.chains.end(),
            [](const ChainReach& a, const ChainReach& b) { return a.party < b.party; });
  const auto held_until = [&](const record::PublicKey& party) {
    return party == local ? local_until : peer_until;
  };

  std::array<Samples, 2> samples;
  for (const ChainReach& requester : report.chains) {
    DirectionReport d;
    d.requester = requester.party;
    d.responder = requester.party == local ? peer : local;
    report.directions.push_back(d);
  }
  for (const auto& [id, r] : book.requests()) {
    if (r.requested_at < period.from || r.requested_at >= period.to) {
      continue;
    }
    const std::size_t i = r.requester == report.directions[0].requester ? 0 : 1;
    add_request(r, held_until(r.awaiting), report.directions[i], samples[i]);
  }
  for (std::size_t i = 0; i < samples.size(); ++i) {
    report.directions[i].to_deliver = figures_of(std::move(samples[i].to_deliver));
    report.directions[i].to_acknowledge = figures_of(std::move(samples[i].to_acknowledge));
    report.directions[i].to_decide = figures_of(std::move(samples[i].to_decide));
  }
  return report;
}

nlohmann::json report_json(const LineReport& report) {
  nlohmann::json chains = nlohmann::json::array();
  for (const ChainReach& c : report.chains) {
    chains.push_back(
        {{"party", party_prefix(c.party)},
         {"held_until", c.held_until},
         {"held_until_utc",
          c.held_until == 0 ? nlohmann::json() : nlohmann::json(format_utc(c.held_until))}});
  }
  nlohmann::json directions = nlohmann::json::array();
  for (const DirectionReport& d : report.directions) {
    directions.push_back(direction_json(d));
  }
  return {{"seen_from", party_prefix(report.local)},
          {"period",
           {{"from", report.period.from},
            {"from_utc", format_utc(report.period.from)},
            {"to", report.period.to},
            {"to_utc", format_utc(report.period.to)}}},
          {"chains", chains},
          {"directions", directions}};
}

std::string report_text(const LineReport& report) {
  std::string out = "Requests made from ";  // appended: GCC bug 105329 (-Wrestrict at -O3)
  out.append(format_utc(report.period.from))
      .append(" to ")
      .append(format_utc(report.period.to))
      .append(" (the end excluded)\nRecord held:");
  for (const ChainReach& c : report.chains) {
    out.append(" ")
        .append(party_prefix(c.party))
        .append(" up to ")
        .append(c.held_until == 0 ? std::string("nothing") : format_utc(c.held_until))
        .append(";");
  }
  out.back() = '\n';
  out += "\n";

  std::vector<Row> rows;
  Row heading{"", "", {}};
  Row requests{"requests", "", {}};
  Row anomalies{"anomalies", "(not applied)", {}};
  for (const DirectionReport& d : report.directions) {
    heading.cells.push_back((d.requester == report.local ? "outgoing " : "incoming ") +
                            party_prefix(d.requester));
    requests.cells.push_back(std::to_string(d.requests));
    anomalies.cells.push_back(std::to_string(d.anomalies));
  }
  rows.push_back(std::move(heading));
  rows.push_back(std::move(requests));
  add_interval_rows(rows, "to deliver", report, &DirectionReport::to_deliver);
  add_interval_rows(rows, "to acknowledge", report, &DirectionReport::to_acknowledge);
  add_interval_rows(rows, "to decide", report, &DirectionReport::to_decide);
  add_outcome_rows(rows, report);
  rows.push_back(std::move(anomalies));
  return out + table_text(rows);
}

}  // namespace hotline::procedure
