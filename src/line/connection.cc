#include "line/connection.h"

#include <spdlog/spdlog.h>

#include "link/limits.h"
#include "link/tls_handshake.h"

namespace hotline::line {

namespace asio = link::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Connection::Connection(LineLink& link, std::unique_ptr<link::TlsStream> stream, std::string route,
                       bool dialed_by_peer, std::optional<std::size_t> route_index)
    : link_(link),
      stream_(std::move(stream)),
      route_(std::move(route)),
      dialed_by_peer_(dialed_by_peer),
      route_index_(route_index),
      session_(link.record_, link.store_, link.counters_, *this, events()),
      writer_wake_(link.io_),
      ticker_(link.io_) {}

void Connection::start(std::optional<std::string> refusal) {
  opened_ = last_rx_ = last_heartbeat_ = last_checkpoint_ = Clock::now();
  // Counted from here, not from HELLO: answering HELLO may already send entries (a resend, the
  // backlog), and a connection that never opens carried nothing.
  sent_at_start_ = link_.counters_.entries_sent;
  received_at_start_ = link_.counters_.entries_received;
  auto self = shared_from_this();
  asio::co_spawn(link_.io_, write_loop(self), asio::detached);
  if (refusal) {
    close(link::make_goodbye(link::GoodbyeReason::kClosing, *refusal), *refusal);
    return;
  }
  asio::co_spawn(link_.io_, read_loop(self), asio::detached);
  asio::co_spawn(link_.io_, tick_loop(self), asio::detached);
  run(session_.start());
}

void Connection::close(std::optional<link::Goodbye> goodbye, const std::string& why) {
  if (closing_ || closed_) {
    return;
  }
  closing_ = true;
  closing_since_ = Clock::now();
  spdlog::info("line {}: connection over {} closed: {} (sent {} entries, received {})", name(),
               route_, why, entries_sent_at_start_delta(), entries_received_delta());
  if (goodbye) {
    auto frame = link::encode_message(*goodbye);
    if (frame.ok()) {
      send_frame(std::move(frame).value());
    }
  }
  writer_wake_.cancel();  // the writer flushes the GOODBYE, then closes the socket
  if (route_index_ && *route_index_ < link_.route_status_.size() && opened_logged_) {
    link_.route_status_[*route_index_].entries_carried += entries_sent_at_start_delta();
  }
  link_.connection_ended(this, why);
}

void Connection::send_frame(Bytes frame) {
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  writer_wake_.cancel();
}

void Connection::run(Result<void> result) {
  if (!result.ok()) {
    fail(result.error());
  }
}

std::uint64_t Connection::entries_sent_at_start_delta() const {
  return link_.counters_.entries_sent - sent_at_start_;
}

std::uint64_t Connection::entries_received_delta() const {
  return link_.counters_.entries_received - received_at_start_;
}

SessionEvents Connection::events() {
  SessionEvents e;
  e.info = [this](const std::string& text) {
    spdlog::info("line {}: {} ({})", name(), text, route_);
  };
  e.alarm = [this](const std::string& text) {
    spdlog::critical("ALARM line {}: {} ({})", name(), text, route_);
  };
  e.opened = [this] { link_.line_opened(); };
  return e;
}

void Connection::fail(const Error& error) {
  const link::GoodbyeReason reason = session_.goodbye_reason(error);
  if (reason == link::GoodbyeReason::kInternal) {
    spdlog::error("line {}: this station failed: {}", name(), error.message);
  } else {
    ++link_.counters_.rejected[std::string(link::goodbye_reason_name(reason))];
    spdlog::warn("SECURITY line {}: protocol error from the peer over {} ({}): {}", name(), route_,
                 link::goodbye_reason_name(reason), error.message);
  }
  close(link::make_goodbye(reason, error.message), error.message);
}

void Connection::close_socket() {
  closed_ = true;
  boost::system::error_code ignored;
  stream_->lowest_layer().shutdown(link::Tcp::socket::shutdown_both, ignored);
  stream_->lowest_layer().close(ignored);
  writer_wake_.cancel();
  ticker_.cancel();
}

asio::awaitable<void> Connection::read_loop(std::shared_ptr<Connection> /*self*/) {
  std::vector<std::uint8_t> buffer(64 * 1024);
  link::FrameReader reader;
  while (!closing()) {
    boost::system::error_code ec;
    std::size_t n = co_await stream_->async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (closing()) {
      break;
    }
    if (ec) {
      close(std::nullopt, reader.buffered() > 0 ? "the peer closed in the middle of a frame"
                                                : "connection lost: " + ec.message());
      break;
    }
    last_rx_ = Clock::now();
    reader.append(ByteView(buffer.data(), n));
    while (!closing()) {
      auto frame = reader.next();
      if (!frame.ok()) {
        fail(frame.error());
        break;
      }
      if (!frame.value()) {
        break;
      }
      auto more = session_.on_frame(*frame.value());
      if (!more.ok()) {
        fail(more.error());
      } else if (!more.value()) {
        close(std::nullopt, "the peer said goodbye");
      } else if (!opened_logged_ && session_.state() != SessionState::kAwaitingHello) {
        opened_logged_ = true;
        spdlog::info("line {}: connected over {} ({}), {}", name(), route_,
                     dialed_by_peer_ ? "dialed by the peer" : "dialed by us",
                     session_state_name(session_.state()));
      }
    }
  }
  co_return;
}

asio::awaitable<void> Connection::write_loop(std::shared_ptr<Connection> /*self*/) {
  std::vector<Bytes> batch;
  std::vector<asio::const_buffer> buffers;
  while (!closed_) {
    if (queue_.empty()) {
      if (closing_) {
        break;
      }
      writer_wake_.expires_at(Clock::time_point::max());
      boost::system::error_code ignored;
      co_await writer_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    batch.clear();
    buffers.clear();
    std::size_t bytes = 0;
    while (!queue_.empty() && batch.size() < 64 && bytes < (1u << 20)) {
      bytes += queue_.front().size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    for (const Bytes& frame : batch) {
      buffers.emplace_back(frame.data(), frame.size());
    }
    boost::system::error_code ec;
    co_await asio::async_write(*stream_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    queued_bytes_ -= bytes;
    if (ec) {
      close(std::nullopt, "write failed: " + ec.message());
      break;
    }
    if (!closing()) {
      run(session_.pump());
    }
  }
  close_socket();
  co_return;
}

asio::awaitable<void> Connection::tick_loop(std::shared_ptr<Connection> /*self*/) {
  const LinkTiming& t = link_.timing_;
  const auto dead_after = t.heartbeat_interval * t.missed_heartbeats_before_dead;
  while (!closed_) {
    ticker_.expires_after(milliseconds(100));
    boost::system::error_code ec;
    co_await ticker_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) {
      break;
    }
    const auto now = Clock::now();
    if (closing_) {
      if (now - closing_since_ > milliseconds(1000)) {
        close_socket();  // the peer does not read its GOODBYE: stop waiting
      }
      continue;
    }
    if (session_.state() == SessionState::kAwaitingHello) {
      if (now - opened_ > t.hello_timeout) {
        fail(make_error(Errc::kRefused, "no HELLO within the time allowed"));
      }
      continue;
    }
    if (now - last_rx_ > dead_after) {
      close(std::nullopt,
            "route dead: nothing received for " +
                std::to_string(std::chrono::duration_cast<milliseconds>(now - last_rx_).count()) +
                " ms");
      close_socket();
      continue;
    }
    if (now - last_heartbeat_ >= t.heartbeat_interval) {
      last_heartbeat_ = now;
      run(session_.send_heartbeat(link_.record_clock_now()));
    }
    if (now - last_checkpoint_ >= t.checkpoint_interval) {
      last_checkpoint_ = now;
      run(session_.send_checkpoint());
    }
  }
  co_return;
}

}  // namespace hotline::line
