// line/session.h — the protocol state machine of one connection of a line (docs/protocol.md §4).
//
// A Session turns the peer's frames into record operations and answers, and decides what of this
// station's chain to send next. It knows nothing of sockets: its connection hands it whole frames
// and gives it a transport to queue frames on, so that the whole protocol can be driven and tested
// in memory. One Session per connection; the LineRecord and counters it works on outlive it.
//
// Every error a Session returns is a protocol error of the peer (or a failure of this station's
// store, kIo/kInternal): the connection sends GOODBYE with goodbye_reason_for(error) and closes.
// Nothing of a rejected frame reaches the record.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "line/line_record.h"
#include "link/frame.h"
#include "link/messages.h"

namespace hotline::line {

// Entries of this station's chain signed but not yet covered by the peer's receipt. Entries are
// sequenced and signed only when they enter this window (design.md §4), so a draft queued behind
// a backlog waits for at most this many entries to be delivered, not for the backlog. With one
// batch signed per pump the window stays full and the receiver always has a batch to check, so
// throughput hardly depends on its size (96, 128 and 160 gave the same within the noise), while a
// FLASH entry waits behind all of it: 128 (docs/benchmarks.md, session 9).
inline constexpr std::uint64_t kInFlightWindow = 128;
// Drafts signed in one store commit.
inline constexpr std::size_t kAuthorBatch = 32;
// FLASH drafts are signed even when the window is full, up to this many beyond it, so that a
// FLASH entry waits only for what is already in flight, never for the window to drain.
inline constexpr std::uint64_t kFlashBeyondWindow = 64;
// Entries are read from the store to be (re)sent only while the connection's send queue holds less
// than this, so that a resend of a long chain streams instead of filling memory.
inline constexpr std::size_t kMaxQueuedBytes = 4u << 20;

// What a Session queues frames on.
class SessionTransport {
 public:
  virtual ~SessionTransport() = default;
  virtual void send_frame(Bytes frame) = 0;
  virtual std::size_t queued_bytes() const = 0;
};

// Counted per line across connections, for status and metrics. Rejections are counted by kind
// (the GOODBYE reason names: "malformed", "bad-signature", …).
struct LineCounters {
  std::uint64_t entries_sent = 0;        // own entries written to a connection (resends included)
  std::uint64_t entries_resent = 0;      // of which resent after a reconnect
  std::uint64_t highest_seq_sent = 0;    // the highest own seq ever sent (to tell resends)
  std::uint64_t entries_received = 0;    // peer entries newly stored
  std::uint64_t duplicates_dropped = 0;  // peer entries received again and already held
  std::uint64_t entries_recovered = 0;   // own entries recovered from the peer
  std::uint64_t receipts_received = 0;
  std::uint64_t receipts_sent = 0;
  std::uint64_t checkpoints_received = 0;
  std::uint64_t connections_opened = 0;
  std::map<std::string, std::uint64_t> rejected;  // by kind, from this station's side
  std::uint64_t alarms = 0;                       // equivocation or divergence detected
};

// What a Session reports to its line (logging, alarms). All optional.
struct SessionEvents {
  std::function<void(const std::string&)> info;
  std::function<void(const std::string&)> alarm;  // equivocation or divergence: evidence kept
  // The line opened: HELLO exchanged and this station's own chain known to be current (recovered
  // from the peer if it was behind).
  std::function<void()> opened;
};

enum class SessionState { kAwaitingHello, kRecovering, kOpen, kClosed };
std::string_view session_state_name(SessionState state);

class Session {
 public:
  Session(LineRecord& record, store::RecordStore& store, LineCounters& counters,
          SessionTransport& transport, SessionEvents events = {});

  SessionState state() const { return state_; }

  // The GOODBYE reason for an error this Session returned.
  link::GoodbyeReason goodbye_reason(const Error& error) const;

  // Queues this station's HELLO. Call once, first.
  [[nodiscard]] Result<void> start();

  // Handles one frame from the peer. Returns false when the peer said GOODBYE (the connection
  // should close quietly); an error is a protocol error (see above).
  [[nodiscard]] Result<bool> on_frame(const link::Frame& frame);

  // Queues what is due: entries the peer lacks, then new entries authored from the outbox while
  // the in-flight window has room. Call when drafts were queued or the transport drained.
  [[nodiscard]] Result<void> pump();

  // Queues a receipt the LineRecord reports durable (RecordListener::peer_durable).
  void send_receipt(const SignedReceipt& receipt);
  // Whether a message of this precedence could be signed right now without waiting in the
  // outbox: the line is open, the peer is not recovering, and the in-flight window has room (for
  // FLASH, up to kFlashBeyondWindow beyond it).
  bool can_author_now(Precedence precedence) const;

  // Queues a HEARTBEAT stamped `now` (µs since the epoch).
  [[nodiscard]] Result<void> send_heartbeat(Micros now);
  // Signs a checkpoint of both heads and has it written (only once open); it is sent by
  // send_stored_checkpoint once durable (RecordListener::own_checkpoint).
  [[nodiscard]] Result<void> send_checkpoint();
  void send_stored_checkpoint(const SignedCheckpoint& checkpoint);

  // The last heartbeat round trip, if one completed.
  std::optional<std::chrono::microseconds> round_trip() const { return round_trip_; }
  // How far the peer's clock is ahead of this station's (negative: behind), from the time in its
  // last heartbeat, the local clock when it arrived and half the last round trip. The procedure
  // shows it, and flags decisions whose author time is implausibly ahead (design.md §2).
  std::optional<std::chrono::microseconds> peer_clock_offset() const { return peer_clock_offset_; }
  // Highest seq of this station's chain the peer is known to hold.
  std::uint64_t peer_holds() const { return peer_holds_; }

 private:
  Result<void> send(const link::Message& message);
  Result<void> on_hello(const link::Hello& hello);
  Result<void> check_chain_at(const record::PublicKey& author, const record::ChainPosition& claimed,
                              const char* what);
  Result<void> on_entries(const link::Entries& message);
  Result<void> on_receipt(const link::Receipt& message);
  Result<void> on_checkpoint(const link::Checkpoint& message);
  Result<void> on_resend_request(const link::ResendRequest& request);
  Result<void> become_open();
  Result<std::uint64_t> stream_chain(const record::PublicKey& author, std::uint64_t& next,
                                     std::uint64_t last);
  Result<void> send_own_entries();
  Result<void> answer_resend();
  Result<void> author_new_entries();
  // Own entries signed and not yet covered by the peer's receipt.
  std::uint64_t in_flight() const;
  Error divergence(const std::string& detail);

  LineRecord& record_;
  store::RecordStore& store_;
  LineCounters& counters_;
  SessionTransport& transport_;
  SessionEvents events_;

  SessionState state_ = SessionState::kAwaitingHello;
  bool wrong_line_ = false;       // the peer's HELLO named another line or key
  std::uint64_t peer_holds_ = 0;  // of this station's chain, from HELLO and receipts
  std::uint64_t next_to_send_ = 1;
  std::uint64_t recover_target_ = 0;  // while recovering: the peer's copy of our chain
  // While the peer recovers its own chain, its RESEND_REQUEST is answered from `resend_next_`
  // to `resend_until_`; this station's own entries wait, since they cross-link what it recovers.
  bool peer_recovering_ = false;
  std::uint64_t resend_next_ = 0;
  std::uint64_t resend_until_ = 0;
  std::optional<SignedReceipt> deferred_receipt_;  // received while recovering, checked after
  std::uint64_t heartbeat_seq_ = 0;
  Micros heartbeat_sent_at_ = 0;
  std::optional<std::chrono::microseconds> round_trip_;
  std::optional<std::chrono::microseconds> peer_clock_offset_;
};

}  // namespace hotline::line
