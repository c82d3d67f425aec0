// station/station_api.h — the station's HTTP API on the network (design.md §6): the API server,
// its sessions and event stream (src/api/), wired to this station's handlers, lines and store.
//
// The API answers the procedure's and the lines' endpoints through the same handler as the control
// socket (station_server.cc), acting as the logged-in user; what the API owns (sessions, users,
// the audit trail, /healthz, /metrics) is answered in src/api/. The wiring also feeds the event
// stream with each line's health (polled every second: state, route, round trip), and /metrics
// with the lines' own counters at each scrape, and publishes "alarm" and "security" events when
// a line's alarms or rejected frames rise.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/api_dispatcher.h"
#include "api/api_server.h"
#include "api/event_hub.h"
#include "api/metrics.h"
#include "line/line_link.h"
#include "link/asio.h"
#include "station/config.h"
#include "station/control_socket.h"
#include "station/station_dir.h"

namespace hotline::station {

struct StationApiParts {
  link::asio::io_context& io;
  const Clock& clock;
  store::RecordStore& store;
  const StationConfig& config;
  StationPaths paths;
  bool test_clock = false;
  // The station's handler of control-socket requests (acting as the user named by "as").
  AsyncControlHandler handle;
  // Every line's status now.
  std::function<std::vector<line::LineStatus>()> lines;
  // Link handshakes refused (a key not pinned) and failed (anything else), since start.
  std::function<std::pair<std::uint64_t, std::uint64_t>()> handshakes;
};

class StationApi {
 public:
  // The event hub is usable (for the lines' desks) before start().
  explicit StationApi(StationApiParts parts);
  ~StationApi();

  api::EventHub& events() { return events_; }

  // Starts serving on the configured address; an error (naming the address or file) leaves
  // nothing running.
  [[nodiscard]] Result<void> start();
  void stop();

  // Writes a state-changing call on the control socket to the audit trail, before it acts
  // (`user` is the one the body named, "as"; empty: the station's owner; `action` its method and
  // path). Returns `respond` wrapped so that the answer records the outcome and goes out once the
  // row is durable (api/call_audit.h), without the io thread waiting for the disk.
  ControlResponder audit_local_action(const std::string& user, const std::string& action,
                                      ControlResponder respond);

 private:
  Result<void> ensure_certificate(const api::ApiListen& listen);
  api::Health health() const;
  std::vector<prometheus::MetricFamily> line_metrics() const;
  void poll_lines();

  StationApiParts parts_;
  api::EventHub events_;
  api::Metrics metrics_;
  link::asio::thread_pool workers_{1};  // password hashing, off the io thread
  std::unique_ptr<api::ApiDispatcher> dispatcher_;
  std::unique_ptr<api::ApiServer> server_;
  link::asio::steady_timer poll_timer_;
  std::map<std::string, nlohmann::json> line_health_;  // as last published, by line
  // Each line's alarms and rejected frames as last seen, to publish a rise.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> line_alarms_;
  std::string settings_console_;  // where the console's files are served from; "" for none
  bool stopped_ = false;
};

}  // namespace hotline::station
