// line/connection.h — one TLS connection of a line and the Session running over it.
//
// Internal to the line subsystem: LineLink owns the Connections of its line (line_link.h).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "line/line_link.h"
#include "line/session.h"
#include "link/asio.h"

namespace hotline::line {

// One TLS connection to the peer and the Session running over it. Three coroutines share it:
// the reader (frames in, Session out), the writer (the send queue to the socket) and the ticker
// (heartbeats, liveness, checkpoints). Each holds a shared_ptr, so the Connection lives until the
// last of them has returned.
class Connection : public std::enable_shared_from_this<Connection>, public SessionTransport {
 public:
  Connection(LineLink& link, std::unique_ptr<link::TlsStream> stream, std::string route,
             bool dialed_by_peer, std::optional<std::size_t> route_index);

  // Runs the session. With `refusal`, only says GOODBYE `closing` with it and closes.
  void start(std::optional<std::string> refusal = std::nullopt);

  // Closes the connection, after sending `goodbye` if given. Idempotent.
  void close(std::optional<link::Goodbye> goodbye, const std::string& why);

  void send_frame(Bytes frame) override;
  std::size_t queued_bytes() const override { return queued_bytes_; }

  Session& session() { return session_; }
  const std::string& route() const { return route_; }
  bool dialed_by_peer() const { return dialed_by_peer_; }
  std::optional<std::size_t> route_index() const { return route_index_; }
  bool closing() const { return closing_ || closed_; }

  // Runs a Session operation; a failure is the peer's protocol error or this station's own.
  void run(Result<void> result);

  std::uint64_t entries_sent_at_start_delta() const;
  std::uint64_t entries_received_delta() const;

 private:
  const std::string& name() const { return link_.record_.line().name; }

  SessionEvents events();

  void fail(const Error& error);

  void close_socket();

  // `self` keeps the Connection alive while this coroutine runs.
  link::asio::awaitable<void> read_loop(std::shared_ptr<Connection> /*self*/);

  // `self` keeps the Connection alive while this coroutine runs.
  link::asio::awaitable<void> write_loop(std::shared_ptr<Connection> /*self*/);

  // `self` keeps the Connection alive while this coroutine runs.
  link::asio::awaitable<void> tick_loop(std::shared_ptr<Connection> /*self*/);

  LineLink& link_;
  std::unique_ptr<link::TlsStream> stream_;
  std::string route_;
  bool dialed_by_peer_;
  std::optional<std::size_t> route_index_;
  Session session_;
  std::deque<Bytes> queue_;
  std::size_t queued_bytes_ = 0;
  link::asio::steady_timer writer_wake_;
  link::asio::steady_timer ticker_;
  bool closing_ = false;  // no more frames are handled; the writer flushes, then closes
  bool closed_ = false;   // the socket is closed
  bool opened_logged_ = false;
  std::uint64_t sent_at_start_ = 0;
  std::uint64_t received_at_start_ = 0;
  std::chrono::steady_clock::time_point opened_, last_rx_, last_heartbeat_, last_checkpoint_,
      closing_since_;
};

}  // namespace hotline::line
