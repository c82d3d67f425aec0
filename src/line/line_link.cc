#include "line/line_link.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <random>

#include "core/bytes.h"
#include "core/cbor.h"
#include "line/connection.h"
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
    // Own entries may have gone out before the write failed: the next HELLO must say whether the
    // peer holds them before this station signs again.
    own_chain_confirmed_ = false;
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
  listener.stored = [this](Result<std::vector<SignedEntry>> entries) {
    if (observer_.stored) {
      observer_.stored(std::move(entries));
    }
  };
  listener.own_checkpoint = [this](const SignedCheckpoint& checkpoint) {
    if (active_ && !active_->closing()) {
      active_->session().send_stored_checkpoint(checkpoint);
    }
  };
  listener.peer_checkpoint = [this](const SignedCheckpoint& checkpoint, bool holds_head) {
    if (observer_.peer_checkpoint) {
      observer_.peer_checkpoint(checkpoint, holds_head);
    }
  };
  listener.receipted = [this](std::uint64_t seq) {
    if (observer_.receipted) {
      observer_.receipted(seq);
    }
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

void LineLink::line_opened() {
  own_chain_confirmed_ = true;
  if (observer_.opened) {
    observer_.opened();
  }
}

bool LineLink::is_open() const {
  return active_ && !active_->closing() && active_->session().state() == SessionState::kOpen;
}

void LineLink::checkpoint_now() {
  if (is_open()) {
    auto connection = active_;
    connection->run(connection->session().send_checkpoint());
  }
}

void LineLink::author_now(std::string kind, cbor::Value body,
                          std::function<void(Result<std::uint64_t>)> done) {
  if (!own_chain_confirmed_) {
    done(make_error(Errc::kUnavailable,
                    "line " + record_.line().name +
                        " has not connected since the station started (or since a write to "
                        "its record failed): a step is signed only "
                        "once the station knows its own chain is current (docs/procedure.md §5); "
                        "try again when the line is up"));
    return;
  }
  std::vector<Draft> drafts;
  drafts.push_back({std::move(kind), std::move(body)});
  auto authoring = record_.author_async(std::move(drafts), done);
  if (!authoring.ok()) {
    done(authoring.error());
    return;
  }
  outbox_changed();  // sends it while it is being written
}

void LineLink::outbox_changed() {
  if (active_ && !active_->closing()) {
    active_->run(active_->session().pump());
  }
}

namespace {

// Whether the outbox holds no draft of `precedence` or a more urgent one (counts per precedence,
// FLASH first).
bool nothing_queued_at_or_above(const std::array<std::uint64_t, 4>& queued, Precedence precedence) {
  for (Precedence p : kAllPrecedences) {
    if (static_cast<int>(p) > static_cast<int>(precedence)) {
      break;
    }
    if (queued[static_cast<std::size_t>(p)] != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

void LineLink::send(Precedence precedence, std::string kind, Bytes body,
                    std::function<void(Result<Sent>)> done) {
  // Nothing of this precedence or above waits and the window has room: sign it now, one commit
  // instead of two (queue, then author), which is most of a message's latency on an idle line
  // and of a FLASH message's behind a ROUTINE backlog (docs/benchmarks.md). Drafts of lower
  // precedence would be signed after it anyway: it overtakes them exactly as the outbox would.
  if (active_ && !active_->closing() && active_->session().can_author_now(precedence) &&
      nothing_queued_at_or_above(record_.outbox(), precedence)) {
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
      return;
    }
    outbox_changed();  // sends it while it is being written
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
