// line/line_record.h — one station's side of one line's record.
//
// Authors entries on the station's own chain and accepts the peer's entries, receipts and
// checkpoints, applying every rule of the record before anything is stored and storing durably
// before anything is acknowledged (design.md §3). The link (and, until it exists, the offline
// demo) drives it. Not thread-safe: one line is driven from one strand.
//
// Two ways to write. The plain methods block until their write is durable. The pipelined ones
// (`*_async`, `enqueue`) check and sign at once, advance the in-memory heads so that the next call
// can follow without waiting, and hand the write to the store's writer thread; their results come
// back through the line's Post and Listener once durable. So a station checks the next frame, or
// signs the next batch, while the previous one is being written, and its network thread never
// waits for a disk (docs/architecture.md, "Pipelined writes"). Nothing is acknowledged before it
// is durable: a receipt is signed only for durable entries, and the peer's receipt is stored, and
// reported, only once the entries it covers are durable here. Own entries may go out while their
// commit runs: if it fails, or the station dies first, the peer holds entries this station lost,
// and it recovers them from the peer before it signs again (docs/protocol.md §4.2), so no
// sequence number is reused. The in-memory heads run ahead of the durable ones
// (own_head/peer_head against own_durable/peer_durable) only by writes in flight; a write that
// fails marks the record failed, every later write is refused, and once the writes in flight have
// ended the record reloads its state from the store.
//
// Implemented in line_record.cc (this station's own chain, the outbox, the pipelined writes) and
// line_record_accept.cc (what arrives from the peer).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "crypto/identity.h"
#include "line/draft_queue.h"
#include "record/verify.h"
#include "store/record_store.h"

namespace hotline::line {

using record::SignedCheckpoint;
using record::SignedEntry;
using record::SignedReceipt;

struct Draft {
  std::string kind;
  cbor::Value body;
};

// Runs a closure on the thread that drives the LineRecord (e.g. posts it to its io_context).
using Post = std::function<void(std::function<void()>)>;

// What the pipelined writes report, on the line's thread. All optional.
struct RecordListener {
  // Own entries became durable (they went out already, or go out at the next pump).
  std::function<void()> own_durable;
  // Peer entries became durable with this receipt, which may now be sent to the peer.
  std::function<void(const SignedReceipt&)> peer_durable;
  // A pipelined write failed; the record refuses writes until it has reloaded from the store.
  std::function<void(const Error&)> write_failed;
  // The peer's receipt covering own entries up to this seq is now durable here.
  std::function<void(std::uint64_t)> receipted;
  // Outbox drafts were signed: each draft id with the seq of its entry (not durable yet).
  std::function<void(const std::vector<std::pair<std::uint64_t, std::uint64_t>>&)> drafts_signed;
  // Entries of either chain became durable, in seq order (or could not be read back to report
  // them). What the procedure projects from (station/line_desk.h).
  std::function<void(Result<std::vector<SignedEntry>>)> stored;
  // The peer's checkpoint was checked and stored; `holds_head` says this station holds the
  // peer's chain up to the head it names (so nothing the peer authored before it is missing).
  std::function<void(const SignedCheckpoint&, bool holds_head)> peer_checkpoint;
  // This station's checkpoint (checkpoint_async) is durable and may now be sent to the peer.
  std::function<void(const SignedCheckpoint&)> own_checkpoint;
};

class LineRecord {
 public:
  // Loads both chains' heads. `store`, `key` and `clock` must outlive the LineRecord. The
  // pipelined writes need `post`; the LineRecord must not move once one was made.
  static Result<LineRecord> open(store::RecordStore& store, const crypto::SigningKey& key,
                                 const store::LineParties& line, const Clock& clock,
                                 Post post = {});

  void set_listener(RecordListener listener) { listener_ = std::move(listener); }

  const store::LineParties& line() const { return line_; }
  // Heads including the writes in flight: what the next entry follows.
  const record::ChainHead& own_head() const { return own_; }
  const record::ChainHead& peer_head() const { return peer_; }
  // Heads as stored: what may be sent, acknowledged or reported.
  const record::ChainHead& own_durable() const { return own_durable_; }
  const record::ChainHead& peer_durable() const { return peer_durable_; }
  const Clock& clock() const { return *clock_; }

  // Pipelined writes still in flight, and whether a failed one keeps the record from writing.
  std::size_t writes_in_flight() const { return in_flight_; }
  bool failed() const { return failed_; }

  // Entries of `author`'s chain from `from_seq`, up to `limit`, including those still being
  // written (what the store would return once they are).
  Result<std::vector<SignedEntry>> read_chain(const record::PublicKey& author,
                                              std::uint64_t from_seq, std::size_t limit);

  // --- the outbox (design.md §4) ---

  // Drafts queued (or being queued) per precedence, as this record knows them: the station is
  // the outbox's only writer, so this is counted here rather than asked of the store.
  const std::array<std::uint64_t, 4>& outbox() const { return drafts_.counts(); }
  std::uint64_t outbox_size() const { return drafts_.size(); }
  // Queues a draft, durably, and returns its id.
  Result<std::uint64_t> enqueue(Precedence precedence, std::string kind, Bytes body);
  // Same, pipelined: `then` gets the id on the line's thread once the draft is durable.
  void enqueue(Precedence precedence, std::string kind, Bytes body,
               std::function<void(Result<std::uint64_t>)> then);
  // The next `limit` drafts in send order, leaving out those being authored now.
  Result<std::vector<store::OutboxDraft>> next_drafts(std::size_t limit);

  // --- pipelined writes (see the top of this file) ---

  // Signs the drafts as the next own entries and writes them, removing the drafts from the
  // outbox in the same commit; Listener::own_durable follows.
  Result<void> author_drafts_async(const std::vector<store::OutboxDraft>& drafts);
  // Signs the drafts as the next own entries (no outbox: nothing was waiting) and writes them;
  // they may be sent at once. `then` gets the last seq once durable, right after
  // Listener::own_durable; if the write fails, its error says the peer may hold them.
  Result<void> author_async(std::vector<Draft> drafts,
                            std::function<void(Result<std::uint64_t>)> then);
  // Checks the peer's entries exactly as accept_entries does, then writes the new ones with a
  // receipt for them; Listener::peer_durable hands over the receipt once durable. Returns the
  // number of new entries; a batch with none gets no receipt (the held one is sent on HELLO, and
  // one for newer entries is on its way).
  Result<std::uint64_t> accept_entries_async(std::vector<SignedEntry> entries);
  // Checks the peer's receipt exactly as accept_receipt does, then writes it, after the own
  // entries it covers if their commit is still in flight; receipted_seq follows once durable.
  Result<void> accept_receipt_async(const SignedReceipt& receipt);

  // Signs the drafts as the next entries of this station's chain and stores them durably in one
  // commit. The returned entries are what to send to the peer.
  Result<std::vector<SignedEntry>> author(std::vector<Draft> drafts);

  // Signs outbox drafts (in the order given) as the next entries of this station's chain and, in
  // one commit, appends them and removes the drafts from the outbox (store::RecordStore), so a
  // draft is authored exactly once even across a crash.
  Result<std::vector<SignedEntry>> author_drafts(const std::vector<store::OutboxDraft>& drafts);

  // Accepts entries of this station's *own* chain sent back by the peer, after this station lost
  // them (restored from a backup): each must carry this station's valid signature and extend the
  // own chain exactly as the peer's entries must extend the peer's. A cross-link beyond the local
  // copy of the peer's chain is taken on this station's own signature: the peer's entries that
  // would prove it may themselves cross-link entries still being recovered. Drafts still queued
  // whose kind and body equal a recovered entry's were authored before the loss; they leave the
  // outbox in the same commit instead of being authored a second time.
  Result<void> recover_own_entries(const std::vector<SignedEntry>& entries);

  // Accepts entries of the peer's chain, in order. Entries already held are skipped if identical;
  // a different validly signed entry for a held sequence number is equivocation: the evidence is
  // stored and the call fails with kConflict. Anything else that breaks a rule fails the call
  // and stores nothing. On success all new entries are durable and the returned receipt (also
  // stored) acknowledges the peer's chain up to its new head.
  Result<SignedReceipt> accept_entries(const std::vector<SignedEntry>& entries);

  // Accepts the peer's receipt for this station's chain, after checking it; stores it.
  Result<void> accept_receipt(const SignedReceipt& receipt);

  // A receipt for the peer's chain as held now: the last one this station signed if it covers the
  // head, else a new one (signed and stored). What a reconnecting peer is sent first, since the
  // receipt for its last batch may have been lost with the previous connection.
  Result<SignedReceipt> receipt_for_peer_head();

  // The sequence number of this station's chain that the peer's receipts cover, as far as this
  // station has stored them (durably).
  std::uint64_t receipted_seq() const { return receipted_seq_; }

  // Signs and stores a checkpoint of both heads.
  Result<SignedCheckpoint> checkpoint();
  // Signs a checkpoint of both heads and writes it without waiting for the disk;
  // Listener::own_checkpoint hands it over once durable, to be sent to the peer.
  Result<void> checkpoint_async();

  // Checks and stores the peer's checkpoint. A divergent one is stored as evidence and reported
  // as kConflict; one ahead of the local copy is stored and reported as kAhead.
  Result<record::CheckpointMatch> accept_checkpoint(const SignedCheckpoint& checkpoint);
  // Checks the peer's checkpoint exactly as accept_checkpoint does, then writes it without
  // waiting for the disk; Listener::peer_checkpoint follows once durable.
  Result<record::CheckpointMatch> accept_checkpoint_async(const SignedCheckpoint& checkpoint);

 private:
  LineRecord(store::RecordStore& store, const crypto::SigningKey& key, store::LineParties line,
             const Clock& clock, Post post)
      : store_(&store),
        key_(&key),
        line_(std::move(line)),
        clock_(&clock),
        post_(std::move(post)) {}

  Result<void> load();
  Result<void> check_writable() const;
  Result<void> require_post() const;
  Result<SignedCheckpoint> sign_checkpoint() const;
  // The checks of accept_checkpoint, before anything of the checkpoint itself is stored.
  Result<record::CheckpointMatch> check_peer_checkpoint(const SignedCheckpoint& checkpoint);
  // Wraps what to do on the line's thread when a pipelined write ends into the store's callback.
  store::WriteDone when_written(std::function<void(Result<void>)> on_line_thread);
  Result<std::optional<SignedEntry>> entry_at(const record::PublicKey& author, std::uint64_t seq);
  Result<std::vector<SignedEntry>> sign_batch(std::vector<Draft> drafts, record::ChainHead& head);
  void signed_ahead(const std::vector<SignedEntry>& entries, const record::ChainHead& head);
  // What became durable, for Listener::stored. The pipelined writes tell it only after the entry
  // or receipt went to the peer: what the procedure does with it is not on the peer's path.
  using Stored = std::optional<Result<std::vector<SignedEntry>>>;
  [[nodiscard]] Stored own_written(const record::ChainHead& head);
  [[nodiscard]] Stored peer_written(const record::ChainHead& head, const SignedReceipt& receipt);
  Stored read_stored(const record::PublicKey& author, std::uint64_t from, std::uint64_t to);
  void announce(Stored stored);
  Result<std::vector<SignedEntry>> check_batch(std::vector<SignedEntry> entries,
                                               record::ChainHead& head);
  Result<void> check_peer_receipt(const SignedReceipt& receipt);
  void store_peer_receipt(const SignedReceipt& receipt);

  Result<std::vector<record::Hash>> hashes_for_position(const record::PublicKey& author,
                                                        std::uint64_t head_seq, std::uint64_t seq);
  Result<void> check_incoming(const SignedEntry& entry, const record::ChainHead& head,
                              bool signature_valid);
  Result<bool> already_held(const SignedEntry& entry);
  Micros now_not_before(Micros floor) const;
  Result<SignedEntry> sign_next(const record::ChainHead& head, std::string kind, cbor::Value body);
  Result<SignedReceipt> sign_peer_receipt();
  Result<SignedReceipt> make_peer_receipt(const record::ChainPosition& held);
  Result<void> load_receipts();

  store::RecordStore* store_;
  const crypto::SigningKey* key_;
  store::LineParties line_;
  const Clock* clock_;
  Post post_;
  RecordListener listener_;
  // Pending completions check this, so that one arriving after the record is gone does nothing.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  record::ChainHead own_;
  record::ChainHead peer_;
  record::ChainHead own_durable_;
  record::ChainHead peer_durable_;
  // Own entries not yet covered by a receipt (being written, or written and maybe not yet sent),
  // and peer entries being written: what the store cannot be asked for yet, or need not be.
  std::map<std::uint64_t, SignedEntry> own_recent_;
  std::map<std::uint64_t, SignedEntry> peer_writing_;
  DraftQueue drafts_;
  std::size_t in_flight_ = 0;
  bool failed_ = false;
  std::optional<Error> failure_;
  std::optional<SignedReceipt> last_issued_;  // the latest receipt this station signed
  record::ChainPosition checked_cross_;       // a position of our chain a cross-link matched
  std::uint64_t receipted_seq_ = 0;
};

}  // namespace hotline::line
