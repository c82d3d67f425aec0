// api/api_server.h — the station's HTTP API, event stream and console over the network
// (design.md §6): Boost.Beast HTTP/1.1 and WebSocket, over TLS 1.3 or, on a loopback address
// only, plain HTTP.
//
// This file is the transport: it accepts connections, reads requests within hard limits (a body
// over kMaxApiBody is refused with 413, headers over 16 KiB with 431, a malformed request with
// 400; a client silent for 30 s is disconnected), hands each to the ApiDispatcher, and writes the
// reply with the security headers every response carries (a strict Content-Security-Policy,
// nosniff, no framing, no referrer, no caching, and HSTS over TLS). GET /api/v1/events with a
// WebSocket upgrade becomes the live event stream (docs/api.yaml, /api/v1/events).
//
// Runs on the station's io_context (one thread). Must outlive nothing: stop() closes everything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "api/api_dispatcher.h"
#include "core/result.h"
#include "link/asio.h"

namespace hotline::api {

// API calls are small JSON documents; 64 KiB holds the longest (a message of 64 KiB of text is
// the one exception the station's own limit allows, plus its envelope).
inline constexpr std::size_t kMaxApiBody = 96 * 1024;

struct ApiListen {
  std::string host;  // an IP address
  std::uint16_t port = 0;
  bool tls = true;
  std::string certificate_path;  // PEM, with any intermediate certificates after the leaf
  std::string key_path;          // PEM
};

struct ApiServerState;

class ApiServer {
 public:
  // Listens on `listen` and serves until stop(). Refuses (kRefused) plain HTTP on an address that
  // is not loopback; fails (kCorrupt, naming the file) for a certificate or key OpenSSL cannot
  // load, or a key that does not match the certificate; kIo if it cannot listen.
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> start(link::asio::io_context& io,
                                                                const ApiListen& listen,
                                                                ApiDispatcher& dispatcher);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The port it listens on (the one asked for, or the one the system chose for port 0).
  std::uint16_t port() const;
  // Closes the listener, every connection and every event stream. Idempotent; on the io thread.
  void stop();

 private:
  explicit ApiServer(std::shared_ptr<ApiServerState> state);
  std::shared_ptr<ApiServerState> state_;
};

// Whether `host` is a loopback IP address (127.0.0.0/8 or ::1).
bool is_loopback_address(const std::string& host);

}  // namespace hotline::api
