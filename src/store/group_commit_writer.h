// store/group_commit_writer.h — the one thread that writes, batching jobs into transactions.
//
// Every write of a store is a job handed to this writer. The writer takes everything queued (up to
// kMaxJobsPerBatch), applies it in ONE transaction (BEGIN IMMEDIATE ... COMMIT), and resolves the
// jobs' futures only after COMMIT has returned, i.e. after the WAL is fsynced: one fsync pays for
// the whole batch (group commit), and nothing is acknowledged before it is durable (design.md §5).
//
// Each job runs inside its own SAVEPOINT, so it is all-or-nothing on its own:
// - A job that refuses its input (it returns kBrokenChain, kNotFound, kConflict or
//   kInvalidArgument) is rolled back to its savepoint alone; the rest of the batch still commits.
// - Any other error means the database failed (I/O error, disk full): the whole transaction is
//   rolled back and every job of the batch that had not refused its input fails with that error.
//   The same happens when COMMIT fails. If COMMIT failed in its fsync, the outcome is unknown
//   and the writer refuses every later job until the store is reopened.
// Jobs are applied in the order they were submitted, and each sees the changes of the jobs before
// it in the same batch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/limits.h"
#include "store/sqlite_connection.h"

namespace hotline::store {

class GroupCommitWriter {
 public:
  // Runs on the writer thread, inside the batch's transaction and the job's savepoint.
  using Job = std::function<Result<void>(Connection&)>;

  // Takes the connection; from now on only the writer thread uses it. `ride_along_delay`: see
  // Commit::kWithNext.
  explicit GroupCommitWriter(std::unique_ptr<Connection> connection,
                             std::chrono::milliseconds ride_along_delay = kRideAlongDelay);
  // Applies every job already submitted, then stops the thread.
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Runs on the writer thread once the job's batch is committed (or failed). It must be quick
  // and must not call the store: hand the result to another thread (e.g. post it to an
  // io_context).
  using Done = std::function<void(Result<void>)>;

  // Queues `job`; the future resolves once its batch is committed (or failed).
  std::future<Result<void>> submit(Job job);
  // When a job is committed. kWithNext: it does not start a commit of its own but is committed
  // with the next job submitted (in the same transaction, before it), or after
  // `ride_along_delay` if none comes. For a write that must be durable no later than what follows
  // it but need not be durable sooner (an audit row written before the call acts), so that it
  // costs the call no fsync of its own.
  enum class Commit { kNow, kWithNext };

  // Same, but calls `done` instead of resolving a future, so that a caller need not block; `done`
  // is called exactly once, in submission order with the other jobs' (possibly before this
  // returns, when the store refuses the job at once).
  void submit(Job job, Done done, Commit when = Commit::kNow);

  // Transactions committed so far; with group commit, fewer than the jobs submitted.
  std::uint64_t commits() const { return commits_.load(); }

 private:
  void stop_after_unknown_outcome(const Error& cause);
  struct Pending {
    Job job;
    std::promise<Result<void>> done;  // unused when `then` is set
    Done then;
    bool rides_along = false;  // Commit::kWithNext
    std::chrono::steady_clock::time_point queued{};
    void finish(Result<void> result);
  };
  void enqueue(Pending pending);

  void run();
  void apply_batch(std::vector<Pending>& batch);
  // Fills `refused[i]` for each job that refused its input; returns the failure, if any, that
  // rolled back the whole transaction.
  Result<void> run_transaction(std::vector<Pending>& batch,
                               std::vector<std::optional<Error>>& refused);
  Result<void> run_in_savepoint(const Job& job);
  void roll_back();

  std::unique_ptr<Connection> connection_;  // writer thread only
  const std::chrono::milliseconds ride_along_delay_;
  std::atomic<std::uint64_t> commits_{0};

  std::mutex mutex_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::size_t starting_jobs_ = 0;         // jobs in queue_ that start a commit (not rides_along)
  std::optional<Error> unknown_outcome_;  // set after a failed fsync: refuse all writes
  bool stopping_ = false;

  std::thread thread_;  // last: it starts running once everything above exists
};

}  // namespace hotline::store
