#include "line/line_record.h"

#include <algorithm>
#include <limits>

namespace hotline::line {

Result<LineRecord> LineRecord::open(store::RecordStore& store, const crypto::SigningKey& key,
                                    const store::LineParties& line, const Clock& clock, Post post) {
  if (line.local != key.public_key()) {
    return make_error(Errc::kInvalidArgument, "line " + line.name + " belongs to another station");
  }
  LineRecord record(store, key, line, clock, std::move(post));
  HOTLINE_TRY(record.load());
  return record;
}

// Everything the record keeps in memory, from the store: at open, and after a failed write.
Result<void> LineRecord::load() {
  HOTLINE_ASSIGN(own_, store_->chain_head(line_.id, line_.local));
  HOTLINE_ASSIGN(peer_, store_->chain_head(line_.id, line_.peer));
  own_durable_ = own_;
  peer_durable_ = peer_;
  own_recent_.clear();
  peer_writing_.clear();
  last_issued_.reset();
  receipted_seq_ = 0;
  checked_cross_ = {};
  HOTLINE_TRY(load_receipts());
  return drafts_.load(*store_, line_.id);
}

Result<void> LineRecord::check_writable() const {
  if (failed_) {
    return make_error(Errc::kIo, "line " + line_.name + ": a write to the store failed (" +
                                     (failure_ ? failure_->message : std::string("unknown")) +
                                     "); the line resumes once its record is reloaded");
  }
  return require_post();
}

Result<void> LineRecord::require_post() const {
  if (!post_) {
    return make_error(Errc::kInternal, "line " + line_.name + ": pipelined writes need a Post");
  }
  return success();
}

store::WriteDone LineRecord::when_written(std::function<void(Result<void>)> on_line_thread) {
  ++in_flight_;
  return [post = post_, alive = std::weak_ptr<int>(alive_), this,
          then = std::move(on_line_thread)](Result<void> written) {
    post([alive, this, then, written = std::move(written)]() {
      if (alive.expired()) {
        return;
      }
      --in_flight_;
      if (!written.ok() && !failed_) {
        failed_ = true;
        failure_ = written.error();
        if (listener_.write_failed) {
          listener_.write_failed(written.error());
        }
      }
      then(written);
      if (failed_ && in_flight_ == 0) {
        // Every write in flight has ended: what the store holds is now all there is.
        if (load().ok()) {
          failed_ = false;
          failure_.reset();
        }
      }
    });
  };
}

Result<std::optional<SignedEntry>> LineRecord::entry_at(const record::PublicKey& author,
                                                        std::uint64_t seq) {
  const auto& cache = author == line_.local ? own_recent_ : peer_writing_;
  if (auto it = cache.find(seq); it != cache.end()) {
    return std::optional<SignedEntry>(it->second);
  }
  HOTLINE_ASSIGN(auto held, store_->read_entries(line_.id, author, seq, 1));
  if (held.empty()) {
    return std::optional<SignedEntry>();
  }
  return std::optional<SignedEntry>(std::move(held.front()));
}

Result<std::vector<SignedEntry>> LineRecord::read_chain(const record::PublicKey& author,
                                                        std::uint64_t from_seq, std::size_t limit) {
  const auto& cache = author == line_.local ? own_recent_ : peer_writing_;
  std::vector<SignedEntry> out;
  while (out.size() < limit) {
    const std::uint64_t seq = from_seq + out.size();
    auto cached = cache.lower_bound(seq);
    if (cached != cache.end() && cached->first == seq) {
      out.push_back(cached->second);
      continue;
    }
    std::size_t want = limit - out.size();
    if (cached != cache.end()) {
      want = std::min<std::uint64_t>(want, cached->first - seq);
    }
    HOTLINE_ASSIGN(auto stored, store_->read_entries(line_.id, author, seq, want));
    const bool short_read = stored.size() < want;
    for (SignedEntry& entry : stored) {
      out.push_back(std::move(entry));
    }
    if (short_read) {
      break;
    }
  }
  return out;
}

Result<std::uint64_t> LineRecord::enqueue(Precedence precedence, std::string kind, Bytes body) {
  HOTLINE_ASSIGN(std::uint64_t id,
                 store_->enqueue_draft(line_.id, precedence, std::move(kind), std::move(body)));
  drafts_.queuing(precedence);
  drafts_.queued(precedence);
  return id;
}

void LineRecord::enqueue(Precedence precedence, std::string kind, Bytes body,
                         std::function<void(Result<std::uint64_t>)> then) {
  if (auto writable = check_writable(); !writable.ok()) {
    then(writable.error());
    return;
  }
  drafts_.queuing(precedence);
  auto id = std::make_shared<std::uint64_t>(0);
  auto done = when_written([this, precedence, id, then](Result<void> written) {
    if (!written.ok()) {
      drafts_.queue_failed(precedence);
      then(written.error());
    } else {
      drafts_.queued(precedence);
      then(*id);
    }
  });
  store_->enqueue_draft_then(line_.id, precedence, std::move(kind), std::move(body),
                             [id, done](Result<std::uint64_t> queued) {
                               if (queued.ok()) {
                                 *id = queued.value();
                                 done(success());
                               } else {
                                 done(queued.error());
                               }
                             });
}

Result<std::vector<store::OutboxDraft>> LineRecord::next_drafts(std::size_t limit) {
  return drafts_.next(*store_, line_.id, limit);
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
  // The peer's durable head: an entry never cross-links what a failed write could take back.
  f.cross = peer_durable_.position;
  f.kind = std::move(kind);
  f.body = std::move(body);
  return record::sign_entry(*key_, std::move(f));
}

Result<std::vector<SignedEntry>> LineRecord::sign_batch(std::vector<Draft> drafts,
                                                        record::ChainHead& head) {
  std::vector<SignedEntry> signed_entries;
  signed_entries.reserve(drafts.size());
  for (Draft& draft : drafts) {
    HOTLINE_ASSIGN(SignedEntry entry,
                   sign_next(head, std::move(draft.kind), std::move(draft.body)));
    head = {entry.position(), entry.fields.time};
    signed_entries.push_back(std::move(entry));
  }
  return signed_entries;
}

// Own entries were signed and their commit is in flight: the chain goes on from them, and they
// are answered from memory until the peer's receipt covers them.
void LineRecord::signed_ahead(const std::vector<SignedEntry>& entries,
                              const record::ChainHead& head) {
  own_ = head;
  for (const SignedEntry& entry : entries) {
    own_recent_.emplace(entry.fields.seq, entry);
  }
}

// Own entries up to `head` are durable. Writes end in submission order, but a blocking write may
// have ended after a pipelined one that reports only now.
LineRecord::Stored LineRecord::own_written(const record::ChainHead& head) {
  if (head.position.seq <= own_durable_.position.seq) {
    return std::nullopt;
  }
  const std::uint64_t from = own_durable_.position.seq + 1;
  own_durable_ = head;
  // Read while they are still in memory: the peer's receipt for them, reported after this, lets
  // them go.
  return read_stored(line_.local, from, head.position.seq);
}

LineRecord::Stored LineRecord::read_stored(const record::PublicKey& author, std::uint64_t from,
                                           std::uint64_t to) {
  if (!listener_.stored || from > to) {
    return std::nullopt;
  }
  return read_chain(author, from, to - from + 1);
}

void LineRecord::announce(Stored stored) {
  if (stored && listener_.stored) {
    listener_.stored(std::move(*stored));
  }
}

Result<std::vector<SignedEntry>> LineRecord::author(std::vector<Draft> drafts) {
  record::ChainHead head = own_;
  HOTLINE_ASSIGN(auto signed_entries, sign_batch(std::move(drafts), head));
  HOTLINE_TRY(store_->append_entries(signed_entries));
  own_ = head;
  announce(own_written(head));
  return signed_entries;
}

namespace {

Result<std::vector<Draft>> drafts_of(const store::LineParties& line,
                                     const std::vector<store::OutboxDraft>& outbox) {
  std::vector<Draft> drafts;
  drafts.reserve(outbox.size());
  for (const store::OutboxDraft& draft : outbox) {
    if (draft.line != line.id) {
      return make_error(Errc::kInternal,
                        "draft " + std::to_string(draft.id) + " is not for line " + line.name);
    }
    HOTLINE_ASSIGN(cbor::Value body, cbor::decode(draft.body));
    drafts.push_back({draft.kind, std::move(body)});
  }
  return drafts;
}

std::vector<std::uint64_t> ids_of(const std::vector<store::OutboxDraft>& drafts) {
  std::vector<std::uint64_t> ids;
  ids.reserve(drafts.size());
  for (const store::OutboxDraft& draft : drafts) {
    ids.push_back(draft.id);
  }
  return ids;
}

}  // namespace

Result<std::vector<SignedEntry>> LineRecord::author_drafts(
    const std::vector<store::OutboxDraft>& drafts) {
  HOTLINE_ASSIGN(auto contents, drafts_of(line_, drafts));
  record::ChainHead head = own_;
  HOTLINE_ASSIGN(auto signed_entries, sign_batch(std::move(contents), head));
  if (signed_entries.empty()) {
    return signed_entries;
  }
  HOTLINE_TRY(store_->append_entries_from_drafts(signed_entries, ids_of(drafts)));
  own_ = head;
  announce(own_written(head));
  std::vector<Precedence> precedences;
  for (const store::OutboxDraft& draft : drafts) {
    precedences.push_back(draft.precedence);
  }
  drafts_.removed(precedences);
  return signed_entries;
}

Result<void> LineRecord::author_drafts_async(const std::vector<store::OutboxDraft>& drafts) {
  HOTLINE_TRY(check_writable());
  HOTLINE_ASSIGN(auto contents, drafts_of(line_, drafts));
  record::ChainHead head = own_;
  HOTLINE_ASSIGN(auto signed_entries, sign_batch(std::move(contents), head));
  if (signed_entries.empty()) {
    return success();
  }
  signed_ahead(signed_entries, head);
  std::vector<std::uint64_t> ids = ids_of(drafts);
  if (listener_.drafts_signed) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> signed_as;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      signed_as.emplace_back(drafts[i].id, signed_entries[i].fields.seq);
    }
    listener_.drafts_signed(signed_as);
  }
  drafts_.signing(drafts);
  store_->append_entries_from_drafts_then(std::move(signed_entries), ids,
                                          when_written([this, head, ids](Result<void> written) {
                                            drafts_.signed_written(ids);
                                            if (written.ok()) {
                                              Stored stored = own_written(head);
                                              if (listener_.own_durable) {
                                                listener_.own_durable();
                                              }
                                              announce(std::move(stored));
                                            }
                                          }));
  return success();
}

Result<void> LineRecord::author_async(std::vector<Draft> drafts,
                                      std::function<void(Result<std::uint64_t>)> then) {
  HOTLINE_TRY(check_writable());
  record::ChainHead head = own_;
  HOTLINE_ASSIGN(auto signed_entries, sign_batch(std::move(drafts), head));
  signed_ahead(signed_entries, head);
  store_->append_entries_then(
      std::move(signed_entries), when_written([this, head, then](Result<void> written) {
        if (!written.ok()) {
          // The entries may have gone out while they were being written (Session::pump): the
          // peer may hold them, and then this station recovers them from it on reconnecting.
          then(make_error(written.error().code,
                          written.error().message +
                              "; the entry may already have reached the peer, in which case the "
                              "line recovers it from the peer when it reconnects: look at the "
                              "record before sending it again"));
          return;
        }
        Stored stored = own_written(head);
        if (listener_.own_durable) {
          listener_.own_durable();
        }
        announce(std::move(stored));  // the author's answer may need it
        then(head.position.seq);
      }));
  return success();
}

Result<void> LineRecord::recover_own_entries(const std::vector<SignedEntry>& entries) {
  record::ChainHead head = own_;
  std::vector<SignedEntry> fresh;
  for (const SignedEntry& entry : entries) {
    if (entry.fields.seq <= head.position.seq) {
      HOTLINE_ASSIGN(auto held, entry_at(line_.local, entry.fields.seq));
      if (!held || held->signed_bytes != entry.signed_bytes) {
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
      HOTLINE_ASSIGN(auto theirs, entry_at(line_.peer, cross.seq));
      if (!theirs || theirs->hash != cross.hash) {
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
  // Drafts authored before the loss are in the recovered entries; match them by content. All of
  // them, in one read without a limit: a count read first is overtaken by drafts queued meanwhile
  // (messages sent while this station recovers), and since FLASH sorts first, a limit taken from
  // it would leave out the last ROUTINE drafts, which would then be authored a second time.
  HOTLINE_ASSIGN(auto drafts,
                 store_->next_drafts(line_.id, std::numeric_limits<std::size_t>::max()));
  std::vector<std::uint64_t> authored;
  std::vector<Precedence> authored_precedence;
  for (const SignedEntry& entry : fresh) {
    Bytes body = cbor::encode(entry.fields.body);
    for (const store::OutboxDraft& draft : drafts) {
      if (draft.kind == entry.fields.kind && draft.body == body &&
          std::find(authored.begin(), authored.end(), draft.id) == authored.end()) {
        authored.push_back(draft.id);
        authored_precedence.push_back(draft.precedence);
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
  announce(own_written(head));
  drafts_.removed(authored_precedence);
  return success();
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
  HOTLINE_ASSIGN(SignedReceipt receipt, make_peer_receipt(peer_durable_.position));
  HOTLINE_TRY(store_->add_receipt(receipt));
  last_issued_ = receipt;
  return receipt;
}

Result<SignedReceipt> LineRecord::receipt_for_peer_head() {
  if (last_issued_ && last_issued_->fields.held == peer_durable_.position) {
    return *last_issued_;
  }
  return sign_peer_receipt();
}

Result<SignedCheckpoint> LineRecord::sign_checkpoint() const {
  // Of the durable heads only: a checkpoint must never name an entry a crash could still undo.
  record::CheckpointFields f;
  f.line = line_.id;
  f.signer = line_.local;
  f.own = own_durable_.position;
  f.peer = peer_durable_.position;
  f.time = clock_->now();
  return record::sign_checkpoint(*key_, f);
}

Result<SignedCheckpoint> LineRecord::checkpoint() {
  HOTLINE_ASSIGN(SignedCheckpoint checkpoint, sign_checkpoint());
  HOTLINE_TRY(store_->add_checkpoint(checkpoint));
  return checkpoint;
}

Result<void> LineRecord::checkpoint_async() {
  // Not refused after a failed write, unlike entries: it names only heads already durable.
  HOTLINE_TRY(require_post());
  HOTLINE_ASSIGN(SignedCheckpoint checkpoint, sign_checkpoint());
  store_->add_checkpoint_then(checkpoint, when_written([this, checkpoint](Result<void> written) {
                                if (written.ok() && listener_.own_checkpoint) {
                                  listener_.own_checkpoint(checkpoint);
                                }
                              }));
  return success();
}

}  // namespace hotline::line
