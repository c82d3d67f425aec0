// station/control_socket.h — the station's control socket: HTTP/1.1 over a Unix domain socket.
//
// `hotline serve` answers local commands (`hotline send`, `hotline status`) on DIR/control.sock
// (design.md §6). Only the station's owner may connect: the socket file is mode 0600, so the
// file system does the authentication. This file is the transport only; what the requests mean
// is the handler's business.
//
// Guarantees: a request body over kMaxControlRequestBody is refused with 413, a malformed request
// with 400, a handler that throws with 500, each with a JSON body {"error": "..."}; a client that
// stays silent for kControlIdleTimeout is disconnected. Every response carries Content-Type,
// Content-Length and `Cache-Control: no-store`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "link/asio.h"

namespace hotline::station {

// Commands are small JSON documents; a megabyte is far above any of them and still bounds what a
// local client can make the station buffer.
inline constexpr std::size_t kMaxControlRequestBody = std::size_t{1} << 20;
// A station's answers (status, lists of requests) can be longer than its commands, but are still
// bounded so that a confused server cannot make the CLI allocate without limit.
inline constexpr std::size_t kMaxControlResponseBody = std::size_t{64} << 20;
// How long the server waits for the next request on an open connection (or for the rest of a
// started one) before closing it, so that a silent client cannot hold a connection forever.
inline constexpr std::chrono::seconds kControlIdleTimeout{30};

struct ControlRequest {
  std::string method;  // as sent, e.g. "GET", "POST"
  std::string target;  // the path and optional query, e.g. "/status?verbose=1"
  std::string body;
};

struct ControlResponse {
  int status = 200;  // an HTTP status, 100..599; anything else is answered as 500
  std::string body;
  std::string content_type = "application/json";
};

// Called once per request; returns the response to send. It may throw (answered as 500).
using ControlHandler = std::function<ControlResponse(const ControlRequest&)>;
// Called once per request, on the io thread; answers later, by calling `respond` exactly once on
// the io thread (e.g. once a write is durable). It may throw instead (answered as 500).
using ControlResponder = std::function<void(ControlResponse)>;
using AsyncControlHandler = std::function<void(const ControlRequest&, ControlResponder respond)>;

// The server's state, shared with its coroutines (defined in control_socket.cc).
struct ControlServerState;

// Serves HTTP/1.1 on a Unix socket, calling the handler on the io_context's thread for each
// request: keep-alive is supported, one request at a time per connection, any number of
// connections. The io_context must be run by one thread and must outlive the server.
class ControlServer {
 public:
  // Binds and listens at `path`, creating the socket file owner-only (mode 0600), and starts
  // accepting on `io`. May be called from any thread. A stale socket file at `path` (one that
  // nobody listens on) is replaced. Fails with kInvalidArgument if `path` does not fit in a
  // sockaddr_un, kRefused if another process is listening on `path` ("another station is serving
  // from <dir>") or if `path` exists and is not a socket, kIo if the socket cannot be created.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> start(link::asio::io_context& io,
                                                                    const std::string& path,
                                                                    ControlHandler handler);
  // Same, with a handler that answers when it is ready; the connection waits for it meanwhile.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> start(link::asio::io_context& io,
                                                                    const std::string& path,
                                                                    AsyncControlHandler handler);

  // Stops, as stop() does.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Closes the listening socket and every open connection, and removes the socket file (unless
  // another process has since replaced it). Idempotent. Call it, and the destructor, on the io
  // thread (a handler may call it) or while the io_context is not running. A request whose
  // handler is running when the server stops gets no response.
  void stop();

 private:
  explicit ControlServer(std::shared_ptr<ControlServerState> state);

  // Shared with the coroutines serving the socket, which may outlive this object by a few turns
  // of the io_context (until their cancelled operations complete).
  std::shared_ptr<ControlServerState> state_;
};

// Sends one request to the station serving at `socket_path` and returns its response, whatever
// its status. The whole exchange (connect, write, read) must finish within `timeout`. Fails with
// kInvalidArgument if `socket_path` does not fit in a sockaddr_un or `method` is not an HTTP token
// or `target` not a path starting with "/" (without spaces), kNotFound if no station is
// serving there (no socket file, or nobody listening), kIo if the exchange fails or times out.
// Blocks the calling thread (it runs a private io_context).
[[nodiscard]] Result<ControlResponse> control_request(
    const std::string& socket_path, const std::string& method, const std::string& target,
    const std::string& body, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace hotline::station
