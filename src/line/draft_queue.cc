#include "line/draft_queue.h"

#include <algorithm>

namespace hotline::line {

Result<void> DraftQueue::load(store::RecordStore& store, const store::LineId& line) {
  signing_.clear();
  forget_read_ahead();
  for (std::size_t p = 0; p < counts_.size(); ++p) {
    HOTLINE_ASSIGN(counts_[p], store.count_drafts(line, static_cast<Precedence>(p)));
  }
  return success();
}

std::uint64_t DraftQueue::size() const {
  std::uint64_t n = 0;
  for (std::uint64_t count : counts_) {
    n += count;
  }
  return n;
}

void DraftQueue::queuing(Precedence precedence) { ++counts_[static_cast<std::size_t>(precedence)]; }

// What was read ahead is still in order only if the new draft sorts after all of it.
void DraftQueue::queued(Precedence precedence) {
  if (ahead_complete_ || (!ahead_.empty() && precedence < ahead_.back().precedence)) {
    forget_read_ahead();
  }
}

void DraftQueue::queue_failed(Precedence precedence) { drop(precedence); }

Result<std::vector<store::OutboxDraft>> DraftQueue::next(store::RecordStore& store,
                                                         const store::LineId& line,
                                                         std::size_t limit) {
  constexpr std::size_t kReadAhead = 512;
  if (ahead_.size() < limit && !ahead_complete_) {
    const std::size_t want = std::max(limit, kReadAhead);
    HOTLINE_ASSIGN(auto drafts, store.next_drafts(line, want + signing_.size()));
    ahead_complete_ = drafts.size() < want + signing_.size();
    ahead_.clear();
    for (store::OutboxDraft& draft : drafts) {
      if (signing_.count(draft.id) == 0) {
        ahead_.push_back(std::move(draft));
      }
    }
  }
  const std::size_t n = std::min(limit, ahead_.size());
  return std::vector<store::OutboxDraft>(ahead_.begin(), ahead_.begin() + n);
}

void DraftQueue::signing(const std::vector<store::OutboxDraft>& drafts) {
  std::vector<std::uint64_t> ids;
  ids.reserve(drafts.size());
  for (const store::OutboxDraft& draft : drafts) {
    ids.push_back(draft.id);
    signing_.insert(draft.id);
    drop(draft.precedence);
  }
  // One pass over what was read ahead (up to 512 drafts), not one per signed draft.
  std::sort(ids.begin(), ids.end());
  std::erase_if(ahead_, [&](const store::OutboxDraft& d) {
    return std::binary_search(ids.begin(), ids.end(), d.id);
  });
}

void DraftQueue::signed_written(const std::vector<std::uint64_t>& ids) {
  for (std::uint64_t id : ids) {
    signing_.erase(id);
  }
}

void DraftQueue::removed(const std::vector<Precedence>& precedences) {
  forget_read_ahead();
  for (Precedence precedence : precedences) {
    drop(precedence);
  }
}

void DraftQueue::drop(Precedence precedence) {
  auto& count = counts_[static_cast<std::size_t>(precedence)];
  count -= std::min<std::uint64_t>(count, 1);
}

void DraftQueue::forget_read_ahead() {
  ahead_.clear();
  ahead_complete_ = false;
}

}  // namespace hotline::line
