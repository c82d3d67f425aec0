#include "station/station_api.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "api/api_certificate.h"
#include "api/call_audit.h"
#include "core/precedence.h"

namespace hotline::station {

namespace asio = link::asio;
using nlohmann::json;

namespace {

// Events kept for consoles resuming after a lost connection: at a few events per entry, minutes
// of a busy line, days of a quiet one.
constexpr std::size_t kEventsKept = 50'000;
constexpr std::chrono::seconds kLinePoll{1};

// The console's built files: the configured directory, else web/dist beside the binary's source
// tree or the installed share directory.
std::string console_dir(const StationConfig& config, const StationPaths& paths) {
  if (!config.console_dir.empty()) {
    return paths.resolve(config.console_dir);
  }
  for (const char* candidate : {"/usr/share/hotline/console", "/usr/local/share/hotline/console"}) {
    if (std::filesystem::exists(std::string(candidate) + "/index.html")) {
      return candidate;
    }
  }
  return "";
}

json health_of(const line::LineStatus& s) {
  return {{"state", s.state},
          {"route", s.route ? json(*s.route) : json()},
          {"round_trip_us", s.round_trip ? json(s.round_trip->count()) : json()}};
}

}  // namespace

StationApi::StationApi(StationApiParts parts)
    : parts_(std::move(parts)), events_(parts_.clock, kEventsKept), poll_timer_(parts_.io) {}

StationApi::~StationApi() {
  stop();
  workers_.join();
}

Result<void> StationApi::start() {
  const StationConfig& config = parts_.config;
  api::ApiSettings settings;
  settings.station_name = config.name;
  settings.tls = config.api_tls;
  settings.sessions.idle = config.session_idle;
  settings.sessions.max_age = config.session_max_age;
  settings.console_dir = console_dir(config, parts_.paths);
  settings_console_ = settings.console_dir;
  api::ApiContext context{
      parts_.clock,
      parts_.store,
      events_,
      metrics_,
      [this] { return health(); },
      [this](const api::StationCall& call, api::Reply reply) {
        parts_.handle(ControlRequest{call.method, call.target, call.body},
                      [reply](ControlResponse response) {
                        reply(api::HttpReply{
                            response.status, std::move(response.body), response.content_type, {}});
                      });
      },
      [this](std::function<void()> work, std::function<void()> then) {
        asio::post(workers_, [this, work = std::move(work), then = std::move(then)]() mutable {
          work();
          asio::post(parts_.io, std::move(then));
        });
      },
      [&io = parts_.io](std::function<void()> fn) { asio::post(io, std::move(fn)); }};
  dispatcher_ = std::make_unique<api::ApiDispatcher>(std::move(settings), std::move(context));
  metrics_.set_station_collector([this] { return line_metrics(); });
  api::ApiListen listen{config.api.host, config.api.port, config.api_tls,
                        parts_.paths.resolve(config.api_certificate),
                        parts_.paths.resolve(config.api_key)};
  HOTLINE_TRY(ensure_certificate(listen));
  auto server = api::ApiServer::start(parts_.io, listen, *dispatcher_);
  if (!server.ok()) {
    return server.error();
  }
  server_ = std::move(server).value();
  spdlog::info("api: serving {}://{}{}", config.api_tls ? "https" : "http", config.api.text(),
               settings_console_.empty() ? " (the console is not installed)" : "");
  poll_lines();
  return success();
}

// A station made before the API existed has no certificate for it: it gets one, as init makes it,
// at its first start with TLS. Only where hotline.toml names the default files, so that an
// operator's own certificate that went missing is an error, not silently replaced.
Result<void> StationApi::ensure_certificate(const api::ApiListen& listen) {
  const StationConfig& config = parts_.config;
  const StationConfig defaults;
  if (!listen.tls || config.api_certificate != defaults.api_certificate ||
      config.api_key != defaults.api_key || std::filesystem::exists(listen.certificate_path) ||
      std::filesystem::exists(listen.key_path)) {
    return success();
  }
  HOTLINE_ASSIGN(std::string fingerprint,
                 api::make_api_certificate(listen.certificate_path, listen.key_path, config.name,
                                           config.api.host));
  spdlog::warn("api: made a certificate for the API ({}), SHA-256 fingerprint {}",
               listen.certificate_path, fingerprint);
  return success();
}

void StationApi::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  poll_timer_.cancel();
  if (server_) {
    server_->stop();
  }
}

ControlResponder StationApi::audit_local_action(const std::string& user, const std::string& action,
                                                ControlResponder respond) {
  std::string role = "owner";
  if (!user.empty()) {
    auto found = parts_.store.user(user);
    role = found.ok() ? found->role : "";
  }
  auto audit = api::CallAudit::begin(
      parts_.store, [&io = parts_.io](std::function<void()> f) { asio::post(io, std::move(f)); },
      store::AuditRow{0, parts_.clock.now(), user.empty() ? "(owner)" : user, role,
                      "control socket", action, 0, ""});
  return api::CallAudit::answer_through<ControlResponse>(std::move(audit), std::move(respond));
}

api::Health StationApi::health() const {
  // The store answers a read: it is open and its file is readable.
  const bool store_open = parts_.store.lines().ok();
  const bool lines_configured = !parts_.config.lines.empty();
  json lines = json::array();
  for (const line::LineStatus& s : parts_.lines()) {
    json line = health_of(s);
    line["name"] = s.name;
    lines.push_back(line);
  }
  return {store_open && lines_configured,
          {{"station", parts_.config.name},
           {"store", store_open ? "open" : "unreadable"},
           {"lines_configured", parts_.config.lines.size()},
           {"lines", lines},
           {"clock", format_utc(parts_.clock.now())},
           {"test_clock", parts_.test_clock}}};
}

void StationApi::poll_lines() {
  if (stopped_) {
    return;
  }
  for (const line::LineStatus& s : parts_.lines()) {
    json health = health_of(s);
    if (s.round_trip) {
      metrics_.round_trip(s.name, static_cast<double>(s.round_trip->count()) / 1e6);
    }
    // Alarms (equivocation, divergence) and rejected frames are counted by the link; a rise is
    // an event for the console, with the totals so far.
    std::uint64_t rejected = 0;
    for (const auto& [kind, count] : s.counters.rejected) {
      rejected += count;
    }
    auto& [alarms_seen, rejected_seen] = line_alarms_[s.name];
    if (s.counters.alarms > alarms_seen) {
      events_.publish("alarm", {{"line", s.name}, {"alarms", s.counters.alarms}}, std::nullopt);
    }
    if (rejected > rejected_seen) {
      events_.publish("security",
                      {{"line", s.name}, {"rejected", rejected}, {"by_kind", s.counters.rejected}},
                      std::nullopt);
    }
    alarms_seen = s.counters.alarms;
    rejected_seen = rejected;
    json& last = line_health_[s.name];
    // The round trip changes at every heartbeat; the event is for a change of state or route.
    if (last.is_null() || last["state"] != health["state"] || last["route"] != health["route"]) {
      json data = health;
      data["line"] = s.name;
      events_.publish("line", data, std::nullopt);
    }
    last = health;
  }
  poll_timer_.expires_after(kLinePoll);
  poll_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      poll_lines();
    }
  });
}

std::vector<prometheus::MetricFamily> StationApi::line_metrics() const {
  using api::Sample;
  std::vector<Sample> sent, received, receipts_sent, receipts_received, rejected, alarms, up,
      route_active, queued, resent, duplicates;
  for (const line::LineStatus& s : parts_.lines()) {
    const std::map<std::string, std::string> line{{"line", s.name}};
    const line::LineCounters& c = s.counters;
    sent.push_back({line, static_cast<double>(c.entries_sent)});
    resent.push_back({line, static_cast<double>(c.entries_resent)});
    received.push_back({line, static_cast<double>(c.entries_received)});
    duplicates.push_back({line, static_cast<double>(c.duplicates_dropped)});
    receipts_sent.push_back({line, static_cast<double>(c.receipts_sent)});
    receipts_received.push_back({line, static_cast<double>(c.receipts_received)});
    for (const auto& [kind, count] : c.rejected) {
      rejected.push_back({{{"line", s.name}, {"kind", kind}}, static_cast<double>(count)});
    }
    alarms.push_back({line, static_cast<double>(c.alarms)});
    up.push_back({line, s.state == "down" ? 0.0 : 1.0});
    for (const line::RouteStatus& r : s.routes) {
      route_active.push_back(
          {{{"line", s.name}, {"route", r.route}}, s.route == r.route ? 1.0 : 0.0});
    }
    for (std::size_t p = 0; p < s.outbox.size(); ++p) {
      queued.push_back({{{"line", s.name},
                         {"precedence", std::string(precedence_name(static_cast<Precedence>(p)))}},
                        static_cast<double>(s.outbox[p])});
    }
  }
  const auto [refused, failed] = parts_.handshakes();
  return {
      api::counter_family("hotline_entries_sent_total", "Own entries sent to the peer", sent),
      api::counter_family("hotline_entries_resent_total", "Own entries sent again", resent),
      api::counter_family("hotline_entries_received_total", "Peer entries stored", received),
      api::counter_family("hotline_duplicates_dropped_total", "Peer entries already held",
                          duplicates),
      api::counter_family("hotline_receipts_sent_total", "Receipts sent to the peer",
                          receipts_sent),
      api::counter_family("hotline_receipts_received_total", "Peer receipts stored",
                          receipts_received),
      api::counter_family("hotline_frames_rejected_total",
                          "Security events: malformed, badly signed or replayed frames", rejected),
      api::counter_family("hotline_alarms_total", "Equivocation and divergence alarms", alarms),
      api::counter_family("hotline_handshakes_refused_total",
                          "Security events: link handshakes with a key not pinned, or none",
                          {{{}, static_cast<double>(refused)}}),
      api::counter_family("hotline_handshakes_failed_total", "Link handshakes that failed",
                          {{{}, static_cast<double>(failed)}}),
      api::gauge_family("hotline_line_up", "1 while the line's link is open", up),
      api::gauge_family("hotline_route_active", "1 for the route carrying the line", route_active),
      api::gauge_family("hotline_outbox_depth", "Entries waiting to be sent, by precedence",
                        queued),
  };
}

}  // namespace hotline::station
