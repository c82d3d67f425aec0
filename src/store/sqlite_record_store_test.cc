// The record store's contract (record_store.h) on SQLite: the chain rule, all-or-nothing calls,
// exact bytes kept across a reopen, receipts, checkpoints, evidence and lines.
#include "store/sqlite_record_store.h"

#include <sqlite3.h>

#include <future>

#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using testing::chain_verifies;
using testing::mentions;
using testing::TestChain;
using testing::TestLine;

using SqliteRecordStoreTest = testing::StoreTest;

// --- the chain rule -----------------------------------------------------------------------------

TEST_F(SqliteRecordStoreTest, EntryThatSkipsASequenceNumberIsRefused) {
  record::SignedEntry first = alpha_.next();
  ASSERT_TRUE(store_->append_entries({first}).ok());

  auto appended = store_->append_entries({alpha_.at(3, first.hash)});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, Errc::kBrokenChain);
  EXPECT_TRUE(mentions(appended.error().message, "entry 3 of chain"));
  EXPECT_TRUE(mentions(appended.error().message, record::short_fingerprint(alpha_.author())));
  EXPECT_TRUE(mentions(appended.error().message, line_.id.hex()));
  EXPECT_EQ(head_seq(alpha_), 1u);
}

TEST_F(SqliteRecordStoreTest, EntryWithTheWrongPreviousHashIsRefused) {
  ASSERT_TRUE(store_->append_entries({alpha_.next()}).ok());

  auto appended = store_->append_entries({alpha_.at(2, record::Hash{})});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, Errc::kBrokenChain);
  EXPECT_TRUE(mentions(appended.error().message, "previous hash"));
  EXPECT_EQ(stored(alpha_).size(), 1u);
}

TEST_F(SqliteRecordStoreTest, ReplayedEntryIsRefused) {
  record::SignedEntry first = alpha_.next();
  ASSERT_TRUE(store_->append_entries({first}).ok());

  auto again = store_->append_entries({first});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kBrokenChain);
  EXPECT_EQ(stored(alpha_).size(), 1u);
}

TEST_F(SqliteRecordStoreTest, CallWithOneBadEntryWritesNothing) {
  std::vector<record::SignedEntry> entries = alpha_.next(2);
  entries.push_back(bravo_.next());
  entries.push_back(alpha_.at(7, alpha_.head().hash));  // breaks alpha's chain, last in the call

  auto appended = store_->append_entries(entries);
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, Errc::kBrokenChain);
  EXPECT_TRUE(stored(alpha_).empty());
  EXPECT_TRUE(stored(bravo_).empty());
  EXPECT_EQ(head_seq(bravo_), 0u);
}

TEST_F(SqliteRecordStoreTest, UnknownLineIsNotFound) {
  LineParties other = testing::test_line(1, 3, "elsewhere");
  TestChain stranger(1, other.id);

  auto appended = store_->append_entries({stranger.next()});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(appended.error().message, other.id.hex()));
  EXPECT_EQ(store_->chain_head(other.id, stranger.author()).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->read_entries(other.id, stranger.author(), 1, 10).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->receipts(other.id).error().code, Errc::kNotFound);
}

TEST_F(SqliteRecordStoreTest, EntriesOfTheWrongLineAreNotWrittenEvenIfTheLineIsKnownLater) {
  LineParties other = testing::test_line(1, 3, "later");
  TestChain later(1, other.id);
  record::SignedEntry entry = later.next();
  ASSERT_EQ(store_->append_entries({entry}).error().code, Errc::kNotFound);

  ASSERT_TRUE(store_->add_line(other).ok());
  ASSERT_TRUE(store_->append_entries({entry}).ok());
  EXPECT_EQ(store_->chain_head(other.id, later.author())->position, entry.position());
}

// --- what is stored -----------------------------------------------------------------------------

TEST_F(SqliteRecordStoreTest, AppendedEntriesSurviveAReopenByteForByte) {
  std::vector<record::SignedEntry> alpha_entries = alpha_.next(3);
  ASSERT_TRUE(store_->append_entries(alpha_entries).ok());
  std::vector<record::SignedEntry> mixed = {bravo_.next(), alpha_.next(), bravo_.next()};
  ASSERT_TRUE(store_->append_entries(mixed).ok());
  alpha_entries.push_back(mixed[1]);

  reopen();

  auto head = store_->chain_head(line_.id, alpha_.author());
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->position, alpha_entries.back().position());
  EXPECT_EQ(head->time, alpha_entries.back().fields.time);
  std::vector<record::SignedEntry> read = stored(alpha_);
  ASSERT_EQ(read.size(), alpha_entries.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].signed_bytes, alpha_entries[i].signed_bytes);
    EXPECT_EQ(read[i].hash, alpha_entries[i].hash);
    EXPECT_EQ(read[i].fields.body, alpha_entries[i].fields.body);
  }
  EXPECT_TRUE(chain_verifies(read, line_.id, alpha_.author()));
  EXPECT_TRUE(chain_verifies(stored(bravo_), line_.id, bravo_.author()));
  EXPECT_EQ(head_seq(bravo_), 2u);
}

TEST_F(SqliteRecordStoreTest, ReadEntriesReturnsTheRequestedRange) {
  ASSERT_TRUE(store_->append_entries(alpha_.next(10)).ok());

  auto middle = store_->read_entries(line_.id, alpha_.author(), 4, 3);
  ASSERT_TRUE(middle.ok());
  ASSERT_EQ(middle->size(), 3u);
  EXPECT_EQ(middle->front().fields.seq, 4u);
  EXPECT_EQ(middle->back().fields.seq, 6u);
  EXPECT_EQ(store_->read_entries(line_.id, alpha_.author(), 9, 100)->size(), 2u);
  EXPECT_TRUE(store_->read_entries(line_.id, alpha_.author(), 11, 100)->empty());
  EXPECT_TRUE(store_->read_entries(line_.id, alpha_.author(), UINT64_MAX, 100)->empty());
  EXPECT_TRUE(store_->read_entries(line_.id, bravo_.author(), 1, 100)->empty());
}

TEST_F(SqliteRecordStoreTest, DamagedEntryIsReportedAsCorruptWhenRead) {
  ASSERT_TRUE(store_->append_entries(alpha_.next(2)).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE entries SET signed = x'a0' WHERE seq = 2", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  reopen();

  auto read = store_->read_entries(line_.id, alpha_.author(), 1, 10);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, Errc::kCorrupt);
  EXPECT_TRUE(mentions(read.error().message, path_));
  EXPECT_TRUE(mentions(read.error().message, "stored entry 2"));
}

// --- lines --------------------------------------------------------------------------------------

TEST_F(SqliteRecordStoreTest, SameLineWithOtherPartiesIsAConflict) {
  LineParties impostor = line_;
  impostor.peer = testing::key_from_byte(9).public_key();

  auto added = store_->add_line(impostor);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kConflict);
  EXPECT_TRUE(mentions(added.error().message, line_.id.hex()));
}

TEST_F(SqliteRecordStoreTest, LinesAreListedInTheOrderAddedAndAddingTwiceIsHarmless) {
  LineParties second = testing::test_line(1, 3, "south");
  ASSERT_TRUE(store_->add_line(second).ok());
  ASSERT_TRUE(store_->add_line(line_).ok());

  reopen();
  auto lines = store_->lines();
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0], line_);
  EXPECT_EQ((*lines)[1], second);
}

// --- receipts, checkpoints, evidence ------------------------------------------------------------

TEST_F(SqliteRecordStoreTest, ReceiptsAndCheckpointsAreKeptOnceInArrivalOrder) {
  TestLine test_line;  // same keys and line as line_
  const record::SignedEntry hello = test_line.author(true, "hello");
  const record::SignedEntry back = test_line.author(false, "hello back");
  ASSERT_TRUE(store_->append_entries({hello}).ok());
  ASSERT_TRUE(store_->append_entries({back}).ok());
  record::SignedReceipt first = test_line.receipt(false);
  record::SignedReceipt second = test_line.receipt(true);
  record::SignedCheckpoint checkpoint = test_line.checkpoint(true);
  ASSERT_TRUE(store_->add_receipt(first).ok());
  ASSERT_TRUE(store_->add_receipt(second).ok());
  ASSERT_TRUE(store_->add_receipt(first).ok());
  ASSERT_TRUE(store_->add_checkpoint(checkpoint).ok());
  ASSERT_TRUE(store_->add_checkpoint(checkpoint).ok());

  reopen();
  auto receipts = store_->receipts(line_.id);
  ASSERT_TRUE(receipts.ok());
  ASSERT_EQ(receipts->size(), 2u);
  EXPECT_EQ((*receipts)[0].signed_bytes, first.signed_bytes);
  EXPECT_EQ((*receipts)[1].signed_bytes, second.signed_bytes);
  EXPECT_TRUE(record::verify_receipt_signature((*receipts)[0]));
  auto checkpoints = store_->checkpoints(line_.id);
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_EQ(checkpoints->size(), 1u);
  EXPECT_EQ(checkpoints->front().signed_bytes, checkpoint.signed_bytes);
}

TEST_F(SqliteRecordStoreTest, AReceiptStoredWithItsEntriesIsNeverDurableWithoutThem) {
  TestLine test_line;  // same keys and line as line_
  const record::SignedEntry& entry = test_line.author(true, "hello");
  record::SignedReceipt receipt = test_line.receipt(false);

  // A broken batch: neither the entries nor the receipt are written.
  std::vector<record::SignedEntry> broken = {entry, entry};
  auto refused = store_->append_entries_with_receipt(broken, receipt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kBrokenChain);
  EXPECT_TRUE(store_->receipts(line_.id)->empty());

  ASSERT_TRUE(store_->append_entries_with_receipt({entry}, receipt).ok());
  reopen();
  EXPECT_EQ(store_->chain_head(line_.id, test_line.alpha.public_key())->position.seq, 1u);
  ASSERT_EQ(store_->receipts(line_.id)->size(), 1u);
  EXPECT_EQ(store_->receipts(line_.id)->front().signed_bytes, receipt.signed_bytes);
}

// A station writes the peer's receipt while its own entries' commit may still be queued ahead
// of it (line/line_record.h). If that commit failed, the receipt must not be stored alone.
TEST_F(SqliteRecordStoreTest, AReceiptBeyondTheStoredChainIsRefused) {
  TestLine test_line;  // same keys and line as line_
  const record::SignedEntry first = test_line.author(true, "one");
  const record::SignedEntry second = test_line.author(true, "two");
  record::SignedReceipt receipt = test_line.receipt(false);  // bravo holds alpha's seq 2
  ASSERT_TRUE(store_->append_entries({first}).ok());

  auto refused = store_->add_receipt(receipt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kBrokenChain);
  EXPECT_NE(refused.error().message.find("held only to seq 1"), std::string::npos)
      << refused.error().message;
  std::promise<Result<void>> queued;
  store_->add_receipt_then(receipt, [&](Result<void> r) { queued.set_value(std::move(r)); });
  EXPECT_EQ(queued.get_future().get().error().code, Errc::kBrokenChain);
  EXPECT_TRUE(store_->receipts(line_.id)->empty());

  ASSERT_TRUE(store_->append_entries({second}).ok());
  ASSERT_TRUE(store_->add_receipt(receipt).ok());
  EXPECT_EQ(store_->receipts(line_.id)->size(), 1u);
}

TEST_F(SqliteRecordStoreTest, ReceiptForAnUnknownLineIsNotFound) {
  TestLine test_line;
  test_line.author(true, "hello");
  LineParties other = testing::test_line(5, 6, "unrelated");
  record::SignedReceipt receipt = test_line.receipt(false);
  receipt.fields.line = other.id;  // the store files it by this field

  EXPECT_EQ(store_->add_receipt(receipt).error().code, Errc::kNotFound);
}

TEST_F(SqliteRecordStoreTest, EvidenceIsKeptOnceAndStampedByTheStoreClock) {
  Evidence evidence;
  evidence.kind = Evidence::Kind::kEquivocation;
  evidence.line = line_.id;
  evidence.culprit = alpha_.author();
  evidence.seq = 1;
  evidence.detail = "two entries for seq 1";
  evidence.first = alpha_.at(1, {}, "one").signed_bytes;
  evidence.second = alpha_.at(1, {}, "other").signed_bytes;
  ASSERT_TRUE(store_->add_evidence(evidence).ok());
  ASSERT_TRUE(store_->add_evidence(evidence).ok());
  Evidence divergence = evidence;
  divergence.kind = Evidence::Kind::kDivergence;
  divergence.second.clear();
  ASSERT_TRUE(store_->add_evidence(divergence).ok());

  reopen();
  auto kept = store_->evidence(line_.id);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].kind, Evidence::Kind::kEquivocation);
  EXPECT_EQ((*kept)[0].culprit, alpha_.author());
  EXPECT_EQ((*kept)[0].detail, evidence.detail);
  EXPECT_EQ((*kept)[0].first, evidence.first);
  EXPECT_EQ((*kept)[0].second, evidence.second);
  EXPECT_EQ((*kept)[0].recorded_at, clock_.now());
  EXPECT_EQ((*kept)[1].kind, Evidence::Kind::kDivergence);
  EXPECT_TRUE((*kept)[1].second.empty());
}

// --- read-only ----------------------------------------------------------------------------------

TEST_F(SqliteRecordStoreTest, ReadOnlyStoreReadsButRefusesWrites) {
  ASSERT_TRUE(store_->append_entries(alpha_.next(2)).ok());
  SqliteOptions options = options_;
  options.read_only = true;
  auto reader = open_sqlite_store(path_, options);
  ASSERT_TRUE(reader.ok()) << reader.error().message;

  auto appended = (*reader)->append_entries({alpha_.next()});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, Errc::kRefused);
  EXPECT_TRUE(mentions(appended.error().message, "read-only"));
  EXPECT_EQ((*reader)->add_line(testing::test_line(1, 4, "x")).error().code, Errc::kRefused);
  EXPECT_EQ((*reader)->chain_head(line_.id, alpha_.author())->position.seq, 2u);
}

}  // namespace
}  // namespace hotline::store
