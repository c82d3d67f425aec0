#include "api/routes.h"

#include <array>

namespace hotline::api {
namespace {

using enum procedure::Action;
constexpr Access kPublic = Access::kPublic;
constexpr Access kSession = Access::kSession;
constexpr Access kAction = Access::kAction;
constexpr Handler kServer = Handler::kServer;
constexpr Handler kStation = Handler::kStation;
constexpr bool kActs = true;
constexpr bool kReads = false;

// clang-format off
constexpr std::array kRoutes = {
    // Operations.
    Route{"GET",    "/healthz",                                        kPublic,  kReadRecord,        kReads, kServer},
    Route{"GET",    "/metrics",                                        kPublic,  kReadRecord,        kReads, kServer},
    // Sessions (session_endpoints.cc).
    Route{"POST",   "/api/v1/session",                                 kPublic,  kReadRecord,        kReads, kServer},
    Route{"GET",    "/api/v1/session",                                 kSession, kReadRecord,        kReads, kServer},
    Route{"DELETE", "/api/v1/session",                                 kSession, kReadRecord,        kReads, kServer},
    Route{"POST",   "/api/v1/session/totp",                            kSession, kReadRecord,        kReads, kServer},
    Route{"POST",   "/api/v1/session/totp/confirm",                    kSession, kReadRecord,        kReads, kServer},
    Route{"GET",    "/api/v1/events",                                  kSession, kReadRecord,        kReads, kServer},
    // Users and the audit trail.
    Route{"GET",    "/api/v1/users",                                   kAction,  kManageUsers,       kReads, kServer},
    Route{"POST",   "/api/v1/users",                                   kAction,  kManageUsers,       kActs,  kServer},
    Route{"POST",   "/api/v1/users/{name}/disable",                    kAction,  kManageUsers,       kActs,  kServer},
    Route{"POST",   "/api/v1/users/{name}/totp/reset",                 kAction,  kManageUsers,       kActs,  kServer},
    Route{"GET",    "/api/v1/audit",                                   kAction,  kReadAudit,         kReads, kServer},
    // The station and its lines (station/station_server.cc, station/procedure_api.cc).
    Route{"GET",    "/api/v1/lines",                                   kSession, kReadRecord,        kReads, kStation},
    Route{"GET",    "/api/v1/status",                                  kAction,  kReadRecord,        kReads, kStation},
    Route{"GET",    "/api/v1/lines/{line}/record",                     kAction,  kReadRecord,        kReads, kStation},
    Route{"GET",    "/api/v1/lines/{line}/requests",                   kAction,  kReadRecord,        kReads, kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests",                   kAction,  kSendRequest,       kActs,  kStation},
    Route{"GET",    "/api/v1/lines/{line}/requests/{id}",              kAction,  kReadRecord,        kReads, kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/ack",          kAction,  kAcknowledge,       kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/accept",       kAction,  kDecide,            kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/decline",      kAction,  kDecide,            kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/counter",      kAction,  kDecide,            kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/refer",        kAction,  kDecide,            kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/withdraw",     kAction,  kWithdraw,          kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/schedule",     kAction,  kScheduleSession,   kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/begin",        kAction,  kConcludeSession,   kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/requests/{id}/conclude",     kAction,  kConcludeSession,   kActs,  kStation},
    Route{"GET",    "/api/v1/lines/{line}/decisions",                  kAction,  kReadRecord,        kReads, kStation},
    Route{"POST",   "/api/v1/lines/{line}/decisions/{draft}/confirm",  kAction,  kConfirmDecision,   kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/decisions/{draft}/discard",  kAction,  kDecide,            kActs,  kStation},
    Route{"GET",    "/api/v1/lines/{line}/messages",                   kAction,  kReadRecord,        kReads, kStation},
    Route{"POST",   "/api/v1/lines/{line}/messages",                   kAction,  kSendImmediate,     kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/messages/{id}/ack",          kAction,  kAcknowledge,       kActs,  kStation},
    Route{"POST",   "/api/v1/lines/{line}/entries/{id}/translations",  kAction,  kAttachTranslation, kActs,  kStation},
    Route{"GET",    "/api/v1/lines/{line}/notices",                    kAction,  kReadRecord,        kReads, kStation},
    Route{"GET",    "/api/v1/lines/{line}/report",                     kAction,  kReadReports,       kReads, kStation},
};
// clang-format on

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      slash = path.size();
    }
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Whether `path` fits `pattern`, collecting the {…} segments (decoded) into `params`.
bool fits(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  const auto want = segments(pattern);
  const auto have = segments(path);
  if (want.size() != have.size()) {
    return false;
  }
  std::vector<std::string> found;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      auto decoded = percent_decode(have[i]);
      if (!decoded || decoded->empty()) {
        return false;
      }
      found.push_back(std::move(*decoded));
    } else if (want[i] != have[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

std::span<const Route> all_routes() { return kRoutes; }

RouteMatch match_route(std::string_view method, std::string_view path) {
  RouteMatch match;
  for (const Route& route : kRoutes) {
    std::vector<std::string> params;
    if (!fits(route.pattern, path, params)) {
      continue;
    }
    if (route.method == method) {
      match.route = &route;
      match.params = std::move(params);
      return match;
    }
    match.path_known = true;
  }
  return match;
}

bool changes_state(std::string_view method) { return method != "GET" && method != "HEAD"; }

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
      if (c == '\0' || c == '/') {
        return std::nullopt;
      }
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace hotline::api
