// When the disk fails: the caller hears it, nothing unacknowledged is kept, and the store works
// again once the fault is gone. Faults come from FaultInjectionVfs.
#include <chrono>

#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using namespace std::chrono_literals;
using Fault = FaultInjectionVfs::Fault;
using testing::chain_verifies;
using testing::mentions;

using WriteFaultTest = testing::FaultyStoreTest;

TEST_F(WriteFaultTest, FailedWriteIsReportedAndTheStoreWorksOnceTheFaultIsGone) {
  ASSERT_TRUE(store_->append_entries({alpha_.next()}).ok());
  record::SignedEntry second = alpha_.next();

  vfs_.fail_writes(Fault::kIoError);
  auto failed = store_->append_entries({second});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kIo);
  EXPECT_TRUE(mentions(failed.error().message, path_));
  EXPECT_TRUE(mentions(failed.error().message, "disk I/O error"));
  EXPECT_GT(vfs_.injected_failures(), 0u);
  EXPECT_EQ(head_seq(alpha_), 1u);  // nothing reported saved

  vfs_.clear();
  ASSERT_TRUE(store_->append_entries({second}).ok());  // the caller's retry
  ASSERT_TRUE(store_->append_entries({alpha_.next()}).ok());
  EXPECT_EQ(head_seq(alpha_), 3u);
}

TEST_F(WriteFaultTest, AfterAFailedWriteOnlyAcknowledgedEntriesAreFoundOnReopen) {
  std::vector<record::SignedEntry> acknowledged = alpha_.next(2);
  ASSERT_TRUE(store_->append_entries(acknowledged).ok());

  vfs_.fail_writes(Fault::kIoError);
  EXPECT_EQ(store_->append_entries(alpha_.next(3)).error().code, Errc::kIo);
  EXPECT_EQ(store_->append_entries({bravo_.next()}).error().code, Errc::kIo);
  // Close while the disk still fails (the closing checkpoint fails too), as a station that gives
  // up would; then start again on a healthy disk.
  store_.reset();
  vfs_.clear();
  reopen();

  std::vector<record::SignedEntry> found = stored(alpha_);
  ASSERT_EQ(found.size(), acknowledged.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    EXPECT_EQ(found[i].signed_bytes, acknowledged[i].signed_bytes);
  }
  EXPECT_TRUE(chain_verifies(found, line_.id, alpha_.author()));
  EXPECT_TRUE(stored(bravo_).empty());
}

TEST_F(WriteFaultTest, DiskFullIsReportedAsSuch) {
  record::SignedEntry entry = alpha_.next();
  vfs_.fail_writes(Fault::kDiskFull);

  auto failed = store_->append_entries({entry});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kIo);
  EXPECT_TRUE(mentions(failed.error().message, "disk is full"));
  EXPECT_TRUE(mentions(failed.error().message, path_));

  vfs_.clear();  // space was freed
  ASSERT_TRUE(store_->append_entries({entry}).ok());
  reopen();
  EXPECT_EQ(head_seq(alpha_), 1u);
}

TEST_F(WriteFaultTest, FailedFsyncIsReportedAndTheWriteIsNotAcknowledged) {
  ASSERT_TRUE(store_->append_entries({alpha_.next()}).ok());
  record::SignedEntry second = alpha_.next();

  vfs_.fail_syncs(Fault::kIoError, 1);
  auto failed = store_->append_entries({second});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kIo);
  EXPECT_EQ(head_seq(alpha_), 1u);

  // The outcome of that commit is unknown, so the store takes no more writes until reopened ...
  auto refused = store_->append_entries({second});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kIo);
  EXPECT_TRUE(mentions(refused.error().message, "reopened"));
  // ... and reopened, it reads what is really on disk: the entry is there once or not at all (both
  // are possible after a failed fsync), the chain verifies, and writing goes on from that head.
  reopen();
  const std::uint64_t head = head_seq(alpha_);
  EXPECT_TRUE(head == 1u || head == 2u) << head;
  EXPECT_TRUE(chain_verifies(stored(alpha_), line_.id, alpha_.author()));
  if (head == 1u) {
    ASSERT_TRUE(store_->append_entries({second}).ok());
  }
  ASSERT_TRUE(store_->append_entries({alpha_.next()}).ok());
  EXPECT_EQ(head_seq(alpha_), 3u);
}

TEST_F(WriteFaultTest, FailedCommitFailsEveryWriteOfItsBatch) {
  // The first write is held in its fsync while three more queue up behind it as one batch; the
  // disk then fails for the batch, after the first write's data is already written.
  vfs_.hold_syncs();
  auto first = store_->append_entries_async({alpha_.next()});
  ASSERT_TRUE(vfs_.wait_for_held_sync(10s));
  record::SignedEntry alpha_second = alpha_.next();
  record::SignedEntry bravo_first = bravo_.next();
  auto second = store_->append_entries_async({alpha_second});
  auto third = store_->append_entries_async({bravo_first});
  auto refused = store_->append_entries_async({bravo_.at(4, {})});
  vfs_.fail_writes(Fault::kIoError);
  vfs_.release_syncs();

  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(second.get().error().code, Errc::kIo);
  EXPECT_EQ(third.get().error().code, Errc::kIo);
  EXPECT_EQ(refused.get().error().code, Errc::kBrokenChain);  // its own refusal, not the disk's

  vfs_.clear();
  EXPECT_EQ(head_seq(alpha_), 1u);
  EXPECT_EQ(head_seq(bravo_), 0u);
  ASSERT_TRUE(store_->append_entries({alpha_second, bravo_first}).ok());
  reopen();
  EXPECT_EQ(head_seq(alpha_), 2u);
  EXPECT_EQ(head_seq(bravo_), 1u);
}

}  // namespace
}  // namespace hotline::store
