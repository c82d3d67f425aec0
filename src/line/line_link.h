// line/line_link.h — one line of a running station: its routes, its connection, its outbox.
//
// A LineLink keeps at most one connection to the peer station (docs/protocol.md §1, §4.5). It
// dials the line's routes in order of preference, declares a route dead when nothing arrived for
// kMissedHeartbeatsBeforeDead heartbeat intervals, fails over to the next route, goes back to the
// preferred one when it answers again, and retries with exponential backoff when none does. The
// listener hands it the connections the peer dials. Entries wait in the durable outbox until a
// connection is open; each connection runs a Session over the same LineRecord.
//
// Everything runs on one io_context thread: no locks, and the record is only ever touched from it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "line/line_record.h"
#include "line/session.h"
#include "link/asio.h"
#include "link/limits.h"

namespace hotline::line {

struct Route {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;
};

struct RouteStatus {
  std::string route;
  std::uint64_t connections = 0;      // connections opened over it
  std::uint64_t entries_carried = 0;  // own entries sent over it
  std::string last_error;             // why the last attempt or connection over it ended
};

struct LineStatus {
  std::string name;
  std::string state;                 // "down", or the Session state of the open connection
  std::optional<std::string> route;  // what carries the connection, if any
  bool dialed_by_peer = false;
  record::ChainPosition own;              // this station's chain, as stored
  record::ChainPosition peer;             // the peer's chain, as stored here
  std::uint64_t receipted = 0;            // own seq covered by the peer's stored receipts
  std::array<std::uint64_t, 4> outbox{};  // drafts queued, by precedence (FLASH first)
  std::optional<std::chrono::microseconds> round_trip;
  std::optional<std::chrono::microseconds> peer_clock_offset;  // peer's clock minus ours
  LineCounters counters;
  std::vector<RouteStatus> routes;
};

// How long the link waits for what. The defaults are the protocol's (link/limits.h); tests may
// shorten them.
struct LinkTiming {
  std::chrono::milliseconds heartbeat_interval{link::kHeartbeatInterval / 1000};
  int missed_heartbeats_before_dead = link::kMissedHeartbeatsBeforeDead;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds handshake_timeout{2000};
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds checkpoint_interval{60000};
  std::chrono::milliseconds preferred_route_probe{5000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

// What the station above the link hears of it (station/line_desk.h), on the io thread. All
// optional.
struct LinkObserver {
  // Entries of either chain became durable (RecordListener::stored).
  std::function<void(Result<std::vector<SignedEntry>>)> stored;
  // The peer's checkpoint was stored (RecordListener::peer_checkpoint).
  std::function<void(const SignedCheckpoint&, bool holds_head)> peer_checkpoint;
  // The line opened (a HELLO exchanged; own chain current).
  std::function<void()> opened;
  // The peer's receipt now covers own entries up to this seq.
  std::function<void(std::uint64_t)> receipted;
};

class Connection;

class LineLink {
 public:
  // `store`, `client_tls` and `io` must outlive the LineLink; it must outlive every coroutine it
  // starts, i.e. be destroyed only after `io` stopped running.
  LineLink(link::asio::io_context& io, store::RecordStore& store, LineRecord record,
           std::vector<Route> routes, link::asio::ssl::context& client_tls, LinkTiming timing);
  ~LineLink();
  LineLink(const LineLink&) = delete;
  LineLink& operator=(const LineLink&) = delete;

  const store::LineParties& parties() const { return record_.line(); }

  // Starts dialing the routes (if the line has any; otherwise the peer dials this station).
  void start();
  // Closes the connection with GOODBYE `closing` and stops dialing.
  void stop();

  // A connection whose TLS handshake authenticated this line's peer. `dialed_by_peer` says who
  // opened it; with two connections open at once the one dialed by the station with the smaller
  // key stays, and between two dialed by the same station the newer one (docs/protocol.md §1).
  void adopt(std::unique_ptr<link::TlsStream> stream, std::string route, bool dialed_by_peer,
             std::optional<std::size_t> route_index = std::nullopt);

  // Drafts were queued: author and send them now if a connection is open.
  void outbox_changed();

  // What became of a message handed to send().
  struct Sent {
    bool authored = false;    // signed and stored as the entry `seq` (it waited for nothing)
    std::uint64_t seq = 0;    // when authored
    std::uint64_t draft = 0;  // otherwise: the draft queued in the outbox
  };
  // Authors `body` (of entry kind `kind`) at once when the line is open, nothing is queued and the
  // in-flight window has room; otherwise queues it in the outbox. Either way `done` runs on the
  // io thread once it is durable (or failed).
  void send(Precedence precedence, std::string kind, Bytes body,
            std::function<void(Result<Sent>)> done);

  // Signs `body` as the next entry of this station's chain now, whatever the window and the
  // outbox, and writes it; `done` gets its seq once durable. It is sent when the line is up. For
  // the procedure's entries, whose author time is what counts against a deadline
  // (docs/procedure.md §5). Refused (kUnavailable) until the line has opened once since the
  // station started, so that a station restored from an old backup does not sign on a chain it
  // has yet to recover.
  void author_now(std::string kind, cbor::Value body,
                  std::function<void(Result<std::uint64_t>)> done);
  // Whether author_now can sign now (the line opened since the station started).
  bool own_chain_confirmed() const { return own_chain_confirmed_; }
  // Whether a connection is open (HELLO exchanged) now.
  bool is_open() const;
  // Signs, stores and sends a checkpoint now, if the line is open: the peer then knows promptly
  // how far this station's chain extends (e.g. past a deadline with no decision in it).
  void checkpoint_now();

  void set_observer(LinkObserver observer) { observer_ = std::move(observer); }
  const Clock& clock() const { return record_.clock(); }

  // Calls `receipted` once the peer's durable receipt covers the entry of `sent` (at once if it
  // already does). Returns a token for forget_receipt_wait, for a caller that stops waiting.
  std::uint64_t await_receipt(const Sent& sent, std::function<void()> receipted);
  void forget_receipt_wait(std::uint64_t token);

  LineStatus status() const;
  // Own seq covered by the peer's stored receipts (LineStatus::receipted, without the rest).
  std::uint64_t receipted_seq() const { return record_.receipted_seq(); }

 private:
  friend class Connection;
  link::asio::awaitable<void> dial_loop();
  link::asio::awaitable<void> sleep(std::chrono::milliseconds backoff, std::mt19937& jitter);
  link::asio::awaitable<Result<std::unique_ptr<link::TlsStream>>> dial(const Route& route);
  void connection_ended(Connection* connection, const std::string& why);
  void line_opened();
  void wake_dialer();
  Micros record_clock_now() const;

  link::asio::io_context& io_;
  store::RecordStore& store_;
  LineRecord record_;
  std::vector<Route> routes_;
  std::vector<RouteStatus> route_status_;
  link::asio::ssl::context& client_tls_;
  LinkTiming timing_;
  LineCounters counters_;
  std::shared_ptr<Connection> active_;
  std::optional<std::size_t> active_route_;  // index in routes_ when this station dialed it
  std::size_t next_route_ = 0;
  link::asio::steady_timer dialer_wake_;
  // Who waits for a receipt (await_receipt): by own seq once signed, by draft id before.
  struct ReceiptWait {
    std::uint64_t token = 0;
    std::function<void()> receipted;
  };
  std::multimap<std::uint64_t, ReceiptWait> waits_by_seq_;
  std::multimap<std::uint64_t, ReceiptWait> waits_by_draft_;
  std::uint64_t next_wait_token_ = 1;
  // Draft id and seq of the drafts signed last, for a wait registered just after.
  static constexpr std::size_t kRecentlySignedDrafts = 1024;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> recently_signed_drafts_;
  LinkObserver observer_;
  bool own_chain_confirmed_ = false;
  bool stopped_ = false;
  bool started_ = false;
};

}  // namespace hotline::line
