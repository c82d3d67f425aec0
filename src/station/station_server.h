// station/station_server.h — `hotline serve`: a running station (design.md §1, §4, §6).
//
// Opens the data directory (configuration, identity key, record), then runs on one thread:
// - a LineLink per configured line, dialing its routes;
// - the listener for the lines' peers (TLS 1.3 pinned to the configured peers' keys; any other
//   key, no certificate, TLS below 1.3 or plain TCP is refused and logged as a security event);
// - the control socket DIR/control.sock (owner-only HTTP, docs/cli.md) that `hotline send` and
//   `hotline status` use.
// SIGINT or SIGTERM stops it in order: every connection says GOODBYE `closing`, the control
// socket file is removed, and nothing queued is lost (it is in the outbox on disk).
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "crypto/passphrase.h"
#include "line/line_link.h"

namespace hotline::station {

struct ServeOptions {
  std::string dir;
  std::optional<crypto::Passphrase> passphrase;  // for a sealed identity key
  line::LinkTiming timing;
  // The station's clock is the real one moved by an offset that `hotline clock advance` grows
  // (POST /v1/clock), kept in DIR/test-clock across restarts. For tests of deadlines only.
  bool test_clock = false;
};

// Where a test clock's offset is kept (`serve --test-clock`).
std::string test_clock_path(const std::string& dir);

// Runs the station until SIGINT or SIGTERM. Fails before serving if the directory, key,
// configuration or record cannot be opened, or the listen address or control socket cannot be
// bound; the error names what and where.
[[nodiscard]] Result<void> serve(ServeOptions options);

// The control socket of the station in `dir`.
std::string control_socket_path(const std::string& dir);

}  // namespace hotline::station
