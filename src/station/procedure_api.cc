#include "station/procedure_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "core/duration.h"
#include "station/people.h"
#include "station/procedure_json.h"
#include "station/record_api.h"
#include "station/request_fields.h"

namespace hotline::station {

using nlohmann::json;
using procedure::Action;
using procedure::entry_id_text;
using procedure::EntryRef;
using procedure::Step;

ControlResponse json_response(int status, const json& body) {
  return ControlResponse{status, body.dump() + "\n"};
}

ControlResponse error_response(const Error& error) {
  int status = 500;
  switch (error.code) {
    case Errc::kInvalidArgument:
    case Errc::kMalformed:
      status = 400;
      break;
    case Errc::kNotFound:
      status = 404;
      break;
    case Errc::kRefused:
    case Errc::kConflict:
    case Errc::kPermission:
      status = 409;
      break;
    case Errc::kUnavailable:
      status = 503;
      break;
    default:
      break;
  }
  return json_response(status, {{"error", error.message}});
}

namespace {

// {key: [each row as JSON]}, or the store's error.
template <typename Row>
ControlResponse list_response(const char* key, const Result<std::vector<Row>>& rows,
                              json (*to_json)(const Row&)) {
  if (!rows.ok()) {
    return error_response(rows.error());
  }
  json list = json::array();
  for (const Row& row : rows.value()) {
    list.push_back(to_json(row));
  }
  return json_response(200, {{key, list}});
}

Action action_for(Step step) {
  switch (step) {
    case Step::kAck:
      return Action::kAcknowledge;
    case Step::kAccept:
    case Step::kDecline:
    case Step::kCounter:
    case Step::kRefer:
      return Action::kDecide;
    case Step::kWithdraw:
      return Action::kWithdraw;
    case Step::kSchedule:
      return Action::kScheduleSession;
    case Step::kBegin:
    case Step::kConclude:
      return Action::kConcludeSession;
  }
  return Action::kDecide;
}

// GET …/requests[?state=S&direction=D&kind=K&precedence=P&final=true|false]: the requests whose
// fields match every filter given, newest last. A filter with a value no request can have is a
// 400 naming it, so that a typo does not look like an empty desk.
ControlResponse list_requests(const LineDesk& desk, const std::string& target) {
  const std::size_t question = target.find('?');
  const std::string query = question == std::string::npos ? "" : target.substr(question + 1);
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kFilters = {
      {"state",
       {"sent", "delivered", "acknowledged", "referred", "countered", "accepted", "declined",
        "withdrawn", "scheduled", "in-session", "concluded", "expired", "expired-unconfirmed"}},
      {"direction", {"incoming", "outgoing"}},
      {"kind", {"call", "video", "written"}},
      {"precedence", {"FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE"}},
      {"final", {"true", "false"}}};
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const auto& [key, allowed] : kFilters) {
    auto value = query_parameter(query, key);
    if (!value) {
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
      std::string list;
      for (const std::string& a : allowed) {
        list += (list.empty() ? "" : ", ") + a;
      }
      return error_response(
          make_error(Errc::kInvalidArgument, "query '" + key + "' must be one of " + list));
    }
    wanted.emplace_back(key, *value);
  }
  json list = json::array();
  for (const auto& [id, r] : desk.book().requests()) {
    json item = request_json(desk, r);
    const bool final = procedure::is_final(desk.state_of(r));
    bool matches = true;
    for (const auto& [key, value] : wanted) {
      const std::string have = key == "final" ? (final ? "true" : "false") : item.value(key, "");
      matches = matches && have == value;
    }
    if (matches) {
      list.push_back(std::move(item));
    }
  }
  return json_response(200, {{"line", desk.config().name}, {"requests", list}});
}

}  // namespace

ProcedureApi::ProcedureApi(store::RecordStore& store, std::map<std::string, LineDesk*> desks,
                           ShiftedClock* test_clock, std::function<void(Micros)> clock_moved)
    : store_(store),
      desks_(std::move(desks)),
      test_clock_(test_clock),
      clock_moved_(std::move(clock_moved)) {}

bool ProcedureApi::handle(const ControlRequest& request, const std::string& path,
                          ControlResponder& respond) {
  if (path == "/v1/clock") {
    clock(request, respond);
    return true;
  }
  const std::vector<std::string> parts = split(path, '/');
  // /v1/lines/{line}/{collection}/...; sending a message (POST …/messages) is the station's.
  if (parts.size() < 4 || parts[0] != "v1" || parts[1] != "lines" ||
      (parts.size() == 4 && parts[3] == "messages" && request.method != "GET")) {
    return false;
  }
  auto desk = desks_.find(parts[2]);
  if (desk == desks_.end()) {
    respond(error_response(make_error(Errc::kNotFound, "no line named '" + parts[2] + "'")));
    return true;
  }
  line_endpoint(*desk->second, request, parts, respond);
  return true;
}

void ProcedureApi::line_endpoint(LineDesk& desk, const ControlRequest& request,
                                 const std::vector<std::string>& parts, ControlResponder& respond) {
  const std::string& collection = parts[3];
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  auto not_found = [&] {
    respond(error_response(
        make_error(Errc::kNotFound, "no such endpoint: " + request.method + " " + request.target)));
  };
  if (collection == "requests") {
    if (parts.size() == 4 && get) {
      respond(list_requests(desk, request.target));
    } else if (parts.size() == 4 && post) {
      create_request(desk, request.body, respond);
    } else if (parts.size() == 5 && get) {
      auto id = procedure::parse_entry_id(parts[4], desk.local(), desk.peer());
      const procedure::Request* r = id.ok() ? desk.book().find(id.value()) : nullptr;
      if (r == nullptr) {
        respond(error_response(make_error(
            Errc::kNotFound, "no request " + parts[4] + " on line " + desk.config().name)));
        return;
      }
      respond(json_response(200, {{"request", request_json(desk, *r)}}));
    } else if (parts.size() == 6 && post) {
      step(desk, parts[4], parts[5], request.body, respond);
    } else {
      not_found();
    }
    return;
  }
  if (collection == "decisions") {
    if (parts.size() == 4 && get) {
      respond(
          list_response("decisions", store_.decision_drafts(desk.link_id(), false), draft_json));
      return;
    }
    if (parts.size() != 6 || !post || (parts[5] != "confirm" && parts[5] != "discard")) {
      not_found();
      return;
    }
    std::uint64_t number = 0;
    const std::string& text = parts[4];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      respond(error_response(make_error(Errc::kNotFound, "no draft " + text)));
      return;
    }
    auto fields = Fields::parse(request.body);
    auto as = fields.ok() ? fields->text("as", true) : Result<std::string>(fields.error());
    if (!as.ok()) {
      respond(error_response(as.error()));
      return;
    }
    // Confirming is a principal's; discarding is for whoever may decide (the desk then lets only
    // the drafter or a principal do it).
    const Action action = parts[5] == "confirm" ? Action::kConfirmDecision : Action::kDecide;
    auto actor = actor_for(store_, as.value(), action);
    if (!actor.ok()) {
      respond(error_response(actor.error()));
      return;
    }
    if (parts[5] == "discard") {
      auto reason = fields->text("reason", false);
      auto discarded = desk.discard_draft(number, actor.value(), reason.ok() ? reason.value() : "");
      respond(discarded.ok() ? json_response(200, {{"draft", draft_json(discarded.value())}})
                             : error_response(discarded.error()));
      return;
    }
    desk.confirm_draft(number, actor.value(), [&desk, respond](Result<StepOutcome> outcome) {
      if (!outcome.ok()) {
        respond(error_response(outcome.error()));
        return;
      }
      json answer = {{"entry", entry_id_text(*outcome->entry)}};
      if (outcome->draft) {
        answer["draft"] = draft_json(*outcome->draft);
        auto id = procedure::parse_entry_id(outcome->draft->request, desk.local(), desk.peer());
        if (const procedure::Request* r = id.ok() ? desk.book().find(id.value()) : nullptr) {
          answer["request"] = request_json(desk, *r);
        }
      }
      respond(json_response(201, answer));
    });
    return;
  }
  if (collection == "messages") {
    if (parts.size() == 4 && get) {
      respond(json_response(200, {{"messages", desk.recent_messages_json()}}));
      return;
    }
    auto id = procedure::parse_entry_id(parts[4], desk.local(), desk.peer());
    auto fields = Fields::parse(request.body);
    auto as = fields.ok() ? fields->text("as", true) : Result<std::string>(fields.error());
    if (!id.ok() || !as.ok() || !post) {
      respond(error_response(!id.ok()   ? id.error()
                             : !as.ok() ? as.error()
                                        : make_error(Errc::kNotFound, "use POST")));
      return;
    }
    auto actor = actor_for(store_, as.value(), Action::kAcknowledge);
    if (!actor.ok()) {
      respond(error_response(actor.error()));
      return;
    }
    desk.ack_message(id.value(), actor.value(), [respond](Result<EntryRef> entry) {
      respond(entry.ok() ? json_response(201, {{"entry", entry_id_text(entry.value())}})
                         : error_response(entry.error()));
    });
    return;
  }
  if (collection == "entries" && parts.size() == 6 && parts[5] == "translations" && post) {
    auto id = procedure::parse_entry_id(parts[4], desk.local(), desk.peer());
    auto fields = Fields::parse(request.body);
    if (!id.ok() || !fields.ok()) {
      respond(error_response(!id.ok() ? id.error() : fields.error()));
      return;
    }
    auto as = fields->text("as", true);
    auto language = fields->text("language", true);
    auto text = fields->text("text", true);
    for (const auto* r : {&as, &language, &text}) {
      if (!r->ok()) {
        respond(error_response(r->error()));
        return;
      }
    }
    if (!desk.config().terms.languages.empty() &&
        std::find(desk.config().terms.languages.begin(), desk.config().terms.languages.end(),
                  language.value()) == desk.config().terms.languages.end()) {
      respond(error_response(field_error("language", "is not one of the line's languages")));
      return;
    }
    auto actor = actor_for(store_, as.value(), Action::kAttachTranslation);
    if (!actor.ok()) {
      respond(error_response(actor.error()));
      return;
    }
    desk.translate(id.value(), language.value(), text.value(), actor.value(),
                   [respond](Result<EntryRef> entry) {
                     respond(entry.ok()
                                 ? json_response(201, {{"entry", entry_id_text(entry.value())}})
                                 : error_response(entry.error()));
                   });
    return;
  }
  if (collection == "report" && parts.size() == 4 && get) {
    auto period = report_period(request.target);
    respond(period.ok() ? json_response(200, line_report_json(desk, period->first, period->second))
                        : error_response(period.error()));
    return;
  }
  if (collection == "notices" && parts.size() == 4 && get) {
    respond(list_response("notices", store_.notices(desk.link_id(), 0, 10'000), notice_json));
    return;
  }
  not_found();
}

void ProcedureApi::create_request(LineDesk& desk, const std::string& body,
                                  ControlResponder respond) {
  auto parsed = [&]() -> Result<std::pair<NewRequest, Actor>> {
    HOTLINE_ASSIGN(Fields f, Fields::parse(body));
    HOTLINE_ASSIGN(std::string as, f.text("as", true));
    HOTLINE_ASSIGN(Actor actor, actor_for(store_, as, Action::kSendRequest));
    NewRequest r;
    const Micros now = desk.now();
    HOTLINE_ASSIGN(r.proposal.kind, f.kind(""));
    HOTLINE_ASSIGN(r.proposal.topic, f.text("topic", true));
    HOTLINE_ASSIGN(r.proposal.officials, f.text("officials", false));
    HOTLINE_ASSIGN(r.proposal.level, f.text("level", false));
    HOTLINE_ASSIGN(r.proposal.windows, f.windows("windows", now));
    HOTLINE_ASSIGN(r.precedence, f.precedence());
    HOTLINE_ASSIGN(r.ack_within, f.duration("ack_within"));
    HOTLINE_ASSIGN(r.respond_within, f.duration("respond_within"));
    HOTLINE_ASSIGN(r.immediate, f.flag("immediate"));
    if (r.proposal.topic.empty()) {
      return field_error("topic", "must not be empty");
    }
    if (r.immediate && r.proposal.kind == procedure::RequestKind::kWritten) {
      return field_error("kind", "an immediate request is a call or a video conference");
    }
    return std::make_pair(std::move(r), std::move(actor));
  }();
  if (!parsed.ok()) {
    respond(error_response(parsed.error()));
    return;
  }
  desk.create_request(parsed->first, parsed->second, [&desk, respond](Result<EntryRef> id) {
    if (!id.ok()) {
      respond(error_response(id.error()));
      return;
    }
    const procedure::Request* r = desk.book().find(id.value());
    if (r == nullptr) {
      respond(error_response(make_error(Errc::kInternal, "the request was stored as entry " +
                                                             entry_id_text(id.value()) +
                                                             " but is not in the projection")));
      return;
    }
    respond(
        json_response(201, {{"id", entry_id_text(r->id)}, {"request", request_json(desk, *r)}}));
  });
}

void ProcedureApi::step(LineDesk& desk, const std::string& id_text, const std::string& step_name,
                        const std::string& body, ControlResponder respond) {
  auto step = procedure::parse_step(step_name);
  if (!step) {
    respond(error_response(make_error(
        Errc::kNotFound, "no step '" + step_name +
                             "': use ack, accept, decline, counter, refer, withdraw, schedule, "
                             "begin or conclude")));
    return;
  }
  auto parsed = [&]() -> Result<std::tuple<EntryRef, StepInput, Actor>> {
    HOTLINE_ASSIGN(EntryRef id, procedure::parse_entry_id(id_text, desk.local(), desk.peer()));
    HOTLINE_ASSIGN(Fields f, Fields::parse(body));
    HOTLINE_ASSIGN(std::string as, f.text("as", true));
    HOTLINE_ASSIGN(Actor actor, actor_for(store_, as, action_for(*step)));
    const Micros now = desk.now();
    StepInput in;
    HOTLINE_ASSIGN(in.reason, f.text("reason", *step == Step::kDecline));
    HOTLINE_ASSIGN(in.to, f.text("to", *step == Step::kRefer));
    HOTLINE_ASSIGN(in.summary, f.text("summary", false));
    HOTLINE_ASSIGN(in.window, f.window("window", now));
    if (*step == Step::kSchedule && !in.window) {
      return field_error("window", "is required to schedule");
    }
    if (*step == Step::kCounter) {
      const procedure::Request* r = desk.book().find(id);
      if (r == nullptr) {
        return make_error(Errc::kNotFound,
                          "no request " + id_text + " on line " + desk.config().name);
      }
      procedure::Proposal p = r->proposal;
      HOTLINE_ASSIGN(p.kind, f.kind(std::string(procedure::request_kind_name(p.kind))));
      if (f.has("topic")) {
        HOTLINE_ASSIGN(p.topic, f.text("topic", true));
      }
      if (f.has("officials")) {
        HOTLINE_ASSIGN(p.officials, f.text("officials", false));
      }
      if (f.has("level")) {
        HOTLINE_ASSIGN(p.level, f.text("level", false));
      }
      if (f.has("windows")) {
        HOTLINE_ASSIGN(p.windows, f.windows("windows", now));
      } else if (in.window) {
        p.windows = {*in.window};
      }
      in.counter = p;
      HOTLINE_ASSIGN(in.respond_within, f.duration("respond_within"));
    }
    return std::make_tuple(id, std::move(in), std::move(actor));
  }();
  if (!parsed.ok()) {
    respond(error_response(parsed.error()));
    return;
  }
  auto& [id, input, actor] = parsed.value();
  desk.take_step(id, *step, input, actor, [&desk, id = id, respond](Result<StepOutcome> outcome) {
    if (!outcome.ok()) {
      respond(error_response(outcome.error()));
      return;
    }
    if (outcome->draft) {
      respond(json_response(202, {{"draft", draft_json(*outcome->draft)}}));
      return;
    }
    const procedure::Request* r = desk.book().find(id);
    json answer = {{"entry", entry_id_text(*outcome->entry)}};
    if (r != nullptr) {
      answer["request"] = request_json(desk, *r);
    }
    respond(json_response(201, answer));
  });
}

void ProcedureApi::clock(const ControlRequest& request, ControlResponder& respond) {
  const Micros offset = test_clock_ != nullptr ? test_clock_->offset() : 0;
  if (request.method == "GET") {
    SystemClock system;
    respond(json_response(200, {{"now", format_utc(system.now() + offset)},
                                {"test_clock", test_clock_ != nullptr},
                                {"offset_s", offset / kMicrosPerSecond}}));
    return;
  }
  if (test_clock_ == nullptr) {
    respond(error_response(
        make_error(Errc::kNotFound,
                   "the station's clock is real; only `hotline serve --test-clock` lets "
                   "a test advance it")));
    return;
  }
  // {"advance": "90m"} or {"set": "2027-01-15T08:00Z"}; the test clock only moves forward, so
  // that no chain's author times are pushed backwards and no deadline passes twice.
  auto by = [&]() -> Result<Micros> {
    HOTLINE_ASSIGN(Fields fields, Fields::parse(request.body));
    if (fields.has("set")) {
      HOTLINE_ASSIGN(std::string text, fields.text("set", true));
      auto to = parse_utc(text);
      if (!to.ok()) {
        return field_error("set", to.error().message);
      }
      const Micros now = test_clock_->now();
      if (to.value() < now) {
        return make_error(Errc::kInvalidArgument,
                          "the test clock only moves forward; it reads " + format_utc(now));
      }
      return to.value() - now;
    }
    HOTLINE_ASSIGN(std::optional<Micros> advance, fields.duration("advance"));
    if (!advance) {
      return field_error("advance", "or 'set' is required, e.g. {\"advance\": \"90m\"}");
    }
    return *advance;
  }();
  if (!by.ok()) {
    respond(error_response(by.error()));
    return;
  }
  test_clock_->advance(by.value());
  clock_moved_(test_clock_->offset());
  respond(json_response(200, {{"now", format_utc(test_clock_->now())},
                              {"test_clock", true},
                              {"offset_s", test_clock_->offset() / kMicrosPerSecond}}));
}

}  // namespace hotline::station
