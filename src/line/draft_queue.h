// line/draft_queue.h — what a line knows of its outbox in memory (design.md §4).
//
// The station is the outbox's only writer, so the number of drafts queued per precedence is
// counted here instead of asked of the store, and the next drafts in send order are read ahead a
// few hundred at a time instead of re-read for every batch. Drafts whose entries are being written
// (signed, commit in flight) are still in the store; they are left out of what comes next, so no
// draft is signed twice. Not thread-safe: driven from the line's thread, by its LineRecord.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <set>
#include <vector>

#include "store/record_store.h"

namespace hotline::line {

class DraftQueue {
 public:
  // Reads the counts from the store and forgets everything else (at open, after a failed write).
  Result<void> load(store::RecordStore& store, const store::LineId& line);

  // Drafts queued (or being queued) per precedence, indexed by Precedence, and in all.
  const std::array<std::uint64_t, 4>& counts() const { return counts_; }
  std::uint64_t size() const;

  // A draft of `precedence` is being queued (counted at once, so that a message sent right after
  // does not overtake it), and then is durable or failed.
  void queuing(Precedence precedence);
  void queued(Precedence precedence);
  void queue_failed(Precedence precedence);

  // The next `limit` drafts in send order, leaving out those being signed.
  Result<std::vector<store::OutboxDraft>> next(store::RecordStore& store, const store::LineId& line,
                                               std::size_t limit);

  // The drafts were signed; their entries' commit is in flight until signed_written.
  void signing(const std::vector<store::OutboxDraft>& drafts);
  void signed_written(const std::vector<std::uint64_t>& ids);
  // Drafts left the outbox by a blocking write (authored, or recognised in recovered entries).
  void removed(const std::vector<Precedence>& precedences);

 private:
  void drop(Precedence precedence);
  void forget_read_ahead();

  std::array<std::uint64_t, 4> counts_{};
  std::set<std::uint64_t> signing_;       // drafts whose entries are being written
  std::deque<store::OutboxDraft> ahead_;  // the next drafts in send order, read ahead
  bool ahead_complete_ = false;           // ahead_ holds every draft queued
};

}  // namespace hotline::line
