#include "line/line_record.h"

#include <algorithm>
#include <thread>

namespace hotline::line {

Result<LineRecord> LineRecord::open(store::RecordStore& store, const crypto::SigningKey& key,
                                    const store::LineParties& line, const Clock& clock) {
  if (line.local != key.public_key()) {
    return make_error(Errc::kInvalidArgument, "line " + line.name + " belongs to another station");
  }
  LineRecord record(store, key, line, clock);
  HOTLINE_ASSIGN(record.own_, store.chain_head(line.id, line.local));
  HOTLINE_ASSIGN(record.peer_, store.chain_head(line.id, line.peer));
  HOTLINE_TRY(record.load_receipts());
  return record;
}

Result<void> LineRecord::load_receipts() {
  HOTLINE_ASSIGN(auto receipts, store_->receipts(line_.id));
  for (SignedReceipt& receipt : receipts) {
    if (receipt.fields.signer == line_.local && receipt.fields.chain_author == line_.peer) {
      if (!last_issued_ || receipt.fields.held.seq >= last_issued_->fields.held.seq) {
        last_issued_ = std::move(receipt);
      }
    } else if (receipt.fields.signer == line_.peer && receipt.fields.chain_author == line_.local) {
      // A receipt for more than this station holds (its database lost entries) proves nothing
      // about what is held here; recovery brings the entries back.
      if (receipt.fields.held.seq <= own_.position.seq) {
        receipted_seq_ = std::max(receipted_seq_, receipt.fields.held.seq);
      }
    }
  }
  return success();
}

// Author times never go backwards within a chain (rule E5), even if the wall clock does.
Micros LineRecord::now_not_before(Micros floor) const { return std::max(clock_->now(), floor); }

// The entry that follows `head` on this station's chain, cross-linking the peer's head.
Result<SignedEntry> LineRecord::sign_next(const record::ChainHead& head, std::string kind,
                                          cbor::Value body) {
  record::EntryFields f;
  f.line = line_.id;
  f.author = line_.local;
  f.seq = head.position.seq + 1;
  f.prev = head.position.hash;
  f.time = now_not_before(head.time);
  f.cross = peer_.position;
  f.kind = std::move(kind);
  f.body = std::move(body);
  return record::sign_entry(*key_, std::move(f));
}

Result<std::vector<SignedEntry>> LineRecord::author(std::vector<Draft> drafts) {
  std::vector<SignedEntry> signed_entries;
  signed_entries.reserve(drafts.size());
  record::ChainHead head = own_;
  for (Draft& draft : drafts) {
    HOTLINE_ASSIGN(SignedEntry entry,
                   sign_next(head, std::move(draft.kind), std::move(draft.body)));
    head = {entry.position(), entry.fields.time};
    signed_entries.push_back(std::move(entry));
  }
  HOTLINE_TRY(store_->append_entries(signed_entries));
  own_ = head;
  return signed_entries;
}

Result<std::vector<SignedEntry>> LineRecord::author_drafts(
    const std::vector<store::OutboxDraft>& drafts) {
  std::vector<SignedEntry> signed_entries;
  std::vector<std::uint64_t> ids;
  signed_entries.reserve(drafts.size());
  ids.reserve(drafts.size());
  record::ChainHead head = own_;
  for (const store::OutboxDraft& draft : drafts) {
    if (draft.line != line_.id) {
      return make_error(Errc::kInternal,
                        "draft " + std::to_string(draft.id) + " is not for line " + line_.name);
    }
    HOTLINE_ASSIGN(cbor::Value body, cbor::decode(draft.body));
    HOTLINE_ASSIGN(SignedEntry entry, sign_next(head, draft.kind, std::move(body)));
    head = {entry.position(), entry.fields.time};
    signed_entries.push_back(std::move(entry));
    ids.push_back(draft.id);
  }
  if (signed_entries.empty()) {
    return signed_entries;
  }
  HOTLINE_TRY(store_->append_entries_from_drafts(signed_entries, std::move(ids)));
  own_ = head;
  return signed_entries;
}

Result<void> LineRecord::recover_own_entries(const std::vector<SignedEntry>& entries) {
  record::ChainHead head = own_;
  std::vector<SignedEntry> fresh;
  for (const SignedEntry& entry : entries) {
    if (entry.fields.seq <= head.position.seq) {
      HOTLINE_ASSIGN(auto held, store_->read_entries(line_.id, line_.local, entry.fields.seq, 1));
      if (held.empty() || held.front().signed_bytes != entry.signed_bytes) {
        return make_error(Errc::kConflict, "line " + line_.name + ": the peer's copy of our seq " +
                                               std::to_string(entry.fields.seq) +
                                               " differs from ours");
      }
      continue;
    }
    HOTLINE_TRY(record::check_extends(line_.id, line_.local, head, entry));
    if (!record::verify_entry_signature(entry)) {
      return make_error(Errc::kBadSignature, "line " + line_.name + ": recovered entry seq " +
                                                 std::to_string(entry.fields.seq) +
                                                 " does not carry this station's valid signature");
    }
    const record::ChainPosition& cross = entry.fields.cross;
    if (cross.seq > 0 && cross.seq <= peer_.position.seq) {
      HOTLINE_ASSIGN(auto theirs, store_->read_entries(line_.id, line_.peer, cross.seq, 1));
      if (theirs.empty() || theirs.front().hash != cross.hash) {
        return make_error(Errc::kBrokenChain, "line " + line_.name + ": recovered entry seq " +
                                                  std::to_string(entry.fields.seq) +
                                                  " cross-links a peer entry we do not hold");
      }
    }
    head = {entry.position(), entry.fields.time};
    fresh.push_back(entry);
  }
  if (fresh.empty()) {
    return success();
  }
  // Drafts authored before the loss are in the recovered entries; match them by content.
  HOTLINE_ASSIGN(std::size_t queued, store_->count_drafts(line_.id, std::nullopt));
  HOTLINE_ASSIGN(auto drafts, store_->next_drafts(line_.id, queued));
  std::vector<std::uint64_t> authored;
  for (const SignedEntry& entry : fresh) {
    Bytes body = cbor::encode(entry.fields.body);
    for (const store::OutboxDraft& draft : drafts) {
      if (draft.kind == entry.fields.kind && draft.body == body &&
          std::find(authored.begin(), authored.end(), draft.id) == authored.end()) {
        authored.push_back(draft.id);
        break;
      }
    }
  }
  if (authored.empty()) {
    HOTLINE_TRY(store_->append_entries(std::move(fresh)));
  } else {
    HOTLINE_TRY(store_->append_entries_from_drafts(std::move(fresh), std::move(authored)));
  }
  own_ = head;
  return success();
}

// The verify.h rules take a chain as its hashes but look at one position only (the one a receipt
// or checkpoint names). Rather than read the whole chain, this returns a vector as long as the
// chain up to `seq` with just that last hash filled in: the rule sees the same answer.
Result<std::vector<record::Hash>> LineRecord::hashes_for_position(const record::PublicKey& author,
                                                                  std::uint64_t head_seq,
                                                                  std::uint64_t seq) {
  std::vector<record::Hash> hashes(std::min(seq, head_seq));
  if (seq >= 1 && seq <= head_seq) {
    HOTLINE_ASSIGN(auto held, store_->read_entries(line_.id, author, seq, 1));
    if (held.empty()) {
      return make_error(Errc::kInternal, "entry " + std::to_string(seq) +
                                             " below the head is missing from the store");
    }
    hashes.back() = held.front().hash;
  }
  return hashes;
}

Result<bool> LineRecord::already_held(const SignedEntry& entry) {
  HOTLINE_ASSIGN(auto held, store_->read_entries(line_.id, line_.peer, entry.fields.seq, 1));
  if (held.empty()) {
    return make_error(Errc::kInternal, "peer entry below the head is missing from the store");
  }
  if (held.front().signed_bytes == entry.signed_bytes) {
    return true;
  }
  if (auto evidence = record::find_equivocation(held.front(), entry)) {
    store::Evidence e;
    e.kind = store::Evidence::Kind::kEquivocation;
    e.line = line_.id;
    e.culprit = line_.peer;
    e.seq = entry.fields.seq;
    e.detail = "two different signed entries for seq " + std::to_string(entry.fields.seq);
    e.first = evidence->first.signed_bytes;
    e.second = evidence->second.signed_bytes;
    e.recorded_at = clock_->now();
    HOTLINE_TRY(store_->add_evidence(e));
    return make_error(Errc::kConflict, "line " + line_.name +
                                           ": the peer signed two different "
                                           "entries for seq " +
                                           std::to_string(entry.fields.seq) +
                                           " (equivocation; evidence kept)");
  }
  return make_error(Errc::kBadSignature,
                    "line " + line_.name + ": entry for seq " + std::to_string(entry.fields.seq) +
                        " differs from the one held and is not validly signed");
}

namespace {

// Whether each entry carries a valid signature, checked on two threads for a large batch: one
// verification per entry is what bounds how fast a station can receive (docs/benchmarks.md).
std::vector<char> verify_signatures(const std::vector<SignedEntry>& entries) {
  std::vector<char> valid(entries.size(), 0);
  auto verify_range = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      valid[i] = record::verify_entry_signature(entries[i]) ? 1 : 0;
    }
  };
  constexpr std::size_t kParallelFrom = 64;  // below this a thread costs more than it saves
  if (entries.size() < kParallelFrom || std::thread::hardware_concurrency() < 2) {
    verify_range(0, entries.size());
    return valid;
  }
  const std::size_t half = entries.size() / 2;
  std::thread helper(verify_range, 0, half);
  verify_range(half, entries.size());
  helper.join();
  return valid;
}

}  // namespace

Result<void> LineRecord::check_incoming(const SignedEntry& entry, const record::ChainHead& head,
                                        bool signature_valid) {
  HOTLINE_TRY(record::check_extends(line_.id, line_.peer, head, entry));
  if (!signature_valid) {
    return make_error(Errc::kBadSignature, "line " + line_.name + ": entry seq " +
                                               std::to_string(entry.fields.seq) +
                                               " does not carry the peer's valid signature");
  }
  const record::ChainPosition& cross = entry.fields.cross;
  if (cross.seq > own_.position.seq) {
    return make_error(Errc::kBrokenChain, "entry seq " + std::to_string(entry.fields.seq) +
                                              " cross-links our seq " + std::to_string(cross.seq) +
                                              ", which we never authored");
  }
  // Entries of one batch mostly cross-link the same entry of ours: read it once. (Our chain
  // never changes below its head, so a position checked once stays checked.)
  if (cross.seq > 0 && cross != checked_cross_) {
    HOTLINE_ASSIGN(auto ours, store_->read_entries(line_.id, line_.local, cross.seq, 1));
    if (ours.empty() || ours.front().hash != cross.hash) {
      return make_error(Errc::kBrokenChain, "entry seq " + std::to_string(entry.fields.seq) +
                                                " cross-links a hash of our chain we never signed");
    }
    checked_cross_ = cross;
  }
  return success();
}

Result<SignedReceipt> LineRecord::accept_entries(const std::vector<SignedEntry>& entries) {
  record::ChainHead head = peer_;
  std::vector<SignedEntry> fresh;
  const std::vector<char> signature_valid = verify_signatures(entries);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const SignedEntry& entry = entries[i];
    if (entry.fields.seq >= 1 && entry.fields.seq <= head.position.seq) {
      HOTLINE_ASSIGN(bool held, already_held(entry));
      (void)held;  // identical: a resend after a reconnect; nothing to do
      continue;
    }
    HOTLINE_TRY(check_incoming(entry, head, signature_valid[i] != 0));
    head = {entry.position(), entry.fields.time};
    fresh.push_back(entry);
  }
  if (fresh.empty()) {
    return receipt_for_peer_head();  // a resend of what is held: no new receipt needed
  }
  // Signed now, but stored in the commit that stores the entries and sent only after it: the
  // receipt never exists without the entries it acknowledges.
  HOTLINE_ASSIGN(SignedReceipt receipt, make_peer_receipt(head.position));
  HOTLINE_TRY(store_->append_entries_with_receipt(std::move(fresh), receipt));
  peer_ = head;
  last_issued_ = receipt;
  return receipt;
}

Result<SignedReceipt> LineRecord::make_peer_receipt(const record::ChainPosition& held) {
  record::ReceiptFields f;
  f.line = line_.id;
  f.signer = line_.local;
  f.chain_author = line_.peer;
  f.held = held;
  f.time = clock_->now();
  return record::sign_receipt(*key_, f);
}

Result<SignedReceipt> LineRecord::sign_peer_receipt() {
  HOTLINE_ASSIGN(SignedReceipt receipt, make_peer_receipt(peer_.position));
  HOTLINE_TRY(store_->add_receipt(receipt));
  last_issued_ = receipt;
  return receipt;
}

Result<SignedReceipt> LineRecord::receipt_for_peer_head() {
  if (last_issued_ && last_issued_->fields.held == peer_.position) {
    return *last_issued_;
  }
  return sign_peer_receipt();
}

Result<void> LineRecord::accept_receipt(const SignedReceipt& receipt) {
  if (receipt.fields.chain_author != line_.local) {
    return make_error(Errc::kBrokenChain, "receipt is not for this station's chain");
  }
  if (!record::verify_receipt_signature(receipt)) {
    return make_error(Errc::kBadSignature, "receipt does not carry the peer's valid signature");
  }
  HOTLINE_ASSIGN(auto hashes,
                 hashes_for_position(line_.local, own_.position.seq, receipt.fields.held.seq));
  HOTLINE_TRY(record::check_receipt(receipt, line_.id, line_.peer, hashes));
  HOTLINE_TRY(store_->add_receipt(receipt));
  receipted_seq_ = std::max(receipted_seq_, receipt.fields.held.seq);
  return success();
}

Result<SignedCheckpoint> LineRecord::checkpoint() {
  record::CheckpointFields f;
  f.line = line_.id;
  f.signer = line_.local;
  f.own = own_.position;
  f.peer = peer_.position;
  f.time = clock_->now();
  HOTLINE_ASSIGN(SignedCheckpoint checkpoint, record::sign_checkpoint(*key_, f));
  HOTLINE_TRY(store_->add_checkpoint(checkpoint));
  return checkpoint;
}

Result<record::CheckpointMatch> LineRecord::accept_checkpoint(const SignedCheckpoint& checkpoint) {
  if (checkpoint.fields.line != line_.id || checkpoint.fields.signer != line_.peer) {
    return make_error(Errc::kBrokenChain, "checkpoint is not the peer's for this line");
  }
  if (!record::verify_checkpoint_signature(checkpoint)) {
    return make_error(Errc::kBadSignature, "checkpoint does not carry the peer's valid signature");
  }
  HOTLINE_ASSIGN(auto peer_hashes,
                 hashes_for_position(line_.peer, peer_.position.seq, checkpoint.fields.own.seq));
  HOTLINE_ASSIGN(auto own_hashes,
                 hashes_for_position(line_.local, own_.position.seq, checkpoint.fields.peer.seq));
  auto comparison = record::compare_checkpoint(checkpoint, peer_hashes, own_hashes);
  if (comparison.match == record::CheckpointMatch::kDivergent) {
    store::Evidence e;
    e.kind = store::Evidence::Kind::kDivergence;
    e.line = line_.id;
    e.culprit = line_.peer;
    e.seq = checkpoint.fields.own.seq;
    e.detail = comparison.detail;
    e.first = checkpoint.signed_bytes;
    e.recorded_at = clock_->now();
    HOTLINE_TRY(store_->add_evidence(e));
    return make_error(Errc::kConflict, "line " + line_.name + ": peer checkpoint diverges: " +
                                           comparison.detail + " (evidence kept)");
  }
  HOTLINE_TRY(store_->add_checkpoint(checkpoint));
  return comparison.match;
}

}  // namespace hotline::line
