// line/line_record.h — one station's side of one line's record.
//
// Authors entries on the station's own chain and accepts the peer's entries, receipts and
// checkpoints, applying every rule of the record before anything is stored and storing durably
// before anything is acknowledged (design.md §3). The link (and, until it exists, the offline
// demo) drives it. Not thread-safe: one line is driven from one strand.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "crypto/identity.h"
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

class LineRecord {
 public:
  // Loads both chains' heads. `store`, `key` and `clock` must outlive the LineRecord.
  static Result<LineRecord> open(store::RecordStore& store, const crypto::SigningKey& key,
                                 const store::LineParties& line, const Clock& clock);

  const store::LineParties& line() const { return line_; }
  const record::ChainHead& own_head() const { return own_; }
  const record::ChainHead& peer_head() const { return peer_; }
  const Clock& clock() const { return *clock_; }

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
  // station has stored them.
  std::uint64_t receipted_seq() const { return receipted_seq_; }

  // Signs and stores a checkpoint of both heads.
  Result<SignedCheckpoint> checkpoint();

  // Checks and stores the peer's checkpoint. A divergent one is stored as evidence and reported
  // as kConflict; one ahead of the local copy is stored and reported as kAhead.
  Result<record::CheckpointMatch> accept_checkpoint(const SignedCheckpoint& checkpoint);

 private:
  LineRecord(store::RecordStore& store, const crypto::SigningKey& key, store::LineParties line,
             const Clock& clock)
      : store_(&store), key_(&key), line_(std::move(line)), clock_(&clock) {}

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
  record::ChainHead own_;
  record::ChainHead peer_;
  std::optional<SignedReceipt> last_issued_;  // the latest receipt this station signed
  record::ChainPosition checked_cross_;       // a position of our chain a cross-link matched
  std::uint64_t receipted_seq_ = 0;
};

}  // namespace hotline::line
