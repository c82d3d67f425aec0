// Group commit: concurrent writes share transactions, each stays all-or-nothing, and nothing is
// acknowledged before its transaction is committed.
#include <chrono>
#include <future>
#include <thread>

#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using namespace std::chrono_literals;
using testing::chain_verifies;
using testing::TestChain;

using GroupCommitTest = testing::FaultyStoreTest;

TEST_F(GroupCommitTest, RefusedWriteIsRolledBackAloneAndTheRestOfItsBatchCommits) {
  LineParties unknown = testing::test_line(1, 7, "never added");
  TestChain stranger(1, unknown.id);
  std::uint64_t commits_before = store_->commits();

  // Hold the first write inside its COMMIT (at the fsync); everything submitted meanwhile is
  // queued, and the writer takes all of it as the next batch.
  vfs_.hold_syncs();
  auto first = store_->append_entries_async({alpha_.next()});
  ASSERT_TRUE(vfs_.wait_for_held_sync(10s));
  EXPECT_EQ(first.wait_for(0s), std::future_status::timeout);  // not acknowledged before durable
  auto alpha_more = store_->append_entries_async(alpha_.next(2));
  auto broken = store_->append_entries_async({bravo_.at(5, record::Hash{})});
  auto bravo_first = store_->append_entries_async({bravo_.next()});
  auto no_line = store_->append_entries_async({stranger.next()});
  auto half_broken = store_->append_entries_async({bravo_.next(), bravo_.at(9, {})});
  vfs_.release_syncs();

  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(alpha_more.get().ok());
  EXPECT_EQ(broken.get().error().code, Errc::kBrokenChain);
  EXPECT_TRUE(bravo_first.get().ok());
  EXPECT_EQ(no_line.get().error().code, Errc::kNotFound);
  EXPECT_EQ(half_broken.get().error().code, Errc::kBrokenChain);
  EXPECT_EQ(store_->commits() - commits_before, 2u);  // the first write, then one batch of five

  reopen();
  EXPECT_EQ(head_seq(alpha_), 3u);
  EXPECT_EQ(head_seq(bravo_), 1u);  // the good half of `half_broken` was rolled back with it
  EXPECT_TRUE(chain_verifies(stored(alpha_), line_.id, alpha_.author()));
  EXPECT_TRUE(chain_verifies(stored(bravo_), line_.id, bravo_.author()));
}

TEST_F(GroupCommitTest, ConcurrentAppendsFromManyThreadsAreBatchedAndAllDurable) {
  constexpr int kThreads = 4;
  constexpr int kAppendsPerThread = 60;
  // Each thread writes both chains of its own line; entries are signed beforehand so that the
  // threads do nothing but submit.
  std::vector<LineParties> lines;
  std::vector<std::vector<std::vector<record::SignedEntry>>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    lines.push_back(
        testing::test_line(1, static_cast<std::uint8_t>(10 + t), "line " + std::to_string(t)));
    ASSERT_TRUE(store_->add_line(lines.back()).ok());
    TestChain ours(1, lines.back().id);
    TestChain theirs(static_cast<std::uint8_t>(10 + t), lines.back().id);
    for (int i = 0; i < kAppendsPerThread; ++i) {
      work[t].push_back(i % 2 == 0 ? ours.next(1) : theirs.next(1 + i % 3));
    }
  }
  std::uint64_t commits_before = store_->commits();

  std::vector<std::vector<std::future<Result<void>>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (auto& entries : work[t]) {
        results[t].push_back(store_->append_entries_async(entries));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (auto& thread_results : results) {
    for (auto& result : thread_results) {
      Result<void> done = result.get();
      ASSERT_TRUE(done.ok()) << done.error().message;
    }
  }
  std::uint64_t commits = store_->commits() - commits_before;
  EXPECT_LT(commits, static_cast<std::uint64_t>(kThreads * kAppendsPerThread));

  reopen();
  for (int t = 0; t < kThreads; ++t) {
    for (std::uint8_t author : {std::uint8_t{1}, static_cast<std::uint8_t>(10 + t)}) {
      PublicKey key = testing::key_from_byte(author).public_key();
      auto entries = store_->read_entries(lines[t].id, key, 1, 1000);
      ASSERT_TRUE(entries.ok());
      EXPECT_EQ(entries->size(), author == 1 ? 30u : 60u);  // 30 single, 30 of 1 to 3 entries
      EXPECT_TRUE(chain_verifies(*entries, lines[t].id, key));
    }
  }
}

// An audit row begun before a call acts rides with the call's own write: one commit for both,
// the row first, so it costs the call no fsync; a row nothing follows is committed alone after a
// short delay.
TEST_F(GroupCommitTest, AnAuditRowBegunBeforeACallIsCommittedWithTheCallsWrite) {
  options_.ride_along_delay = std::chrono::hours(1);  // nothing commits the row but the append
  reopen();
  const AuditRow row{0, 1000, "ann", "operator", "control socket", "POST /v1/lines/ab/messages",
                     0, ""};
  const std::uint64_t before = store_->commits();
  std::promise<Result<void>> begun;
  auto ticket = store_->begin_audit(row, [&](Result<void> r) { begun.set_value(std::move(r)); });
  auto begun_future = begun.get_future();
  EXPECT_EQ(begun_future.wait_for(100ms), std::future_status::timeout)
      << "the row was committed on its own";
  auto entry = store_->append_entries_async({alpha_.next()});
  ASSERT_TRUE(entry.get().ok());
  ASSERT_EQ(begun_future.wait_for(0s), std::future_status::ready) << "reported in order";
  EXPECT_TRUE(begun_future.get().ok());
  EXPECT_EQ(store_->commits() - before, 1u);
  auto rows = store_->audit(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().user, "ann");

  options_.ride_along_delay = 20ms;
  reopen();
  std::promise<Result<void>> alone;
  const auto submitted = std::chrono::steady_clock::now();
  auto second = store_->begin_audit(row, [&](Result<void> r) { alone.set_value(std::move(r)); });
  auto alone_future = alone.get_future();
  ASSERT_EQ(alone_future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(alone_future.get().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - submitted, 20ms) << "it did not wait for a ride";
  reopen();
  rows = store_->audit(0, 10);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 2u);
}

TEST_F(GroupCommitTest, ClosingTheStoreFinishesQueuedWrites) {
  std::vector<std::future<Result<void>>> results;
  for (int i = 0; i < 50; ++i) {
    results.push_back(store_->append_entries_async({alpha_.next()}));
  }
  store_.reset();  // without waiting for any of them

  for (auto& result : results) {
    ASSERT_EQ(result.wait_for(0s), std::future_status::ready);
    EXPECT_TRUE(result.get().ok());
  }
  reopen();
  EXPECT_EQ(head_seq(alpha_), 50u);
}

TEST_F(GroupCommitTest, ReadsDoNotWaitForACommitInProgress) {
  ASSERT_TRUE(store_->append_entries({alpha_.next()}).ok());
  vfs_.hold_syncs();
  auto pending = store_->append_entries_async({alpha_.next()});
  ASSERT_TRUE(vfs_.wait_for_held_sync(10s));

  // The writer is stuck in its fsync; readers see the last committed state meanwhile.
  EXPECT_EQ(head_seq(alpha_), 1u);
  EXPECT_EQ(stored(alpha_).size(), 1u);

  vfs_.release_syncs();
  EXPECT_TRUE(pending.get().ok());
  EXPECT_EQ(head_seq(alpha_), 2u);
}

}  // namespace
}  // namespace hotline::store
