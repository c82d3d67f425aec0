#include "api/api_dispatcher.h"

#include <spdlog/spdlog.h>

#include "api/call_audit.h"
#include "core/duration.h"

namespace hotline::api {

using nlohmann::json;

HttpReply json_reply(int status, const std::string& json_text) {
  return HttpReply{status, json_text, "application/json", {}};
}

HttpReply error_reply(int status, const std::string& message) {
  json body = {{"error", message}};
  return json_reply(status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

namespace {

bool is_json(const std::string& content_type) {
  const std::string type = content_type.substr(0, content_type.find(';'));
  return type == "application/json";
}

// Whether a browser's Origin names this very server (scheme://host[:port] as the Host header has
// it): a page from another site must not act with the officer's cookie.
bool same_origin(const HttpCall& call) {
  if (call.origin.empty()) {
    return true;  // not a browser's cross-site request: those always carry Origin
  }
  return call.origin == "https://" + call.host || call.origin == "http://" + call.host;
}

}  // namespace

ApiDispatcher::ApiDispatcher(ApiSettings settings, ApiContext context)
    : settings_(std::move(settings)),
      context_(std::move(context)),
      sessions_(context_.clock, settings_.sessions),
      guard_(context_.clock, settings_.logins) {}

std::optional<HttpReply> ApiDispatcher::check_session(const HttpCall& call, Caller& caller) {
  Session* session = call.session.empty() ? nullptr : sessions_.use(call.session);
  if (session == nullptr) {
    return error_reply(401, call.session.empty()
                                ? "not logged in: POST /api/v1/session first"
                                : "the session has ended (logged out, idle too long, or the "
                                  "station restarted): log in again");
  }
  auto user = context_.store.user(session->user);
  if (!user.ok() || user->disabled) {
    sessions_.end_user(session->user);
    return error_reply(401, "user '" + session->user + "' may no longer log in");
  }
  auto role = procedure::parse_role(user->role);
  if (!role.ok()) {
    return error_reply(500, "user '" + user->name + "' has an unknown role in the database");
  }
  caller = Caller{call.session, user->name, role.value(), user->totp_secret.has_value()};
  if (changes_state(call.method)) {
    if (!same_origin(call)) {
      return error_reply(
          403, "refused: the request comes from another site (Origin " + call.origin + ")");
    }
    if (call.csrf_token.empty() || !tokens_equal(call.csrf_token, session->csrf_token)) {
      return error_reply(403, call.csrf_token.empty()
                                  ? "missing CSRF token: send the session's csrf_token in the "
                                    "X-CSRF-Token header"
                                  : "wrong CSRF token (X-CSRF-Token)");
    }
  }
  return std::nullopt;
}

std::optional<HttpReply> ApiDispatcher::check_access(const HttpCall& call, Checked& checked) {
  checked.match = match_route(call.method, call.path);
  const Route* route = checked.match.route;
  if (route == nullptr) {
    if (checked.match.path_known) {
      std::string allowed;
      for (const Route& r : all_routes()) {
        std::vector<std::string> ignored;
        if (match_route(r.method, call.path).route == &r) {
          allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
        }
      }
      HttpReply reply = error_reply(
          405, call.method + " is not allowed on " + call.path + "; allowed: " + allowed);
      reply.headers.emplace_back("Allow", allowed);
      return reply;
    }
    return error_reply(404, "no such endpoint: " + call.method + " " + call.path);
  }
  if (route->access != Access::kPublic) {
    Caller caller;
    auto refused = check_session(call, caller);
    if (!caller.user.empty()) {
      checked.caller = caller;  // known even when refused, for the audit trail
    }
    if (refused) {
      return refused;
    }
    if (route->access == Access::kAction) {
      auto permitted = procedure::check_permitted(caller.role, route->action);
      if (!permitted.ok()) {
        return error_reply(403, "user '" + caller.user + "': " + permitted.error().message);
      }
    }
  } else if (changes_state(call.method) && !same_origin(call)) {
    return error_reply(403,
                       "refused: the request comes from another site (Origin " + call.origin + ")");
  }
  if (changes_state(call.method) && !call.body.empty() && !is_json(call.content_type)) {
    return error_reply(415, "the body must be JSON (Content-Type: application/json)");
  }
  return std::nullopt;
}

void ApiDispatcher::handle(const HttpCall& call, Reply reply) {
  const std::int64_t started = monotonic_nanos();
  Reply answer = [this, started, reply = std::move(reply)](HttpReply r) {
    context_.metrics.request_answered(r.status, (monotonic_nanos() - started) / 1e9);
    reply(std::move(r));
  };
  Checked checked;
  if (auto refused = check_access(call, checked)) {
    if (refused->status == 404 && call.method == "GET" && !call.path.starts_with("/api/")) {
      answer(console_file(call.path));
      return;
    }
    if (changes_state(call.method)) {
      const bool known = checked.caller.has_value();
      audit(call, known ? checked.caller->user : "",
            known ? std::string(procedure::role_name(checked.caller->role)) : "",
            call.method + " " + call.path, std::move(*refused), std::move(answer));
      return;
    }
    answer(std::move(*refused));
    return;
  }
  const bool audited = changes_state(call.method) && checked.caller.has_value();
  if (audited) {
    const Caller& caller = *checked.caller;
    // Begun before the call acts, so that its row is durable by the time the call's own writes
    // are (call_audit.h).
    auto audit =
        CallAudit::begin(context_.store, context_.post,
                         store::AuditRow{0, context_.clock.now(), caller.user,
                                         std::string(procedure::role_name(caller.role)),
                                         "api " + call.from, call.method + " " + call.path, 0, ""});
    answer = CallAudit::answer_through<HttpReply>(std::move(audit), std::move(answer));
  }
  try {
    dispatch(call, checked, std::move(answer));
  } catch (const std::exception& e) {
    // dispatch answers before it can throw in every path that reads input; this is a bug guard.
    spdlog::error("api: {} {}: {}", call.method, call.path, e.what());
  }
}

void ApiDispatcher::dispatch(const HttpCall& call, const Checked& checked, Reply reply) {
  const Route& route = *checked.match.route;
  const std::vector<std::string>& params = checked.match.params;
  json body = json::object();
  if (changes_state(call.method) && !call.body.empty()) {
    body = json::parse(call.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      reply(error_reply(400, "the body must be a JSON object"));
      return;
    }
  }
  if (route.acts) {
    if (body.contains("as")) {
      reply(error_reply(400, "field 'as' is not accepted over the API: you act as yourself"));
      return;
    }
    body["as"] = checked.caller->user;
  }
  if (route.handler == Handler::kStation) {
    StationCall station{call.method, call.target.substr(std::string_view("/api").size()),
                        route.acts || !call.body.empty() ? body.dump() : "", checked.caller->user,
                        checked.caller->role};
    context_.station(station, std::move(reply));
    return;
  }
  const std::string_view pattern = route.pattern;
  const std::string& method = call.method;
  if (pattern == "/healthz") {
    reply(healthz());
  } else if (pattern == "/metrics") {
    reply(metrics_page(call));
  } else if (pattern == "/api/v1/session" && method == "POST") {
    login(call, std::move(reply));
  } else if (pattern == "/api/v1/session" && method == "GET") {
    reply(session_info(*checked.caller, call.session));
  } else if (pattern == "/api/v1/session") {
    reply(logout(*checked.caller, call.session));
  } else if (pattern == "/api/v1/session/totp") {
    reply(begin_totp(*checked.caller, call.session));
  } else if (pattern == "/api/v1/session/totp/confirm") {
    reply(confirm_totp(*checked.caller, call.session, body));
  } else if (pattern == "/api/v1/events") {
    reply(error_reply(400, "GET /api/v1/events is a WebSocket: send Upgrade: websocket"));
  } else if (pattern == "/api/v1/users" && method == "GET") {
    reply(list_users());
  } else if (pattern == "/api/v1/users") {
    add_user(body, std::move(reply));
  } else if (pattern == "/api/v1/users/{name}/disable") {
    reply(disable_user(params.at(0)));
  } else if (pattern == "/api/v1/users/{name}/totp/reset") {
    reply(reset_totp(params.at(0)));
  } else if (pattern == "/api/v1/audit") {
    list_audit(call.query, std::move(reply));
  } else {
    reply(error_reply(500, "internal error: no handler for " + std::string(pattern)));
  }
}

void ApiDispatcher::audit(const HttpCall& call, const std::string& user, const std::string& role,
                          const std::string& action, HttpReply answer, Reply reply) {
  store::AuditRow row{0,
                      context_.clock.now(),
                      user,
                      role,
                      "api " + call.from,
                      action,
                      answer.status,
                      audit_detail(answer.body)};
  auto held = std::make_shared<HttpReply>(std::move(answer));
  CallAudit::record(context_.store, context_.post, std::move(row),
                    [held, reply = std::move(reply)] { reply(std::move(*held)); });
}

std::variant<Subscriber, HttpReply> ApiDispatcher::open_events(const HttpCall& call) {
  Checked checked;
  if (auto refused = check_access(call, checked)) {
    return std::move(*refused);
  }
  if (checked.match.route->pattern != "/api/v1/events" || !checked.caller) {
    return error_reply(400, "only GET /api/v1/events is a WebSocket");
  }
  if (!same_origin(call)) {
    // A WebSocket is not covered by the same-origin policy: another site's page could open one
    // with the officer's cookie and read everything.
    return error_reply(
        403, "refused: the stream was opened from another site (Origin " + call.origin + ")");
  }
  return Subscriber{call.session, checked.caller->user, checked.caller->role};
}

bool ApiDispatcher::session_alive(const Subscriber& subscriber) const {
  return sessions_.peek(subscriber.session) != nullptr;
}

bool ApiDispatcher::may_see(const Subscriber& subscriber, const Event& event) {
  return !event.needs || procedure::permits(subscriber.role, *event.needs);
}

}  // namespace hotline::api
