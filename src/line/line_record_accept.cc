// line/line_record_accept.cc — LineRecord: what arrives from the peer (its entries, receipts and
// checkpoints), checked against every rule of the record before anything is stored.
#include "line/line_record.h"
#include "line/signature_check.h"

namespace hotline::line {

// The verify.h rules take a chain as its hashes but look at one position only (the one a receipt
// or checkpoint names). Rather than read the whole chain, this returns a vector as long as the
// chain up to `seq` with just that last hash filled in: the rule sees the same answer.
Result<std::vector<record::Hash>> LineRecord::hashes_for_position(const record::PublicKey& author,
                                                                  std::uint64_t head_seq,
                                                                  std::uint64_t seq) {
  std::vector<record::Hash> hashes(std::min(seq, head_seq));
  if (seq >= 1 && seq <= head_seq) {
    HOTLINE_ASSIGN(auto held, entry_at(author, seq));
    if (!held) {
      return make_error(Errc::kInternal, "entry " + std::to_string(seq) +
                                             " below the head is missing from the store");
    }
    hashes.back() = held->hash;
  }
  return hashes;
}

Result<bool> LineRecord::already_held(const SignedEntry& entry) {
  HOTLINE_ASSIGN(auto held, entry_at(line_.peer, entry.fields.seq));
  if (!held) {
    return make_error(Errc::kInternal, "peer entry below the head is missing from the store");
  }
  if (held->signed_bytes == entry.signed_bytes) {
    return true;
  }
  if (auto evidence = record::find_equivocation(*held, entry)) {
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
    HOTLINE_ASSIGN(auto ours, entry_at(line_.local, cross.seq));
    if (!ours || ours->hash != cross.hash) {
      return make_error(Errc::kBrokenChain, "entry seq " + std::to_string(entry.fields.seq) +
                                                " cross-links a hash of our chain we never signed");
    }
    checked_cross_ = cross;
  }
  return success();
}

// Takes the batch by value and moves the new entries out of it: they are what gets written.
Result<std::vector<SignedEntry>> LineRecord::check_batch(std::vector<SignedEntry> entries,
                                                         record::ChainHead& head) {
  std::vector<SignedEntry> fresh;
  fresh.reserve(entries.size());
  const std::vector<char> signature_valid = check_entry_signatures(entries);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    SignedEntry& entry = entries[i];
    if (entry.fields.seq >= 1 && entry.fields.seq <= head.position.seq) {
      HOTLINE_ASSIGN(bool held, already_held(entry));
      (void)held;  // identical: a resend after a reconnect; nothing to do
      continue;
    }
    HOTLINE_TRY(check_incoming(entry, head, signature_valid[i] != 0));
    head = {entry.position(), entry.fields.time};
    fresh.push_back(std::move(entry));
  }
  return fresh;
}

Result<SignedReceipt> LineRecord::accept_entries(const std::vector<SignedEntry>& entries) {
  record::ChainHead head = peer_;
  HOTLINE_ASSIGN(auto fresh, check_batch(entries, head));
  if (fresh.empty()) {
    return receipt_for_peer_head();  // a resend of what is held: no new receipt needed
  }
  // Signed now, but stored in the commit that stores the entries and sent only after it: the
  // receipt never exists without the entries it acknowledges.
  HOTLINE_ASSIGN(SignedReceipt receipt, make_peer_receipt(head.position));
  HOTLINE_TRY(store_->append_entries_with_receipt(std::move(fresh), receipt));
  peer_ = head;
  announce(peer_written(head, receipt));
  return receipt;
}

LineRecord::Stored LineRecord::peer_written(const record::ChainHead& head,
                                            const SignedReceipt& receipt) {
  Stored stored;
  if (head.position.seq > peer_durable_.position.seq) {
    const std::uint64_t from = peer_durable_.position.seq + 1;
    peer_durable_ = head;
    last_issued_ = receipt;
    stored = read_stored(line_.peer, from, head.position.seq);  // before peer_writing_ lets go
  }
  peer_writing_.erase(peer_writing_.begin(), peer_writing_.upper_bound(head.position.seq));
  return stored;
}

Result<std::uint64_t> LineRecord::accept_entries_async(std::vector<SignedEntry> entries) {
  HOTLINE_TRY(check_writable());
  record::ChainHead head = peer_;
  HOTLINE_ASSIGN(auto fresh, check_batch(std::move(entries), head));
  if (fresh.empty()) {
    return 0;
  }
  HOTLINE_ASSIGN(SignedReceipt receipt, make_peer_receipt(head.position));
  const std::uint64_t added = fresh.size();
  for (const SignedEntry& entry : fresh) {
    peer_writing_.emplace(entry.fields.seq, entry);
  }
  peer_ = head;
  store_->append_entries_with_receipt_then(
      std::move(fresh), receipt, when_written([this, head, receipt](Result<void> written) {
        if (!written.ok()) {
          return;
        }
        Stored stored = peer_written(head, receipt);
        // The receipt goes to the peer before the procedure looks at what arrived.
        if (listener_.peer_durable) {
          listener_.peer_durable(receipt);
        }
        announce(std::move(stored));
      }));
  return added;
}

Result<void> LineRecord::check_peer_receipt(const SignedReceipt& receipt) {
  if (receipt.fields.chain_author != line_.local) {
    return make_error(Errc::kBrokenChain, "receipt is not for this station's chain");
  }
  if (!record::verify_receipt_signature(receipt)) {
    return make_error(Errc::kBadSignature, "receipt does not carry the peer's valid signature");
  }
  const std::uint64_t seq = receipt.fields.held.seq;
  record::Hash held_hash{};
  if (seq >= 1 && seq <= own_.position.seq) {
    HOTLINE_ASSIGN(auto held, entry_at(line_.local, seq));
    if (!held) {
      return make_error(Errc::kInternal, "entry " + std::to_string(seq) +
                                             " below the head is missing from the store");
    }
    held_hash = held->hash;
  }
  return record::check_receipt(receipt, line_.id, line_.peer, own_.position.seq, held_hash);
}

Result<void> LineRecord::accept_receipt(const SignedReceipt& receipt) {
  HOTLINE_TRY(check_peer_receipt(receipt));
  HOTLINE_TRY(store_->add_receipt(receipt));
  receipted_seq_ = std::max(receipted_seq_, receipt.fields.held.seq);
  own_recent_.erase(own_recent_.begin(), own_recent_.upper_bound(receipt.fields.held.seq));
  return success();
}

Result<void> LineRecord::accept_receipt_async(const SignedReceipt& receipt) {
  HOTLINE_TRY(check_writable());
  HOTLINE_TRY(check_peer_receipt(receipt));
  // Own entries go out while their commit runs, so the peer's receipt can arrive first. It is
  // written at once all the same: the writer applies writes in the order they were handed to it,
  // so the receipt lands in the entries' transaction or a later one, never before, and the store
  // refuses a receipt for entries it does not hold (if their commit failed). Waiting here for
  // their commit to report instead would cost the line thread a round trip between the two.
  store_peer_receipt(receipt);
  return success();
}

void LineRecord::store_peer_receipt(const SignedReceipt& receipt) {
  const std::uint64_t held = receipt.fields.held.seq;
  store_->add_receipt_then(receipt, when_written([this, held](Result<void> written) {
                             if (!written.ok()) {
                               return;
                             }
                             // The peer holds these for good, and they are durable here (the
                             // store holds no receipt without them): they need not stay in memory.
                             own_recent_.erase(own_recent_.begin(), own_recent_.upper_bound(held));
                             if (held > receipted_seq_) {
                               receipted_seq_ = held;
                               if (listener_.receipted) {
                                 listener_.receipted(held);
                               }
                             }
                           }));
}

Result<record::CheckpointMatch> LineRecord::check_peer_checkpoint(
    const SignedCheckpoint& checkpoint) {
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
  return comparison.match;
}

Result<record::CheckpointMatch> LineRecord::accept_checkpoint(const SignedCheckpoint& checkpoint) {
  HOTLINE_ASSIGN(record::CheckpointMatch match, check_peer_checkpoint(checkpoint));
  HOTLINE_TRY(store_->add_checkpoint(checkpoint));
  if (listener_.peer_checkpoint) {
    listener_.peer_checkpoint(checkpoint, checkpoint.fields.own.seq <= peer_durable_.position.seq);
  }
  return match;
}

Result<record::CheckpointMatch> LineRecord::accept_checkpoint_async(
    const SignedCheckpoint& checkpoint) {
  HOTLINE_TRY(require_post());
  HOTLINE_ASSIGN(record::CheckpointMatch match, check_peer_checkpoint(checkpoint));
  store_->add_checkpoint_then(checkpoint, when_written([this, checkpoint](Result<void> written) {
                                if (written.ok() && listener_.peer_checkpoint) {
                                  // Whether this station holds the peer's chain up to the
                                  // checkpoint's head, as of now that the checkpoint is durable
                                  // (entries of that chain may have become durable since).
                                  listener_.peer_checkpoint(
                                      checkpoint,
                                      checkpoint.fields.own.seq <= peer_durable_.position.seq);
                                }
                              }));
  return match;
}

}  // namespace hotline::line
