#include "line/session.h"

#include <algorithm>

#include "record/checkpoint.h"
#include "record/receipt.h"

namespace hotline::line {

namespace {

std::string seq_text(std::uint64_t seq) { return std::to_string(seq); }

std::chrono::steady_clock::time_point steady_now() { return std::chrono::steady_clock::now(); }

}  // namespace

std::string_view session_state_name(SessionState state) {
  switch (state) {
    case SessionState::kAwaitingHello:
      return "awaiting-hello";
    case SessionState::kRecovering:
      return "recovering";
    case SessionState::kOpen:
      return "open";
    case SessionState::kClosed:
      return "closed";
  }
  return "unknown";
}

Session::Session(LineRecord& record, store::RecordStore& store, LineCounters& counters,
                 SessionTransport& transport, SessionEvents events)
    : record_(record),
      store_(store),
      counters_(counters),
      transport_(transport),
      events_(std::move(events)) {}

link::GoodbyeReason Session::goodbye_reason(const Error& error) const {
  return wrong_line_ ? link::GoodbyeReason::kWrongLine : link::goodbye_reason_for(error.code);
}

Result<void> Session::send(const link::Message& message) {
  HOTLINE_ASSIGN(Bytes frame, link::encode_message(message));
  transport_.send_frame(std::move(frame));
  return success();
}

Result<void> Session::start() {
  link::Hello hello;
  hello.line = record_.line().id;
  hello.sender = record_.line().local;
  // The heads including writes in flight. Own entries go out while their commit runs, so the
  // peer may already hold them; and the peer, if it lost entries it sent us (it died before its
  // own commit), must hear that we hold them, or it would sign those sequence numbers again. A
  // write that fails closes the connection, and the next HELLO says what is stored.
  hello.sender_chain = record_.own_head().position;
  hello.receiver_chain = record_.peer_head().position;
  if (record_.failed()) {
    return make_error(Errc::kIo, "line " + record_.line().name +
                                     ": its record is being reloaded after a failed write");
  }
  return send(hello);
}

Result<bool> Session::on_frame(const link::Frame& frame) {
  HOTLINE_ASSIGN(link::Message message, link::decode_message(frame));
  if (auto* goodbye = std::get_if<link::Goodbye>(&message)) {
    if (events_.info) {
      events_.info("peer said goodbye (" + std::string(link::goodbye_reason_name(goodbye->reason)) +
                   "): " + goodbye->text);
    }
    state_ = SessionState::kClosed;
    return false;
  }
  if (state_ == SessionState::kClosed) {
    return make_error(Errc::kRefused, "frame after the session closed");
  }
  if (state_ == SessionState::kAwaitingHello) {
    const auto* hello = std::get_if<link::Hello>(&message);
    if (hello == nullptr) {
      return make_error(Errc::kRefused,
                        std::string(link::frame_type_name(frame.type)) + " before HELLO");
    }
    HOTLINE_TRY(on_hello(*hello));
    return true;
  }
  return std::visit(
      [&](const auto& m) -> Result<bool> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, link::Hello>) {
          return make_error(Errc::kRefused, "a second HELLO on one connection");
        } else if constexpr (std::is_same_v<T, link::Entries>) {
          HOTLINE_TRY(on_entries(m));
        } else if constexpr (std::is_same_v<T, link::Receipt>) {
          HOTLINE_TRY(on_receipt(m));
        } else if constexpr (std::is_same_v<T, link::Checkpoint>) {
          HOTLINE_TRY(on_checkpoint(m));
        } else if constexpr (std::is_same_v<T, link::Heartbeat>) {
          HOTLINE_TRY(send(link::HeartbeatAck{m.seq}));
          // It was sent about half a round trip ago.
          const Micros half_trip = round_trip_ ? round_trip_->count() / 2 : 0;
          peer_clock_offset_ =
              std::chrono::microseconds(m.time + half_trip - record_.clock().now());
        } else if constexpr (std::is_same_v<T, link::HeartbeatAck>) {
          if (m.seq == heartbeat_seq_ && heartbeat_sent_at_ != 0) {
            round_trip_ = std::chrono::duration_cast<std::chrono::microseconds>(
                steady_now().time_since_epoch() - std::chrono::microseconds(heartbeat_sent_at_));
          }
        } else if constexpr (std::is_same_v<T, link::ResendRequest>) {
          HOTLINE_TRY(on_resend_request(m));
        } else {
          static_assert(std::is_same_v<T, link::Goodbye>);
        }
        return true;
      },
      message);
}

Error Session::divergence(const std::string& detail) {
  ++counters_.alarms;
  store::Evidence e;
  e.kind = store::Evidence::Kind::kDivergence;
  e.line = record_.line().id;
  e.culprit = record_.line().peer;
  e.detail = "HELLO: " + detail;
  auto stored = store_.add_evidence(e);
  if (events_.alarm) {
    events_.alarm("line " + record_.line().name + ": the record has diverged: " + detail);
  }
  if (!stored.ok()) {
    return stored.error();
  }
  return make_error(Errc::kConflict, "the record has diverged: " + detail);
}

// The peer's HELLO names a position of `author`'s chain; where this station holds that position,
// the hashes must agree.
Result<void> Session::check_chain_at(const record::PublicKey& author,
                                     const record::ChainPosition& claimed, const char* what) {
  const bool ours = author == record_.line().local;
  const record::ChainHead& head = ours ? record_.own_head() : record_.peer_head();
  if (claimed.seq == 0 || claimed.seq > head.position.seq) {
    return success();
  }
  HOTLINE_ASSIGN(auto held, record_.read_chain(author, claimed.seq, 1));
  if (held.empty() || held.front().hash != claimed.hash) {
    return divergence(
        std::string(what) + (ours ? " names our seq " : " names its seq ") + seq_text(claimed.seq) +
        (ours ? " with a hash we never signed" : " with a hash other than the entry we hold"));
  }
  return success();
}

Result<void> Session::on_hello(const link::Hello& hello) {
  const store::LineParties& line = record_.line();
  if (hello.line != line.id) {
    wrong_line_ = true;
    return make_error(Errc::kRefused, "HELLO names another line than " + line.name);
  }
  if (hello.sender != line.peer) {
    wrong_line_ = true;
    return make_error(Errc::kRefused, "HELLO sender is not the key TLS authenticated");
  }
  HOTLINE_TRY(check_chain_at(line.local, hello.receiver_chain, "the peer's copy of our chain"));
  HOTLINE_TRY(check_chain_at(line.peer, hello.sender_chain, "the peer's own head"));
  ++counters_.connections_opened;

  // The peer's copy of the peer's own chain is behind ours: it lost entries and will ask for
  // them. Ours cross-link them, so ours wait until it has them (docs/protocol.md §4.2).
  peer_recovering_ = hello.sender_chain.seq < record_.peer_head().position.seq;

  // While peer entries are being written, the receipt for them goes out once they are durable
  // (LineRecord's peer_durable); one for less now would only have to be signed and stored first.
  const bool peer_writes_in_flight =
      record_.peer_head().position.seq > record_.peer_durable().position.seq;
  if (record_.peer_head().position.seq > 0 && !peer_writes_in_flight) {
    HOTLINE_ASSIGN(SignedReceipt receipt, record_.receipt_for_peer_head());
    HOTLINE_TRY(send(link::Receipt{receipt.signed_bytes}));
    ++counters_.receipts_sent;
  }

  const std::uint64_t own_seq = record_.own_head().position.seq;
  if (hello.receiver_chain.seq > own_seq) {
    // This station lost entries of its own chain. Signing now would reuse a sequence number.
    state_ = SessionState::kRecovering;
    recover_target_ = hello.receiver_chain.seq;
    peer_holds_ = own_seq;
    if (events_.info) {
      events_.info("the peer holds our chain up to seq " + seq_text(recover_target_) +
                   " but we hold only " + seq_text(own_seq) +
                   ": recovering it, authoring nothing until then");
    }
    return send(link::ResendRequest{line.local, own_seq + 1});
  }
  peer_holds_ = hello.receiver_chain.seq;
  next_to_send_ = peer_holds_ + 1;
  return become_open();
}

Result<void> Session::become_open() {
  state_ = SessionState::kOpen;
  if (deferred_receipt_) {
    SignedReceipt receipt = std::move(*deferred_receipt_);
    deferred_receipt_.reset();
    if (receipt.fields.held.seq <= record_.own_head().position.seq) {
      HOTLINE_TRY(record_.accept_receipt(receipt));
      ++counters_.receipts_received;
    }
  }
  next_to_send_ = std::max(next_to_send_, peer_holds_ + 1);
  HOTLINE_TRY(send_checkpoint());
  if (events_.opened) {
    events_.opened();
  }
  return pump();
}

Result<void> Session::on_entries(const link::Entries& message) {
  HOTLINE_ASSIGN(std::vector<SignedEntry> entries, link::decode_entries(message));
  const store::LineParties& line = record_.line();
  const record::PublicKey author = entries.front().fields.author;
  for (const SignedEntry& entry : entries) {
    if (entry.fields.author != author) {
      return make_error(Errc::kBrokenChain, "one ENTRIES frame mixes two chains");
    }
  }
  if (author == line.local) {
    if (state_ != SessionState::kRecovering) {
      return make_error(Errc::kRefused, "entries of our own chain that we did not ask for");
    }
    const std::uint64_t before = record_.own_head().position.seq;
    HOTLINE_TRY(record_.recover_own_entries(entries));
    counters_.entries_recovered += record_.own_head().position.seq - before;
    if (record_.own_head().position.seq >= recover_target_) {
      peer_holds_ = recover_target_;
      if (events_.info) {
        events_.info("recovered our chain up to seq " + seq_text(recover_target_));
      }
      return become_open();
    }
    return success();
  }
  if (author != line.peer) {
    return make_error(Errc::kBrokenChain, "entries signed by neither party of the line");
  }
  const std::size_t arrived = entries.size();
  auto added = record_.accept_entries_async(std::move(entries));
  if (!added.ok()) {
    if (added.error().code == Errc::kConflict) {
      ++counters_.alarms;
      if (events_.alarm) {
        events_.alarm(added.error().message);
      }
    }
    return added.error();
  }
  // The receipt goes out once the entries are durable (send_receipt, from the LineLink).
  counters_.entries_received += added.value();
  counters_.duplicates_dropped += arrived - added.value();
  return success();
}

void Session::send_receipt(const SignedReceipt& receipt) {
  if (state_ == SessionState::kAwaitingHello || state_ == SessionState::kClosed) {
    return;  // HELLO's answer carries the receipt for what is durable by then
  }
  if (send(link::Receipt{receipt.signed_bytes}).ok()) {
    ++counters_.receipts_sent;
  }
}

namespace {

// How many own entries may be in flight before one of `precedence` has to wait.
std::uint64_t window_for(Precedence precedence) {
  return precedence == Precedence::kFlash ? kInFlightWindow + kFlashBeyondWindow : kInFlightWindow;
}

}  // namespace

std::uint64_t Session::in_flight() const { return record_.own_head().position.seq - peer_holds_; }

bool Session::can_author_now(Precedence precedence) const {
  return state_ == SessionState::kOpen && !peer_recovering_ && in_flight() < window_for(precedence);
}

Result<void> Session::on_receipt(const link::Receipt& message) {
  HOTLINE_ASSIGN(SignedReceipt receipt, record::decode_receipt(message.signed_receipt));
  if (receipt.fields.signer != record_.line().peer) {
    return make_error(Errc::kBadSignature, "receipt not signed by the peer");
  }
  if (receipt.fields.line != record_.line().id) {
    return make_error(Errc::kBrokenChain, "receipt for another line");  // rule R1
  }
  if (state_ == SessionState::kRecovering &&
      receipt.fields.held.seq > record_.own_head().position.seq) {
    // A receipt for entries this station is still recovering: checkable only once they are back.
    if (!record::verify_receipt_signature(receipt)) {
      return make_error(Errc::kBadSignature, "receipt does not carry the peer's valid signature");
    }
    deferred_receipt_ = std::move(receipt);
    return success();
  }
  HOTLINE_TRY(record_.accept_receipt_async(receipt));
  ++counters_.receipts_received;
  peer_holds_ = std::max(peer_holds_, receipt.fields.held.seq);
  return state_ == SessionState::kOpen ? pump() : success();
}

Result<void> Session::on_checkpoint(const link::Checkpoint& message) {
  HOTLINE_ASSIGN(SignedCheckpoint checkpoint, record::decode_checkpoint(message.signed_checkpoint));
  auto match = record_.accept_checkpoint_async(checkpoint);
  if (!match.ok()) {
    if (match.error().code == Errc::kConflict) {
      ++counters_.alarms;
      if (events_.alarm) {
        events_.alarm(match.error().message);
      }
    }
    return match.error();
  }
  ++counters_.checkpoints_received;
  return success();
}

Result<void> Session::on_resend_request(const link::ResendRequest& request) {
  if (request.chain_author != record_.line().peer) {
    return make_error(Errc::kRefused, "RESEND_REQUEST for a chain other than the requester's own");
  }
  resend_next_ = request.from_seq;
  resend_until_ = record_.peer_head().position.seq;
  peer_recovering_ = true;
  if (events_.info) {
    events_.info("the peer is recovering its chain: resending its seq " + seq_text(resend_next_) +
                 " to " + seq_text(resend_until_));
  }
  return pump();
}

Result<void> Session::pump() {
  if (state_ == SessionState::kClosed || state_ == SessionState::kAwaitingHello) {
    return success();
  }
  HOTLINE_TRY(answer_resend());
  if (state_ != SessionState::kOpen || peer_recovering_) {
    return success();
  }
  HOTLINE_TRY(send_own_entries());
  HOTLINE_TRY(author_new_entries());
  return send_own_entries();
}

// Queues stored entries of `author`'s chain from `next` up to `last`, a frame at a time, while
// the send queue has room; advances `next` past what it queued and returns how many.
Result<std::uint64_t> Session::stream_chain(const record::PublicKey& author, std::uint64_t& next,
                                            std::uint64_t last) {
  std::uint64_t queued = 0;
  while (next <= last && transport_.queued_bytes() < kMaxQueuedBytes) {
    const std::size_t count = std::min<std::uint64_t>(last - next + 1, link::kMaxEntriesPerFrame);
    HOTLINE_ASSIGN(auto entries, record_.read_chain(author, next, count));
    if (entries.empty()) {
      return make_error(Errc::kInternal,
                        "entry " + seq_text(next) + " below the head is missing from the store");
    }
    link::EntriesBatch batch;
    for (const SignedEntry& entry : entries) {
      if (!batch.try_add(entry.signed_bytes)) {
        break;
      }
      ++next;
    }
    queued += batch.size();
    HOTLINE_TRY(send(batch.take()));
  }
  return queued;
}

// The peer's own entries it asked for back (RESEND_REQUEST), from this station's copy.
Result<void> Session::answer_resend() {
  if (!peer_recovering_ || resend_until_ == 0) {
    return success();
  }
  HOTLINE_TRY(stream_chain(record_.line().peer, resend_next_, resend_until_));
  if (resend_next_ > resend_until_) {
    peer_recovering_ = false;
  }
  return success();
}

// Own entries not yet sent on this connection: those just signed, whose commit may still be
// running (the peer's work overlaps with it; see Session::start for why that is safe), and after a
// reconnect those the peer never stored.
Result<void> Session::send_own_entries() {
  const std::uint64_t from = next_to_send_;
  HOTLINE_ASSIGN(std::uint64_t sent, stream_chain(record_.line().local, next_to_send_,
                                                  record_.own_head().position.seq));
  counters_.entries_sent += sent;
  if (from <= counters_.highest_seq_sent) {
    counters_.entries_resent += std::min(counters_.highest_seq_sent - from + 1, sent);
  }
  counters_.highest_seq_sent = std::max(counters_.highest_seq_sent, next_to_send_ - 1);
  return success();
}

// Signs one batch of drafts if the in-flight window has room; pump sends it right after, while it
// is being written. One batch per call: the connection writes it, and calls pump again for the
// next, so the peer checks one batch while this station signs the next, instead of waiting for a
// whole window signed in one go.
Result<void> Session::author_new_entries() {
  if (transport_.queued_bytes() >= kMaxQueuedBytes) {
    return success();
  }
  const std::uint64_t signed_unreceipted = in_flight();
  std::size_t room = 0;
  if (signed_unreceipted < kInFlightWindow) {
    room = std::min<std::uint64_t>(kInFlightWindow - signed_unreceipted, kAuthorBatch);
  } else if (signed_unreceipted < window_for(Precedence::kFlash)) {
    // A FLASH draft does not wait for the window to drain: it is signed at once and goes out
    // right behind what is already in flight.
    HOTLINE_ASSIGN(auto next, record_.next_drafts(1));
    if (next.empty() || next.front().precedence != Precedence::kFlash) {
      return success();
    }
    room = 1;
  } else {
    return success();
  }
  HOTLINE_ASSIGN(auto drafts, record_.next_drafts(room));
  if (!drafts.empty()) {
    HOTLINE_TRY(record_.author_drafts_async(drafts));
  }
  return success();
}

Result<void> Session::send_heartbeat(Micros now) {
  ++heartbeat_seq_;
  heartbeat_sent_at_ =
      std::chrono::duration_cast<std::chrono::microseconds>(steady_now().time_since_epoch())
          .count();
  return send(link::Heartbeat{heartbeat_seq_, std::max<Micros>(now, 0)});
}

Result<void> Session::send_checkpoint() {
  if (state_ != SessionState::kOpen) {
    return success();
  }
  // The checkpoint goes out once durable (send_stored_checkpoint, from the LineLink), so the line's
  // thread does not wait for the disk, and the peer never holds a checkpoint this station lost.
  return record_.checkpoint_async();
}

void Session::send_stored_checkpoint(const SignedCheckpoint& checkpoint) {
  if (state_ != SessionState::kOpen) {
    return;  // the next session's opening sends a checkpoint of its own
  }
  (void)send(link::Checkpoint{checkpoint.signed_bytes});
}

}  // namespace hotline::line
