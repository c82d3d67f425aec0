// api/api_dispatcher.h — everything between reading an HTTP request and writing its reply: who
// the caller is, whether they may, and which endpoint answers (design.md §6).
//
// For every request, in this order: the route (routes.h; 404, or 405 naming the allowed methods);
// for all but public routes the session cookie (401 if none, expired, or its user disabled since);
// for state-changing calls the Origin (403 if another site's) and the CSRF token (403 if missing
// or wrong); the role against the route's action (403 naming both); a JSON body where one is read
// (415 for another content type, 400 for malformed JSON or a field that is wrong, naming it).
// Only then does the endpoint run: here for sessions, users, the audit trail and operations, or
// the station behind (StationBackend) for the procedure and the lines. Every state-changing call
// and every login attempt is written to the audit trail before the reply goes out: a refused call
// and a login with their outcome, a call that acts before it acts, its outcome after
// (call_audit.h).
//
// Runs on the station's io thread. Password hashing (0.1 s each) runs on another thread through
// `offload`, so that a login never stalls the lines.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "api/event_hub.h"
#include "api/http_types.h"
#include "api/login_guard.h"
#include "api/metrics.h"
#include "api/routes.h"
#include "api/session_table.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/record_store.h"

namespace hotline::api {

// Ready: the store is open and lines are configured; `details` is what /healthz shows.
struct Health {
  bool ready = false;
  nlohmann::json details;
};

// Runs `work` on a worker thread, then `then` on the io thread.
using Offload = std::function<void(std::function<void()> work, std::function<void()> then)>;

struct ApiSettings {
  std::string station_name;
  bool tls = true;  // sessions cookies are Secure either way (loopback HTTP counts as secure)
  SessionLimits sessions;
  LoginLimits logins;
  std::string console_dir;  // the console's built files; "" or missing: a placeholder page
};

struct ApiContext {
  const Clock& clock;
  store::RecordStore& store;
  EventHub& events;
  Metrics& metrics;
  std::function<Health()> health;
  StationBackend station;
  Offload offload;
  // Runs `fn` on the io thread (from the store's writer thread).
  std::function<void(std::function<void()>)> post;
};

// Who a WebSocket stream serves: checked at the upgrade, and again for every event it sends.
struct Subscriber {
  std::string session;  // the cookie, to find out whether the session is still alive
  std::string user;
  procedure::Role role = procedure::Role::kOperator;
};

class ApiDispatcher {
 public:
  ApiDispatcher(ApiSettings settings, ApiContext context);

  // Answers `call` by calling `reply` exactly once (maybe later, on the io thread).
  void handle(const HttpCall& call, Reply reply);

  // For GET /api/v1/events with a WebSocket upgrade: the subscriber, or the refusal to send.
  std::variant<Subscriber, HttpReply> open_events(const HttpCall& call);
  // Whether `subscriber`'s session is still alive (it is not renewed by the stream: an unattended
  // console is logged out when the session's idle time runs out).
  bool session_alive(const Subscriber& subscriber) const;
  // Whether `subscriber` may see `event` (its role permits what the event needs).
  static bool may_see(const Subscriber& subscriber, const Event& event);

  EventHub& events() { return context_.events; }
  Metrics& metrics() { return context_.metrics; }

 private:
  struct Caller {
    std::string session;  // the cookie value
    std::string user;
    procedure::Role role = procedure::Role::kOperator;
    bool totp_enrolled = false;
  };
  struct Checked {
    RouteMatch match;
    std::optional<Caller> caller;  // none for public routes
  };

  // The refusal, or nullopt with `checked` filled in.
  std::optional<HttpReply> check_access(const HttpCall& call, Checked& checked);
  std::optional<HttpReply> check_session(const HttpCall& call, Caller& caller);
  void dispatch(const HttpCall& call, const Checked& checked, Reply reply);
  // Writes the audit row of `answer`, then (once the row is durable, or failed and logged) sends
  // `answer` through `reply` on the io thread: the io thread never waits for the disk.
  void audit(const HttpCall& call, const std::string& user, const std::string& role,
             const std::string& action, HttpReply answer, Reply reply);

  // Endpoints answered here (session_endpoints.cc).
  void login(const HttpCall& call, Reply reply);
  void finish_login(const HttpCall& call, const std::string& name,
                    const std::optional<store::UserRecord>& user, bool password_right,
                    const std::string& code, Reply reply);
  HttpReply session_info(const Caller& caller, const std::string& session_id);
  HttpReply logout(const Caller& caller, const std::string& session_id);
  HttpReply begin_totp(const Caller& caller, const std::string& session_id);
  HttpReply confirm_totp(const Caller& caller, const std::string& session_id,
                         const nlohmann::json& body);
  HttpReply list_users();
  void add_user(const nlohmann::json& body, Reply reply);
  HttpReply disable_user(const std::string& name);
  HttpReply reset_totp(const std::string& name);
  // Answers once the outcomes of calls already answered are written (call_audit.h).
  void list_audit(const std::string& query, Reply reply);
  HttpReply audit_page(std::uint64_t after, std::uint64_t limit);
  HttpReply healthz();
  HttpReply metrics_page(const HttpCall& call);
  HttpReply console_file(const std::string& path);

  ApiSettings settings_;
  ApiContext context_;
  SessionTable sessions_;
  LoginGuard guard_;
  // TOTP secrets shown to a user but not yet confirmed with a code, by user.
  std::map<std::string, std::string> pending_totp_;
};

}  // namespace hotline::api
