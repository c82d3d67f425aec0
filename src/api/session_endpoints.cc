// The endpoints the API server answers itself: logging in and out, the second factor, users, the
// audit trail, and operations (/healthz, /metrics, the console's files). See api_dispatcher.h.

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <filesystem>

#include "api/api_dispatcher.h"
#include "api/totp.h"
#include "core/bytes.h"
#include "core/file_io.h"
#include "crypto/password.h"
#include "procedure/users.h"

namespace hotline::api {

using nlohmann::json;

namespace {

constexpr const char* kCookieName = "hotline_session";
// A name that does not exist is checked against this hash of a random password, so that a login
// takes as long whether the name exists or not and timing does not tell which names do. Made on
// first use, on the worker thread.
const std::string& no_such_user_hash() {
  static const std::string hash = [] {
    unsigned char random[24];
    randombytes_buf(random, sizeof(random));
    auto made = crypto::hash_password(crypto::Passphrase(to_hex(ByteView(random, sizeof(random)))));
    return made.ok() ? made.value() : std::string();
  }();
  return hash;
}

std::string html_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

HttpReply json_body(int status, const json& body) { return json_reply(status, body.dump() + "\n"); }

// The field `key` of `body` as a non-empty string of at most `max` bytes, or why not.
std::optional<std::string> string_field(const json& body, const std::string& key, std::size_t max,
                                        std::string& error) {
  if (!body.contains(key)) {
    error = "field '" + key + "' is missing";
    return std::nullopt;
  }
  if (!body[key].is_string() || body[key].get<std::string>().empty()) {
    error = "field '" + key + "' must be a non-empty string";
    return std::nullopt;
  }
  std::string value = body[key].get<std::string>();
  if (value.size() > max) {
    error = "field '" + key + "' is longer than " + std::to_string(max) + " bytes";
    return std::nullopt;
  }
  return value;
}

std::string session_cookie(const std::string& value, Micros max_age) {
  return std::string(kCookieName) + "=" + value + "; Path=/; HttpOnly; Secure; SameSite=Strict" +
         "; Max-Age=" + std::to_string(max_age / 1'000'000);
}

// The query parameter `key` as a number, or `fallback`; nullopt if present but not a number.
std::optional<std::uint64_t> query_number(const std::string& query, const std::string& key,
                                          std::uint64_t fallback) {
  std::size_t at = 0;
  while (at <= query.size()) {
    std::size_t end = query.find('&', at);
    if (end == std::string::npos) {
      end = query.size();
    }
    std::string_view pair(query.data() + at, end - at);
    if (pair.starts_with(key + "=")) {
      std::string_view text = pair.substr(key.size() + 1);
      std::uint64_t value = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return std::nullopt;
      }
      return value;
    }
    at = end + 1;
  }
  return fallback;
}

}  // namespace

void ApiDispatcher::login(const HttpCall& call, Reply reply) {
  json body = json::parse(call.body, nullptr, false);
  if (!body.is_object()) {
    reply(error_reply(400, "the body must be a JSON object {\"user\", \"password\"}"));
    return;
  }
  std::string error;
  auto name = string_field(body, "user", procedure::kMaxUserNameLength, error);
  auto password = name ? string_field(body, "password", 1024, error) : std::nullopt;
  std::string code;
  if (name && password && body.contains("code")) {
    if (!body["code"].is_string()) {
      error = "field 'code' must be a string of 6 digits";
    } else {
      code = body["code"].get<std::string>();
    }
  }
  if (!name || !password || !error.empty()) {
    reply(error_reply(400, error));
    return;
  }
  if (auto wait = guard_.refused_for(*name, call.from.substr(0, call.from.rfind(':')))) {
    const std::int64_t seconds = (*wait + 999'999) / 1'000'000;
    context_.metrics.login("rate-limited");
    HttpReply refused = error_reply(429, "too many failed logins for '" + *name +
                                             "' or from this address: try again in " +
                                             std::to_string(seconds) + " s");
    refused.headers.emplace_back("Retry-After", std::to_string(seconds));
    audit(call, *name, "", "login-refused", std::move(refused), std::move(reply));
    return;
  }
  std::optional<store::UserRecord> user;
  if (auto found = context_.store.user(*name); found.ok()) {
    user = std::move(found).value();
  }
  const std::string hash = user ? user->password_hash : "";
  auto right = std::make_shared<bool>(false);
  context_.offload(
      [hash, password = *password, right] {
        const bool checked =
            crypto::verify_password(hash.empty() ? no_such_user_hash() : hash, password);
        *right = checked && !hash.empty();
      },
      [this, call, name = *name, user, right, code, reply = std::move(reply)] {
        finish_login(call, name, user, *right, code, reply);
      });
}

void ApiDispatcher::finish_login(const HttpCall& call, const std::string& name,
                                 const std::optional<store::UserRecord>& user, bool password_right,
                                 const std::string& code, Reply reply) {
  const std::string address = call.from.substr(0, call.from.rfind(':'));
  // Counts the failure (unless `counts` is false), and answers once it is on the audit trail.
  auto refuse = [&](int status, const std::string& outcome, const std::string& message, bool counts,
                    std::function<void(HttpReply&)> amend = nullptr) {
    if (counts) {
      guard_.failed(name, address);
    }
    context_.metrics.login(outcome);
    HttpReply refused = error_reply(status, message);
    if (amend) {
      amend(refused);
    }
    audit(call, name, user ? user->role : "", "login-failed", std::move(refused), reply);
  };
  if (!user || !password_right) {
    refuse(401, "wrong-password", "wrong user name or password", true);
    return;
  }
  if (user->disabled) {
    refuse(401, "disabled", "user '" + name + "' is disabled", true);
    return;
  }
  if (user->totp_secret) {
    if (code.empty()) {
      refuse(401, "code-required",
             "user '" + name +
                 "' must also give the 6-digit code of their authenticator (field "
                 "'code')",
             false, [](HttpReply& needed) {
               json body = json::parse(needed.body);
               body["totp_required"] = true;
               needed.body = body.dump() + "\n";
             });
      return;
    }
    auto step = check_totp(*user->totp_secret, code, context_.clock.now(), user->totp_last_step);
    auto used = step.ok() && step.value() ? context_.store.use_totp_step(name, **step)
                                          : Result<bool>(false);
    if (!used.ok() || !used.value()) {
      refuse(401, "wrong-code", "wrong or already used authenticator code", true);
      return;
    }
  }
  guard_.succeeded(name);
  context_.metrics.login("success");
  const std::string session = sessions_.create(name, call.from);
  HttpReply done = session_info(Caller{session, name, procedure::parse_role(user->role).value(),
                                       user->totp_secret.has_value()},
                                session);
  done.headers.emplace_back("Set-Cookie", session_cookie(session, settings_.sessions.max_age));
  spdlog::info("api: '{}' logged in from {}", name, call.from);
  audit(call, name, user->role, "login", std::move(done), std::move(reply));
}

HttpReply ApiDispatcher::session_info(const Caller& caller, const std::string& session_id) {
  const Session* session = sessions_.peek(session_id);
  if (session == nullptr) {
    return error_reply(401, "the session has ended: log in again");
  }
  json permitted = json::array();
  for (procedure::Action action :
       {procedure::Action::kSendRequest, procedure::Action::kAcknowledge,
        procedure::Action::kDecide, procedure::Action::kConfirmDecision,
        procedure::Action::kWithdraw, procedure::Action::kScheduleSession,
        procedure::Action::kConcludeSession, procedure::Action::kSendImmediate,
        procedure::Action::kAttachTranslation, procedure::Action::kReadRecord,
        procedure::Action::kReadReports, procedure::Action::kManageUsers,
        procedure::Action::kManageLines, procedure::Action::kReadAudit}) {
    if (procedure::permits(caller.role, action)) {
      permitted.push_back(std::string(procedure::action_name(action)));
    }
  }
  return json_body(200,
                   {{"user", caller.user},
                    {"role", std::string(procedure::role_name(caller.role))},
                    {"actions", permitted},
                    {"csrf_token", session->csrf_token},
                    {"totp_enrolled", caller.totp_enrolled},
                    {"station", settings_.station_name},
                    {"idle_timeout_s", settings_.sessions.idle / 1'000'000},
                    {"expires_at", format_utc(session->created_at + settings_.sessions.max_age)}});
}

HttpReply ApiDispatcher::logout(const Caller& caller, const std::string& session_id) {
  sessions_.end(session_id);
  pending_totp_.erase(caller.user);
  HttpReply done = json_body(200, {{"logged_out", caller.user}});
  done.headers.emplace_back("Set-Cookie", session_cookie("", 0));
  return done;
}

HttpReply ApiDispatcher::begin_totp(const Caller& caller, const std::string&) {
  if (caller.totp_enrolled) {
    return error_reply(409, "user '" + caller.user +
                                "' already has an authenticator; an "
                                "administrator can reset it");
  }
  std::string secret = new_totp_secret();
  const std::string uri = totp_uri("Hotline " + settings_.station_name, caller.user, secret);
  auto svg = qr_svg(uri);
  if (!svg.ok()) {
    return error_reply(500, svg.error().message);
  }
  pending_totp_[caller.user] = secret;
  return json_body(200, {{"secret", secret}, {"uri", uri}, {"qr_svg", svg.value()}});
}

HttpReply ApiDispatcher::confirm_totp(const Caller& caller, const std::string&, const json& body) {
  auto pending = pending_totp_.find(caller.user);
  if (pending == pending_totp_.end()) {
    return error_reply(409, "no enrolment in progress: POST /api/v1/session/totp first");
  }
  std::string error;
  auto code = string_field(body, "code", 16, error);
  if (!code) {
    return error_reply(400, error);
  }
  auto step = check_totp(pending->second, *code, context_.clock.now(), std::nullopt);
  if (!step.ok() || !step.value()) {
    return error_reply(400, "field 'code' is not the authenticator's current code");
  }
  auto saved = context_.store.set_user_totp(caller.user, pending->second);
  auto used = saved.ok() ? context_.store.use_totp_step(caller.user, **step) : Result<bool>(false);
  if (!saved.ok() || !used.ok()) {
    return error_reply(500, saved.ok() ? used.error().message : saved.error().message);
  }
  pending_totp_.erase(pending);
  return json_body(200, {{"totp_enrolled", true}});
}

HttpReply ApiDispatcher::list_users() {
  auto users = context_.store.users();
  if (!users.ok()) {
    return error_reply(500, users.error().message);
  }
  json list = json::array();
  for (const store::UserRecord& user : users.value()) {
    list.push_back({{"name", user.name},
                    {"role", user.role},
                    {"disabled", user.disabled},
                    {"totp_enrolled", user.totp_secret.has_value()},
                    {"created_at", format_utc(user.created_at)}});
  }
  return json_body(200, {{"users", list}});
}

void ApiDispatcher::add_user(const json& body, Reply reply) {
  std::string error;
  auto name = string_field(body, "name", procedure::kMaxUserNameLength, error);
  auto role_text = name ? string_field(body, "role", 32, error) : std::nullopt;
  auto password = role_text ? string_field(body, "password", 1024, error) : std::nullopt;
  if (!password) {
    reply(error_reply(400, error));
    return;
  }
  auto role = procedure::parse_role(*role_text);
  if (!role.ok()) {
    reply(error_reply(400, "field 'role': " + role.error().message));
    return;
  }
  if (auto valid = procedure::check_user_name(*name); !valid.ok()) {
    reply(error_reply(400, "field 'name': " + valid.error().message));
    return;
  }
  auto made = std::make_shared<std::optional<Result<store::UserRecord>>>();
  context_.offload(
      [made, name = *name, role = role.value(), password = *password] {
        made->emplace(procedure::new_user(name, role, crypto::Passphrase(password)));
      },
      [this, made, reply = std::move(reply)] {
        const Result<store::UserRecord>& user = **made;
        if (!user.ok()) {
          const bool bad_input = user.error().code == Errc::kInvalidArgument;
          reply(error_reply(bad_input ? 400 : 500,
                            (bad_input ? "field 'password': " : "") + user.error().message));
          return;
        }
        auto added = context_.store.add_user(user.value());
        if (!added.ok()) {
          reply(error_reply(added.error().code == Errc::kConflict ? 409 : 500,
                            added.error().message));
          return;
        }
        reply(json_body(201, {{"name", user->name}, {"role", user->role}}));
      });
}

HttpReply ApiDispatcher::disable_user(const std::string& name) {
  auto disabled = context_.store.disable_user(name);
  if (!disabled.ok()) {
    // The store names its file; the API's caller needs only the user.
    return disabled.error().code == Errc::kNotFound
               ? error_reply(404, "no user named '" + name + "'")
               : error_reply(500, disabled.error().message);
  }
  sessions_.end_user(name);
  return json_body(200, {{"name", name}, {"disabled", true}});
}

HttpReply ApiDispatcher::reset_totp(const std::string& name) {
  auto reset = context_.store.set_user_totp(name, std::nullopt);
  if (!reset.ok()) {
    return reset.error().code == Errc::kNotFound ? error_reply(404, "no user named '" + name + "'")
                                                 : error_reply(500, reset.error().message);
  }
  return json_body(200, {{"name", name}, {"totp_enrolled", false}});
}

void ApiDispatcher::list_audit(const std::string& query, Reply reply) {
  auto after = query_number(query, "after", 0);
  auto limit = query_number(query, "limit", 100);
  if (!after || !limit || *limit == 0 || *limit > 1000) {
    reply(error_reply(400, !after ? "query 'after' must be an audit row id"
                                  : "query 'limit' must be a number from 1 to 1000"));
    return;
  }
  // The store calls back on its writer thread: only the io thread touches the dispatcher.
  context_.store.after_writes([this, post = context_.post, after = *after, limit = *limit,
                               reply = std::move(reply)](Result<void> written) {
    post([this, after, limit, reply, written] {
      if (!written.ok()) {
        reply(error_reply(500, written.error().message));
        return;
      }
      reply(audit_page(after, limit));
    });
  });
}

HttpReply ApiDispatcher::audit_page(std::uint64_t after, std::uint64_t limit) {
  auto rows = context_.store.audit(after, limit);
  if (!rows.ok()) {
    return error_reply(500, rows.error().message);
  }
  json list = json::array();
  for (const store::AuditRow& row : rows.value()) {
    list.push_back({{"id", row.id},
                    {"at", format_utc(row.at)},
                    {"at_us", row.at},
                    {"user", row.user},
                    {"role", row.role},
                    {"source", row.source},
                    {"action", row.action},
                    {"outcome", row.outcome},
                    {"detail", row.detail}});
  }
  return json_body(200, {{"audit", list}});
}

HttpReply ApiDispatcher::healthz() {
  Health health = context_.health();
  json body = health.details;
  body["status"] = health.ready ? "ready" : "not ready";
  return json_body(health.ready ? 200 : 503, body);
}

HttpReply ApiDispatcher::metrics_page(const HttpCall& call) {
  // Counts only, no content; still, a ministry's figures are not for any network neighbour.
  if (!call.from_loopback) {
    Caller caller;
    if (check_session(call, caller) ||
        !procedure::permits(caller.role, procedure::Action::kReadAudit)) {
      return error_reply(403,
                         "/metrics is served to this host's own scrapers, or to an auditor "
                         "or administrator who is logged in");
    }
  }
  return HttpReply{200, context_.metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8", {}};
}

HttpReply ApiDispatcher::console_file(const std::string& path) {
  namespace fs = std::filesystem;
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".woff2", "font/woff2"},
      {".ico", "image/x-icon"}};
  const std::string relative = path == "/" ? "index.html" : path.substr(1);
  const bool plain = relative.find("..") == std::string::npos &&
                     relative.find_first_of("\\%\0", 0, 3) == std::string::npos;
  if (!settings_.console_dir.empty() && plain) {
    const fs::path file = fs::path(settings_.console_dir) / relative;
    auto type = kTypes.find(file.extension().string());
    auto bytes = type != kTypes.end() ? read_whole_file(file.string(), 16 << 20)
                                      : Result<Bytes>(make_error(Errc::kNotFound, ""));
    if (bytes.ok()) {
      return HttpReply{200, std::string(bytes->begin(), bytes->end()), type->second, {}};
    }
  }
  if (path == "/") {
    return HttpReply{200,
                     "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Hotline " +
                         html_escaped(settings_.station_name) + "</title><h1>Hotline station " +
                         html_escaped(settings_.station_name) +
                         "</h1><p>The console is not installed here. The API is at /api/v1 "
                         "(docs/api.yaml).</p></html>\n",
                     "text/html; charset=utf-8",
                     {}};
  }
  return error_reply(404, "no such page: " + path);
}

}  // namespace hotline::api
