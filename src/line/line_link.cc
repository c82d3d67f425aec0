#include "line/line_link.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <random>

#include "core/bytes.h"
#include "core/cbor.h"
#include "link/limits.h"
#include "link/tls_handshake.h"

namespace hotline::line {

namespace asio = link::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connection that lasted this long was a success: the next failure starts the backoff anew.
constexpr auto kStableConnection = std::chrono::seconds(10);

std::string Route::text() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

// One TLS connection to the peer and the Session running over it. Three coroutines share it:
// the reader (frames in, Session out), the writer (the send queue to the socket) and the ticker
// (heartbeats, liveness, checkpoints). Each holds a shared_ptr, so the Connection lives until the
// last of them has returned.
class Connection : public std::enable_shared_from_this<Connection>, public SessionTransport {
 public:
  Connection(LineLink& link, std::unique_ptr<link::TlsStream> stream, std::string route,
             bool dialed_by_peer, std::optional<std::size_t> route_index)
      : link_(link),
        stream_(std::move(stream)),
        route_(std::move(route)),
        dialed_by_peer_(dialed_by_peer),
        route_index_(route_index),
        session_(link.record_, link.store_, link.counters_, *this, events()),
        writer_wake_(link.io_),
        ticker_(link.io_) {}

  // Runs the session. With `refusal`, only says GOODBYE `closing` with it and closes.
  void start(std::optional<std::string> refusal = std::nullopt) {
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

  // Closes the connection, after sending `goodbye` if given. Idempotent.
  void close(std::optional<link::Goodbye> goodbye, const std::string& why) {
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

  void send_frame(Bytes frame) override {
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    writer_wake_.cancel();
  }
  std::size_t queued_bytes() const override { return queued_bytes_; }

  Session& session() { return session_; }
  const std::string& route() const { return route_; }
  bool dialed_by_peer() const { return dialed_by_peer_; }
  std::optional<std::size_t> route_index() const { return route_index_; }
  bool closing() const { return closing_ || closed_; }

  // Runs a Session operation; a failure is the peer's protocol error or this station's own.
  void run(Result<void> result) {
    if (!result.ok()) {
      fail(result.error());
    }
  }

  std::uint64_t entries_sent_at_start_delta() const {
    return link_.counters_.entries_sent - sent_at_start_;
  }
  std::uint64_t entries_received_delta() const {
    return link_.counters_.entries_received - received_at_start_;
  }

 private:
  const std::string& name() const { return link_.record_.line().name; }

  SessionEvents events() {
    SessionEvents e;
    e.info = [this](const std::string& text) {
      spdlog::info("line {}: {} ({})", name(), text, route_);
    };
    e.alarm = [this](const std::string& text) {
      spdlog::critical("ALARM line {}: {} ({})", name(), text, route_);
    };
    return e;
  }

  void fail(const Error& error) {
    const link::GoodbyeReason reason = session_.goodbye_reason(error);
    if (reason == link::GoodbyeReason::kInternal) {
      spdlog::error("line {}: this station failed: {}", name(), error.message);
    } else {
      ++link_.counters_.rejected[std::string(link::goodbye_reason_name(reason))];
      spdlog::warn("SECURITY line {}: protocol error from the peer over {} ({}): {}", name(),
                   route_, link::goodbye_reason_name(reason), error.message);
    }
    close(link::make_goodbye(reason, error.message), error.message);
  }

  void close_socket() {
    closed_ = true;
    boost::system::error_code ignored;
    stream_->lowest_layer().shutdown(link::Tcp::socket::shutdown_both, ignored);
    stream_->lowest_layer().close(ignored);
    writer_wake_.cancel();
    ticker_.cancel();
  }

  // `self` keeps the Connection alive while this coroutine runs.
  asio::awaitable<void> read_loop(std::shared_ptr<Connection> /*self*/) {
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

  // `self` keeps the Connection alive while this coroutine runs.
  asio::awaitable<void> write_loop(std::shared_ptr<Connection> /*self*/) {
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

  // `self` keeps the Connection alive while this coroutine runs.
  asio::awaitable<void> tick_loop(std::shared_ptr<Connection> /*self*/) {
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

  LineLink& link_;
  std::unique_ptr<link::TlsStream> stream_;
  std::string route_;
  bool dialed_by_peer_;
  std::optional<std::size_t> route_index_;
  Session session_;
  std::deque<Bytes> queue_;
  std::size_t queued_bytes_ = 0;
  asio::steady_timer writer_wake_;
  asio::steady_timer ticker_;
  bool closing_ = false;  // no more frames are handled; the writer flushes, then closes
  bool closed_ = false;   // the socket is closed
  bool opened_logged_ = false;
  std::uint64_t sent_at_start_ = 0;
  std::uint64_t received_at_start_ = 0;
  Clock::time_point opened_, last_rx_, last_heartbeat_, last_checkpoint_, closing_since_;
};

LineLink::LineLink(asio::io_context& io, store::RecordStore& store, LineRecord record,
                   std::vector<Route> routes, asio::ssl::context& client_tls, LinkTiming timing)
    : io_(io),
      store_(store),
      record_(std::move(record)),
      routes_(std::move(routes)),
      client_tls_(client_tls),
      timing_(timing),
      dialer_wake_(io) {
  for (const Route& route : routes_) {
    RouteStatus status;
    status.route = route.text();
    route_status_.push_back(std::move(status));
  }
  RecordListener listener;
  listener.own_durable = [this] { outbox_changed(); };
  listener.peer_durable = [this](const SignedReceipt& receipt) {
    if (active_ && !active_->closing()) {
      active_->session().send_receipt(receipt);
    }
  };
  listener.write_failed = [this](const Error& error) {
    spdlog::error(
        "line {}: a write to the store failed: {}; the connection closes and the line "
        "resumes from what is stored",
        record_.line().name, error.message);
    if (active_ && !active_->closing()) {
      auto connection = active_;
      connection->close(link::make_goodbye(link::GoodbyeReason::kInternal, "storage failure"),
                        "storage failure: " + error.message);
    }
  };
  listener.receipted = [this](std::uint64_t seq) {
    std::vector<std::function<void()>> due;
    while (!waits_by_seq_.empty() && waits_by_seq_.begin()->first <= seq) {
      due.push_back(std::move(waits_by_seq_.begin()->second.receipted));
      waits_by_seq_.erase(waits_by_seq_.begin());
    }
    for (auto& call : due) {
      call();
    }
  };
  listener.drafts_signed = [this](const std::vector<std::pair<std::uint64_t, std::uint64_t>>& as) {
    for (const auto& [draft, seq] : as) {
      recently_signed_drafts_.emplace_back(draft, seq);
      if (recently_signed_drafts_.size() > kRecentlySignedDrafts) {
        recently_signed_drafts_.pop_front();
      }
      auto range = waits_by_draft_.equal_range(draft);
      for (auto it = range.first; it != range.second; ++it) {
        waits_by_seq_.emplace(seq, std::move(it->second));
      }
      waits_by_draft_.erase(range.first, range.second);
    }
  };
  record_.set_listener(std::move(listener));
}

std::uint64_t LineLink::await_receipt(const Sent& sent, std::function<void()> receipted) {
  const std::uint64_t token = next_wait_token_++;
  std::optional<std::uint64_t> seq;
  if (sent.authored) {
    seq = sent.seq;
  } else {
    // Signed already? (A pump may have picked the draft up as soon as it was stored.)
    for (const auto& [draft, signed_seq] : recently_signed_drafts_) {
      if (draft == sent.draft) {
        seq = signed_seq;
      }
    }
  }
  if (seq && *seq <= record_.receipted_seq()) {
    receipted();
    return token;
  }
  ReceiptWait wait{token, std::move(receipted)};
  if (seq) {
    waits_by_seq_.emplace(*seq, std::move(wait));
  } else {
    waits_by_draft_.emplace(sent.draft, std::move(wait));
  }
  return token;
}

void LineLink::forget_receipt_wait(std::uint64_t token) {
  for (auto* waits : {&waits_by_seq_, &waits_by_draft_}) {
    std::erase_if(*waits, [token](const auto& entry) { return entry.second.token == token; });
  }
}

LineLink::~LineLink() = default;

Micros LineLink::record_clock_now() const { return record_.clock().now(); }

void LineLink::start() {
  if (started_ || routes_.empty()) {
    return;
  }
  started_ = true;
  asio::co_spawn(io_, dial_loop(), asio::detached);
}

void LineLink::stop() {
  stopped_ = true;
  dialer_wake_.cancel();
  if (active_) {
    auto connection = active_;
    connection->close(link::make_goodbye(link::GoodbyeReason::kClosing, "station shutting down"),
                      "station shutting down");
  }
}

void LineLink::adopt(std::unique_ptr<link::TlsStream> stream, std::string route,
                     bool dialed_by_peer, std::optional<std::size_t> route_index) {
  auto connection = std::make_shared<Connection>(*this, std::move(stream), std::move(route),
                                                 dialed_by_peer, route_index);
  if (stopped_) {
    connection->start("station shutting down");
    return;
  }
  if (active_ && !active_->closing()) {
    const record::PublicKey& local = record_.line().local;
    const record::PublicKey& peer = record_.line().peer;
    const record::PublicKey& old_dialer = active_->dialed_by_peer() ? peer : local;
    const record::PublicKey& new_dialer = dialed_by_peer ? peer : local;
    const bool replace = old_dialer == new_dialer || new_dialer.bytes() < old_dialer.bytes();
    if (!replace) {
      spdlog::info("line {}: keeping the connection over {}; refusing the one over {}",
                   record_.line().name, active_->route(), connection->route());
      connection->start("duplicate connection: the one dialed by the smaller key stays");
      return;
    }
    auto old = std::move(active_);
    active_ = connection;
    active_route_ = route_index;
    old->close(link::make_goodbye(link::GoodbyeReason::kClosing, "replaced by a newer connection"),
               "replaced by the connection over " + connection->route());
  } else {
    active_ = connection;
    active_route_ = route_index;
  }
  if (route_index && *route_index < route_status_.size()) {
    ++route_status_[*route_index].connections;
  }
  connection->start();
  dialer_wake_.cancel();
}

void LineLink::connection_ended(Connection* connection, const std::string& why) {
  if (active_.get() != connection) {
    return;
  }
  if (active_route_ && *active_route_ < route_status_.size()) {
    route_status_[*active_route_].last_error = why;
    // Fail over: the next attempt starts with the next route, not the one that just failed.
    next_route_ = (*active_route_ + 1) % routes_.size();
  }
  active_.reset();
  active_route_.reset();
  wake_dialer();
}

void LineLink::wake_dialer() { dialer_wake_.cancel(); }

void LineLink::outbox_changed() {
  if (active_ && !active_->closing()) {
    active_->run(active_->session().pump());
  }
}

void LineLink::send(Precedence precedence, std::string kind, Bytes body,
                    std::function<void(Result<Sent>)> done) {
  // Nothing waits and the window has room: sign it now, one commit instead of two (queue, then
  // author), which is most of a message's latency on an idle line (docs/benchmarks.md).
  if (active_ && !active_->closing() && active_->session().can_author_now() &&
      record_.outbox_size() == 0) {
    auto decoded = cbor::decode(body);
    if (!decoded.ok()) {
      done(decoded.error());
      return;
    }
    std::vector<Draft> drafts;
    drafts.push_back({std::move(kind), std::move(decoded).value()});
    auto authoring = record_.author_async(std::move(drafts), [done](Result<std::uint64_t> seq) {
      if (!seq.ok()) {
        done(seq.error());
      } else {
        done(Sent{.authored = true, .seq = seq.value(), .draft = 0});
      }
    });
    if (!authoring.ok()) {
      done(authoring.error());
    }
    return;
  }
  record_.enqueue(precedence, std::move(kind), std::move(body),
                  [this, done](Result<std::uint64_t> id) {
                    if (!id.ok()) {
                      done(id.error());
                      return;
                    }
                    done(Sent{.authored = false, .seq = 0, .draft = id.value()});
                    outbox_changed();
                  });
}

asio::awaitable<Result<std::unique_ptr<link::TlsStream>>> LineLink::dial(const Route& route) {
  boost::system::error_code ec;
  link::Tcp::resolver resolver(io_);
  auto endpoints = co_await resolver.async_resolve(route.host, std::to_string(route.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return make_error(Errc::kIo, "cannot resolve " + route.text() + ": " + ec.message());
  }
  auto stream = std::make_unique<link::TlsStream>(io_, client_tls_);
  auto done = std::make_shared<bool>(false);
  asio::steady_timer deadline(io_);
  deadline.expires_after(timing_.connect_timeout);
  deadline.async_wait([done, socket = &stream->lowest_layer()](boost::system::error_code e) {
    if (!e && !*done) {
      boost::system::error_code ignored;
      socket->close(ignored);
    }
  });
  co_await asio::async_connect(stream->lowest_layer(), endpoints,
                               asio::redirect_error(asio::use_awaitable, ec));
  *done = true;
  deadline.cancel();
  if (ec) {
    co_return make_error(Errc::kIo, "cannot connect to " + route.text() + ": " + ec.message());
  }
  stream->lowest_layer().set_option(link::Tcp::no_delay(true), ec);
  auto peer =
      co_await link::pinned_handshake(*stream, link::TlsRole::kClient, timing_.handshake_timeout);
  if (!peer.ok()) {
    co_return make_error(peer.error().code,
                         "TLS with " + route.text() + " failed: " + peer.error().message);
  }
  co_return stream;
}

// Exponential backoff with jitter, so that two stations do not retry in lock step. Woken early
// when the peer dials in or the station stops.
asio::awaitable<void> LineLink::sleep(milliseconds backoff, std::mt19937& jitter) {
  std::uniform_int_distribution<long> spread(0, backoff.count() / 2);
  dialer_wake_.expires_after(backoff + milliseconds(spread(jitter)));
  boost::system::error_code ec;
  co_await dialer_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> LineLink::dial_loop() {
  std::mt19937 jitter(std::random_device{}());
  auto backoff = timing_.backoff_min;
  auto last_probe = Clock::now();
  auto connected_at = Clock::now();
  bool was_connected = false;
  while (!stopped_) {
    if (!active_ && was_connected) {
      was_connected = false;
      // A connection that ended soon after it opened (the peer refuses us, a protocol error, a
      // flapping route) must not turn into a tight reconnect loop: back off as after a failure.
      if (Clock::now() - connected_at < kStableConnection) {
        co_await sleep(backoff, jitter);
        backoff = std::min(backoff * 2, timing_.backoff_max);
        continue;
      }
      backoff = timing_.backoff_min;
    }
    if (active_) {
      if (!was_connected) {
        was_connected = true;
        connected_at = Clock::now();
      }
      // Connected. Wake on change, and while on a backup route try the preferred one now and then.
      const bool on_backup = active_route_ && *active_route_ > 0;
      dialer_wake_.expires_after(on_backup ? timing_.preferred_route_probe
                                           : std::chrono::milliseconds(3'600'000));
      boost::system::error_code ec;
      co_await dialer_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_ || !active_ || !(active_route_ && *active_route_ > 0)) {
        continue;
      }
      if (Clock::now() - last_probe < timing_.preferred_route_probe) {
        continue;
      }
      last_probe = Clock::now();
      auto stream = co_await dial(routes_[0]);
      if (stream.ok() && !stopped_) {
        spdlog::info("line {}: preferred route {} answers again: moving back to it",
                     record_.line().name, routes_[0].text());
        adopt(std::move(stream).value(), routes_[0].text(), false, 0);
      }
      continue;
    }
    bool connected = false;
    for (std::size_t k = 0; k < routes_.size() && !stopped_ && !active_; ++k) {
      const std::size_t index = (next_route_ + k) % routes_.size();
      auto stream = co_await dial(routes_[index]);
      if (stopped_ || active_) {
        break;  // meanwhile the peer dialed us, or the station stops
      }
      if (!stream.ok()) {
        route_status_[index].last_error = stream.error().message;
        spdlog::warn("line {}: route {} failed: {}", record_.line().name, routes_[index].text(),
                     stream.error().message);
        continue;
      }
      adopt(std::move(stream).value(), routes_[index].text(), false, index);
      connected = true;
      last_probe = Clock::now();
      break;
    }
    if (connected || active_ || stopped_) {
      continue;
    }
    next_route_ = 0;
    co_await sleep(backoff, jitter);
    backoff = std::min(backoff * 2, timing_.backoff_max);
  }
  co_return;
}

LineStatus LineLink::status() const {
  LineStatus s;
  s.name = record_.line().name;
  s.state = "down";
  if (active_ && !active_->closing()) {
    s.state = std::string(session_state_name(active_->session().state()));
    s.route = active_->route();
    s.dialed_by_peer = active_->dialed_by_peer();
    s.round_trip = active_->session().round_trip();
    s.peer_clock_offset = active_->session().peer_clock_offset();
  }
  s.own = record_.own_durable().position;
  s.peer = record_.peer_durable().position;
  s.receipted = record_.receipted_seq();
  s.outbox = record_.outbox();
  s.counters = counters_;
  s.routes = route_status_;
  return s;
}

}  // namespace hotline::line
