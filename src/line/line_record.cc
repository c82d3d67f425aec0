#include "line/line_record.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

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
  drafts_authoring_.clear();
  forget_upcoming();
  last_issued_.reset();
  receipted_seq_ = 0;
  checked_cross_ = {};
  HOTLINE_TRY(load_receipts());
  for (std::size_t p = 0; p < outbox_.size(); ++p) {
    HOTLINE_ASSIGN(outbox_[p], store_->count_drafts(line_.id, static_cast<Precedence>(p)));
  }
  return success();
}

Result<void> LineRecord::check_writable() const {
  if (failed_) {
    return make_error(Errc::kIo, "line " + line_.name + ": a write to the store failed (" +
                                     (failure_ ? failure_->message : std::string("unknown")) +
                                     "); the line resumes once its record is reloaded");
  }
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

std::uint64_t LineRecord::outbox_size() const {
  std::uint64_t n = 0;
  for (std::uint64_t count : outbox_) {
    n += count;
  }
  return n;
}

Result<std::uint64_t> LineRecord::enqueue(Precedence precedence, std::string kind, Bytes body) {
  HOTLINE_ASSIGN(std::uint64_t id,
                 store_->enqueue_draft(line_.id, precedence, std::move(kind), std::move(body)));
  ++outbox_[static_cast<std::size_t>(precedence)];
  outbox_grew(precedence);
  return id;
}

void LineRecord::enqueue(Precedence precedence, std::string kind, Bytes body,
                         std::function<void(Result<std::uint64_t>)> then) {
  if (auto writable = check_writable(); !writable.ok()) {
    then(writable.error());
    return;
  }
  // Counted at once, so that a message sent right after this one does not overtake it.
  ++outbox_[static_cast<std::size_t>(precedence)];
  auto id = std::make_shared<std::uint64_t>(0);
  auto done = when_written([this, precedence, id, then](Result<void> written) {
    if (!written.ok()) {
      --outbox_[static_cast<std::size_t>(precedence)];
      then(written.error());
    } else {
      outbox_grew(precedence);
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

// Drafts are read ahead, a few hundred at a time, so that a drain does not ask the store for the
// same first drafts (and those being authored) again for every batch.
Result<std::vector<store::OutboxDraft>> LineRecord::next_drafts(std::size_t limit) {
  constexpr std::size_t kReadAhead = 512;
  if (upcoming_.size() < limit && !upcoming_complete_) {
    const std::size_t want = std::max(limit, kReadAhead);
    HOTLINE_ASSIGN(auto drafts, store_->next_drafts(line_.id, want + drafts_authoring_.size()));
    upcoming_complete_ = drafts.size() < want + drafts_authoring_.size();
    upcoming_.clear();
    for (store::OutboxDraft& draft : drafts) {
      if (drafts_authoring_.count(draft.id) == 0) {
        upcoming_.push_back(std::move(draft));
      }
    }
  }
  const std::size_t n = std::min(limit, upcoming_.size());
  return std::vector<store::OutboxDraft>(upcoming_.begin(), upcoming_.begin() + n);
}

// A draft was queued (or drafts left the outbox some other way than through next_drafts): what
// was read ahead is still in order only if the new draft sorts after all of it.
void LineRecord::outbox_grew(Precedence precedence) {
  if (upcoming_complete_ || (!upcoming_.empty() && precedence < upcoming_.back().precedence)) {
    forget_upcoming();
  }
}

void LineRecord::forget_upcoming() {
  upcoming_.clear();
  upcoming_complete_ = false;
}

void LineRecord::authoring(const std::vector<store::OutboxDraft>& drafts) {
  for (const store::OutboxDraft& draft : drafts) {
    auto it = std::find_if(upcoming_.begin(), upcoming_.end(),
                           [&](const store::OutboxDraft& d) { return d.id == draft.id; });
    if (it != upcoming_.end()) {
      upcoming_.erase(it);
    }
  }
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

// Own entries up to `head` are durable. Writes end in submission order, but a blocking write may
// have ended after a pipelined one that reports only now.
void LineRecord::own_written(const record::ChainHead& head) {
  if (head.position.seq > own_durable_.position.seq) {
    own_durable_ = head;
  }
}

Result<std::vector<SignedEntry>> LineRecord::author(std::vector<Draft> drafts) {
  record::ChainHead head = own_;
  HOTLINE_ASSIGN(auto signed_entries, sign_batch(std::move(drafts), head));
  HOTLINE_TRY(store_->append_entries(signed_entries));
  own_ = head;
  own_written(head);
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
  own_written(head);
  forget_upcoming();
  for (const store::OutboxDraft& draft : drafts) {
    auto& count = outbox_[static_cast<std::size_t>(draft.precedence)];
    count -= std::min<std::uint64_t>(count, 1);
  }
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
  own_ = head;
  for (const SignedEntry& entry : signed_entries) {
    own_recent_.emplace(entry.fields.seq, entry);
  }
  std::vector<std::uint64_t> ids = ids_of(drafts);
  if (listener_.drafts_signed) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> signed_as;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      signed_as.emplace_back(drafts[i].id, signed_entries[i].fields.seq);
    }
    listener_.drafts_signed(signed_as);
  }
  authoring(drafts);
  for (const store::OutboxDraft& draft : drafts) {
    drafts_authoring_.insert(draft.id);
    auto& count = outbox_[static_cast<std::size_t>(draft.precedence)];
    count -= std::min<std::uint64_t>(count, 1);
  }
  store_->append_entries_from_drafts_then(std::move(signed_entries), ids,
                                          when_written([this, head, ids](Result<void> written) {
                                            for (std::uint64_t id : ids) {
                                              drafts_authoring_.erase(id);
                                            }
                                            if (written.ok()) {
                                              own_written(head);
                                              if (listener_.own_durable) {
                                                listener_.own_durable();
                                              }
                                            }
                                          }));
  return success();
}

Result<void> LineRecord::author_async(std::vector<Draft> drafts,
                                      std::function<void(Result<std::uint64_t>)> then) {
  HOTLINE_TRY(check_writable());
  record::ChainHead head = own_;
  HOTLINE_ASSIGN(auto signed_entries, sign_batch(std::move(drafts), head));
  own_ = head;
  for (const SignedEntry& entry : signed_entries) {
    own_recent_.emplace(entry.fields.seq, entry);
  }
  store_->append_entries_then(std::move(signed_entries),
                              when_written([this, head, then](Result<void> written) {
                                if (!written.ok()) {
                                  then(written.error());
                                  return;
                                }
                                own_written(head);
                                then(head.position.seq);
                                if (listener_.own_durable) {
                                  listener_.own_durable();
                                }
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
  // Drafts authored before the loss are in the recovered entries; match them by content.
  HOTLINE_ASSIGN(std::size_t queued, store_->count_drafts(line_.id, std::nullopt));
  HOTLINE_ASSIGN(auto drafts, store_->next_drafts(line_.id, queued));
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
  own_written(head);
  forget_upcoming();
  for (Precedence precedence : authored_precedence) {
    auto& count = outbox_[static_cast<std::size_t>(precedence)];
    count -= std::min<std::uint64_t>(count, 1);
  }
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

namespace {

// A second thread for signature checks, kept for the life of the process: starting a thread per
// batch costs more than checking a few signatures.
class HelperThread {
 public:
  static HelperThread& instance() {
    // Never destroyed: its thread may still be parked when the process exits.
    static HelperThread* helper = new HelperThread();
    return *helper;
  }

  // Runs `mine` here and `theirs` on the helper thread, and returns when both are done.
  void run_both(const std::function<void()>& theirs, const std::function<void()>& mine) {
    std::lock_guard caller(callers_);
    {
      std::lock_guard lock(mutex_);
      job_ = &theirs;
      done_ = false;
    }
    wake_.notify_one();
    mine();
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [this] { return done_; });
  }

 private:
  HelperThread() {
    std::thread([this] { loop(); }).detach();
  }

  void loop() {
    for (;;) {
      const std::function<void()>* job = nullptr;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return job_ != nullptr; });
        job = job_;
      }
      (*job)();
      {
        std::lock_guard lock(mutex_);
        job_ = nullptr;
        done_ = true;
      }
      finished_.notify_one();
    }
  }

  std::mutex callers_;  // one batch at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  const std::function<void()>* job_ = nullptr;
  bool done_ = false;
};

// Whether each entry carries a valid signature, checked on two threads for a batch of more than a
// few: one verification per entry is what bounds how fast a station can receive
// (docs/benchmarks.md).
std::vector<char> verify_signatures(const std::vector<SignedEntry>& entries) {
  std::vector<char> valid(entries.size(), 0);
  auto verify_range = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      valid[i] = record::verify_entry_signature(entries[i]) ? 1 : 0;
    }
  };
  constexpr std::size_t kParallelFrom = 8;  // below this, handing over costs more than it saves
  if (entries.size() < kParallelFrom || std::thread::hardware_concurrency() < 2) {
    verify_range(0, entries.size());
    return valid;
  }
  const std::size_t half = entries.size() / 2;
  HelperThread::instance().run_both([&] { verify_range(0, half); },
                                    [&] { verify_range(half, entries.size()); });
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
    HOTLINE_ASSIGN(auto ours, entry_at(line_.local, cross.seq));
    if (!ours || ours->hash != cross.hash) {
      return make_error(Errc::kBrokenChain, "entry seq " + std::to_string(entry.fields.seq) +
                                                " cross-links a hash of our chain we never signed");
    }
    checked_cross_ = cross;
  }
  return success();
}

Result<std::vector<SignedEntry>> LineRecord::check_batch(const std::vector<SignedEntry>& entries,
                                                         record::ChainHead& head) {
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
  peer_written(head, receipt);
  return receipt;
}

void LineRecord::peer_written(const record::ChainHead& head, const SignedReceipt& receipt) {
  if (head.position.seq > peer_durable_.position.seq) {
    peer_durable_ = head;
    last_issued_ = receipt;
  }
  peer_writing_.erase(peer_writing_.begin(), peer_writing_.upper_bound(head.position.seq));
}

Result<std::uint64_t> LineRecord::accept_entries_async(const std::vector<SignedEntry>& entries) {
  HOTLINE_TRY(check_writable());
  record::ChainHead head = peer_;
  HOTLINE_ASSIGN(auto fresh, check_batch(entries, head));
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
        peer_written(head, receipt);
        if (listener_.peer_durable) {
          listener_.peer_durable(receipt);
        }
      }));
  return added;
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
  // The peer holds these for good: they will not be sent again from memory.
  own_recent_.erase(own_recent_.begin(), own_recent_.upper_bound(receipt.fields.held.seq));
  const std::uint64_t held = receipt.fields.held.seq;
  store_->add_receipt_then(receipt, when_written([this, held](Result<void> written) {
                             if (written.ok() && held > receipted_seq_) {
                               receipted_seq_ = held;
                               if (listener_.receipted) {
                                 listener_.receipted(held);
                               }
                             }
                           }));
  return success();
}

Result<SignedCheckpoint> LineRecord::checkpoint() {
  record::CheckpointFields f;
  f.line = line_.id;
  f.signer = line_.local;
  f.own = own_durable_.position;
  f.peer = peer_durable_.position;
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
