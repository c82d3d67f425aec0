#include "store/group_commit_writer.h"

#include <utility>

#include "store/limits.h"

namespace hotline::store {
namespace {

// A job's refusal of its input, as opposed to a failure of the database. A refusal is rolled
// back to the job's savepoint; everything else ends the batch (see the header).
bool is_refusal(const Error& error) {
  switch (error.code) {
    case Errc::kBrokenChain:
    case Errc::kNotFound:
    case Errc::kConflict:
    case Errc::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> connection,
                                     std::chrono::milliseconds ride_along_delay)
    : connection_(std::move(connection)),
      ride_along_delay_(ride_along_delay),
      thread_([this] { run(); }) {}

GroupCommitWriter::~GroupCommitWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void GroupCommitWriter::Pending::finish(Result<void> result) {
  if (then) {
    then(std::move(result));
  } else {
    done.set_value(std::move(result));
  }
}

std::future<Result<void>> GroupCommitWriter::submit(Job job) {
  Pending pending{std::move(job), {}, {}};
  std::future<Result<void>> done = pending.done.get_future();
  enqueue(std::move(pending));
  return done;
}

void GroupCommitWriter::submit(Job job, Done done, Commit when) {
  Pending pending{std::move(job), {}, std::move(done)};
  pending.rides_along = when == Commit::kWithNext;
  enqueue(std::move(pending));
}

void GroupCommitWriter::enqueue(Pending pending) {
  std::optional<Error> refused;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      refused = make_error(Errc::kRefused, connection_->path() + ": store is closing");
    } else if (unknown_outcome_) {
      refused = *unknown_outcome_;
    } else {
      pending.queued = std::chrono::steady_clock::now();
      if (!pending.rides_along) {
        ++starting_jobs_;
      }
      queue_.push_back(std::move(pending));
    }
  }
  if (refused) {
    pending.finish(std::move(*refused));  // outside the lock: `then` may take its own
    return;
  }
  wake_.notify_one();
}

void GroupCommitWriter::run() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Only jobs riding along are queued: wait for one that starts a commit, or for the oldest
      // to have waited long enough.
      const auto ride_until = queue_.empty() ? std::chrono::steady_clock::time_point{}
                                             : queue_.front().queued + ride_along_delay_;
      wake_.wait_until(lock, ride_until, [this] { return stopping_ || starting_jobs_ > 0; });
      if (queue_.empty()) {
        return;  // stopping, and everything submitted has been applied
      }
      while (!queue_.empty() && batch.size() < kMaxJobsPerBatch) {
        if (!queue_.front().rides_along) {
          --starting_jobs_;
        }
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    apply_batch(batch);
  }
}

void GroupCommitWriter::apply_batch(std::vector<Pending>& batch) {
  std::vector<std::optional<Error>> refused(batch.size());
  Result<void> committed = run_transaction(batch, refused);
  // Only now, after COMMIT returned (or the transaction was rolled back), learns any caller
  // how its write ended.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (refused[i]) {
      batch[i].finish(std::move(*refused[i]));
    } else {
      batch[i].finish(committed);
    }
  }
}

Result<void> GroupCommitWriter::run_transaction(std::vector<Pending>& batch,
                                                std::vector<std::optional<Error>>& refused) {
  HOTLINE_TRY(connection_->exec("BEGIN IMMEDIATE", "cannot begin a write transaction"));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Result<void> applied = run_in_savepoint(batch[i].job);
    if (applied.ok()) {
      continue;
    }
    if (is_refusal(applied.error()) && connection_->in_transaction()) {
      refused[i] = applied.error();
      continue;
    }
    roll_back();
    return applied;
  }
  Result<void> committed = connection_->exec("COMMIT", "cannot commit the write transaction");
  if (!committed.ok()) {
    if (connection_->last_failure_was_sync()) {
      stop_after_unknown_outcome(committed.error());
    }
    roll_back();
    return committed;
  }
  commits_.fetch_add(1);
  return success();
}

Result<void> GroupCommitWriter::run_in_savepoint(const Job& job) {
  HOTLINE_TRY(connection_->exec("SAVEPOINT job", "cannot begin a savepoint"));
  Result<void> applied = job(*connection_);
  if (applied.ok()) {
    return connection_->exec("RELEASE job", "cannot release a savepoint");
  }
  if (is_refusal(applied.error())) {
    // Undo this job's partial changes (e.g. the first entries of a call whose third broke the
    // chain); the job's own error is what its caller needs to hear.
    HOTLINE_TRY(connection_->exec("ROLLBACK TO job; RELEASE job", "cannot roll back a savepoint"));
  }
  return applied;
}

// After a failed fsync the commit may or may not be on disk (the kernel may have dropped the dirty
// pages and cleared the error), so neither "saved" nor "not saved" can be promised: accepting more
// writes could build on a transaction that vanishes, or report as lost one that survives. The
// store therefore refuses all further writes; reopening it (restarting the station) reads what is
// really on disk. PostgreSQL answers a failed fsync the same way.
void GroupCommitWriter::stop_after_unknown_outcome(const Error& cause) {
  std::lock_guard lock(mutex_);
  unknown_outcome_ = make_error(
      Errc::kIo, cause.message +
                     "; the outcome of that commit is unknown, so this store accepts no more "
                     "writes until it is reopened (restart the station)");
  for (Pending& pending : queue_) {
    pending.finish(*unknown_outcome_);
  }
  queue_.clear();
}

void GroupCommitWriter::roll_back() {
  // After some I/O errors SQLite has already rolled back by itself; otherwise do it. A failing
  // ROLLBACK leaves nothing committed either, and the error that got us here is the one reported.
  if (connection_->in_transaction()) {
    (void)connection_->exec("ROLLBACK", "cannot roll back the write transaction");
  }
}

}  // namespace hotline::store
