// The outbox (design.md §4, "Precedence"): drafts wait durably in send order, FLASH first, and
// leave only together with the entries authored from them, so that a crash neither loses a draft
// nor lets it be authored twice.
#include <sqlite3.h>

#include <string>
#include <thread>
#include <vector>

#include "core/cbor.h"
#include "store/sqlite_schema.h"
#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using Fault = FaultInjectionVfs::Fault;
using testing::chain_verifies;
using testing::mentions;

Bytes body_of(const std::string& text) {
  return cbor::encode(cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}}));
}

// The result of `sql` on `path` with plain SQLite, one line per row, columns joined by '|'.
std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string rows = "(error)";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK) {
      rows.clear();
      while (sqlite3_step(statement) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(statement); ++i) {
          const unsigned char* text = sqlite3_column_text(statement, i);
          rows += i > 0 ? "|" : "";
          rows += text != nullptr ? reinterpret_cast<const char*>(text) : "";
        }
        rows += "\n";
      }
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return rows;
}

class OutboxTest : public testing::StoreTest {
 protected:
  std::uint64_t enqueue(Precedence precedence, const std::string& text = "draft") {
    auto id = store_->enqueue_draft(line_.id, precedence, "message", body_of(text));
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  std::vector<std::uint64_t> queued_ids(std::size_t limit = 1'000'000) {
    auto drafts = store_->next_drafts(line_.id, limit);
    EXPECT_TRUE(drafts.ok()) << drafts.error().message;
    std::vector<std::uint64_t> ids;
    for (const OutboxDraft& draft : drafts.ok() ? *drafts : std::vector<OutboxDraft>{}) {
      ids.push_back(draft.id);
    }
    return ids;
  }

  std::size_t count(std::optional<Precedence> precedence = std::nullopt) {
    auto counted = store_->count_drafts(line_.id, precedence);
    EXPECT_TRUE(counted.ok()) << counted.error().message;
    return counted.ok() ? *counted : 0;
  }
};

// --- errors -------------------------------------------------------------------------------------

TEST_F(OutboxTest, UnknownLineIsNotFound) {
  const LineId unknown = testing::test_line(1, 3, "nowhere").id;

  auto queued = store_->enqueue_draft(unknown, Precedence::kFlash, "message", body_of("x"));
  ASSERT_FALSE(queued.ok());
  EXPECT_EQ(queued.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(queued.error().message, unknown.hex()));
  EXPECT_EQ(store_->next_drafts(unknown, 10).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->count_drafts(unknown, std::nullopt).error().code, Errc::kNotFound);
  EXPECT_EQ(count(), 0u);
}

TEST_F(OutboxTest, BodyThatIsNotCanonicalCborIsRefused) {
  Bytes trailing = body_of("x");
  trailing.push_back(0x00);
  auto queued = store_->enqueue_draft(line_.id, Precedence::kRoutine, "message", trailing);
  ASSERT_FALSE(queued.ok());
  EXPECT_EQ(queued.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(count(), 0u);
}

TEST_F(OutboxTest, AKindTheRecordWouldRefuseIsRefusedWhenQueued) {
  auto queued = store_->enqueue_draft(line_.id, Precedence::kFlash, "Not A Kind", body_of("x"));
  ASSERT_FALSE(queued.ok());
  EXPECT_EQ(queued.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(store_->count_drafts(line_.id, std::nullopt).value(), 0u);
}

TEST_F(OutboxTest, AppendingFromADraftNotInTheOutboxWritesNothing) {
  const std::uint64_t queued = enqueue(Precedence::kRoutine);

  auto failed = store_->append_entries_from_drafts({alpha_.next()}, {queued, queued + 1000});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(failed.error().message, std::to_string(queued + 1000)));
  EXPECT_EQ(head_seq(alpha_), 0u);                              // the entry was not stored
  EXPECT_EQ(queued_ids(), std::vector<std::uint64_t>{queued});  // nor the real draft taken
}

TEST_F(OutboxTest, RetryAfterTheDraftWasAuthoredCannotAuthorItTwice) {
  const std::uint64_t queued = enqueue(Precedence::kFlash);
  ASSERT_TRUE(store_->append_entries_from_drafts({alpha_.next()}, {queued}).ok());

  // The link crashed before it learnt the outcome, and authors the draft again from its old view
  // of the chain head: the draft is gone, and that is the refusal it hears.
  alpha_ = testing::TestChain(1, line_.id);
  auto retried = store_->append_entries_from_drafts({alpha_.next()}, {queued});
  ASSERT_FALSE(retried.ok());
  EXPECT_EQ(retried.error().code, Errc::kNotFound);
  EXPECT_EQ(head_seq(alpha_), 1u);
}

TEST_F(OutboxTest, BrokenChainKeepsTheDraftsAndWritesNothing) {
  const std::uint64_t first = enqueue(Precedence::kImmediate, "one");
  const std::uint64_t second = enqueue(Precedence::kImmediate, "two");
  record::SignedEntry good = alpha_.next();
  record::SignedEntry skips = alpha_.at(3, good.hash);

  auto failed = store_->append_entries_from_drafts({good, skips}, {first, second});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kBrokenChain);
  EXPECT_EQ(head_seq(alpha_), 0u);
  EXPECT_EQ(queued_ids(), (std::vector<std::uint64_t>{first, second}));
}

TEST_F(OutboxTest, DraftOfAnotherLineOrTheSameDraftTwiceIsRefused) {
  LineParties other = testing::test_line(1, 3, "other line");
  ASSERT_TRUE(store_->add_line(other).ok());
  auto elsewhere = store_->enqueue_draft(other.id, Precedence::kFlash, "message", body_of("x"));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.error().message;
  const std::uint64_t here = enqueue(Precedence::kFlash);

  auto wrong_line = store_->append_entries_from_drafts({alpha_.next()}, {*elsewhere});
  ASSERT_FALSE(wrong_line.ok());
  EXPECT_EQ(wrong_line.error().code, Errc::kInvalidArgument);
  auto twice = store_->append_entries_from_drafts({alpha_.next()}, {here, here});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::kInvalidArgument);

  EXPECT_EQ(head_seq(alpha_), 0u);
  EXPECT_EQ(queued_ids(), std::vector<std::uint64_t>{here});
  EXPECT_EQ(store_->count_drafts(other.id, std::nullopt).value(), 1u);
}

// --- order --------------------------------------------------------------------------------------

TEST_F(OutboxTest, DraftsComeInPrecedenceThenAgeOrderWithTheirContent) {
  clock_.set(1'800'000'000'000'000);
  const std::uint64_t routine = enqueue(Precedence::kRoutine, "routine");
  clock_.advance(1);
  const std::uint64_t priority = enqueue(Precedence::kPriority, "priority");
  const std::uint64_t flash_1 = enqueue(Precedence::kFlash, "flash 1");
  const std::uint64_t immediate = enqueue(Precedence::kImmediate, "immediate");
  const std::uint64_t flash_2 = enqueue(Precedence::kFlash, "flash 2");
  EXPECT_LT(routine, priority);

  EXPECT_EQ(queued_ids(),
            (std::vector<std::uint64_t>{flash_1, flash_2, immediate, priority, routine}));
  EXPECT_EQ(queued_ids(2), (std::vector<std::uint64_t>{flash_1, flash_2}));
  auto last = store_->next_drafts(line_.id, 5).value().back();
  EXPECT_EQ(last, (OutboxDraft{.id = routine,
                               .line = line_.id,
                               .precedence = Precedence::kRoutine,
                               .queued_at = 1'800'000'000'000'000,
                               .kind = "message",
                               .body = body_of("routine")}));
}

TEST_F(OutboxTest, FlashOvertakesARoutineBacklogOfTenThousand) {
  // Queued from several threads, as many callers would, so that group commit batches them.
  constexpr int kThreads = 10;
  constexpr int kPerThread = 1000;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([this] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(
            store_->enqueue_draft(line_.id, Precedence::kRoutine, "message", body_of("r")).ok());
      }
    });
  }
  for (std::thread& caller : callers) {
    caller.join();
  }
  const std::uint64_t flash = enqueue(Precedence::kFlash, "flash");

  EXPECT_EQ(queued_ids(1), std::vector<std::uint64_t>{flash});
  EXPECT_EQ(count(Precedence::kRoutine), std::size_t{kThreads * kPerThread});
  // The routine backlog follows, oldest first.
  std::vector<std::uint64_t> order = queued_ids();
  ASSERT_EQ(order.size(), std::size_t{kThreads * kPerThread + 1});
  EXPECT_TRUE(std::is_sorted(order.begin() + 1, order.end()));
}

TEST_F(OutboxTest, SendOrderIsReadFromTheIndexWithoutSorting) {
  // The same query as outbox::select_drafts (sqlite_outbox.cc), planned on the store's file.
  store_.reset();
  const std::string plan =
      raw_query(path_,
                "EXPLAIN QUERY PLAN SELECT id, precedence, queued_at, kind, body FROM outbox "
                "WHERE line = x'00' ORDER BY precedence, id LIMIT 1");
  EXPECT_TRUE(mentions(plan, "USING INDEX outbox_send_order (line=?)"));
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

// --- durability and atomicity -------------------------------------------------------------------

TEST_F(OutboxTest, DraftsSurviveReopenAndIdsAreNeverReused) {
  const std::uint64_t kept = enqueue(Precedence::kPriority, "kept");
  const std::uint64_t newest = enqueue(Precedence::kFlash, "authored");
  ASSERT_TRUE(store_->append_entries_from_drafts({alpha_.next()}, {newest}).ok());
  reopen();

  auto drafts = store_->next_drafts(line_.id, 10);
  ASSERT_TRUE(drafts.ok()) << drafts.error().message;
  ASSERT_EQ(drafts->size(), 1u);
  EXPECT_EQ(drafts->front().id, kept);
  EXPECT_EQ(drafts->front().body, body_of("kept"));
  // The newest id was authored and deleted; a later draft still gets a greater one.
  EXPECT_GT(enqueue(Precedence::kRoutine), newest);
}

TEST_F(OutboxTest, AppendFromDraftsStoresTheEntriesAndRemovesTheDrafts) {
  const std::uint64_t flash = enqueue(Precedence::kFlash);
  const std::uint64_t routine = enqueue(Precedence::kRoutine);
  const std::uint64_t left = enqueue(Precedence::kRoutine);
  std::vector<record::SignedEntry> entries = alpha_.next(2);

  ASSERT_TRUE(store_->append_entries_from_drafts(entries, {flash, routine}).ok());
  EXPECT_EQ(queued_ids(), std::vector<std::uint64_t>{left});
  std::vector<record::SignedEntry> found = stored(alpha_);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[1].signed_bytes, entries[1].signed_bytes);
  EXPECT_TRUE(chain_verifies(found, line_.id, alpha_.author()));
}

TEST_F(OutboxTest, AsyncAppendsFromDraftsApplyInOrder) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(enqueue(Precedence::kRoutine));
  }
  std::vector<std::future<Result<void>>> in_flight;
  for (std::uint64_t id : ids) {
    in_flight.push_back(store_->append_entries_from_drafts_async({alpha_.next()}, {id}));
  }
  for (auto& done : in_flight) {
    Result<void> result = done.get();
    EXPECT_TRUE(result.ok()) << result.error().message;
  }
  EXPECT_EQ(head_seq(alpha_), 20u);
  EXPECT_EQ(count(), 0u);
}

TEST_F(OutboxTest, CountsPerPrecedence) {
  enqueue(Precedence::kFlash);
  for (int i = 0; i < 3; ++i) {
    enqueue(Precedence::kPriority);
  }
  for (int i = 0; i < 2; ++i) {
    enqueue(Precedence::kRoutine);
  }
  EXPECT_EQ(count(Precedence::kFlash), 1u);
  EXPECT_EQ(count(Precedence::kImmediate), 0u);
  EXPECT_EQ(count(Precedence::kPriority), 3u);
  EXPECT_EQ(count(Precedence::kRoutine), 2u);
  EXPECT_EQ(count(), 6u);
}

using OutboxFaultTest = testing::FaultyStoreTest;

TEST_F(OutboxFaultTest, FailedAppendFromDraftsLeavesDraftsAndChainAsTheyWere) {
  auto first = store_->enqueue_draft(line_.id, Precedence::kFlash, "message", body_of("1"));
  auto second = store_->enqueue_draft(line_.id, Precedence::kRoutine, "message", body_of("2"));
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(store_->append_entries_from_drafts({alpha_.next()}, {*first}).ok());
  record::SignedEntry next = alpha_.next();

  vfs_.fail_writes(Fault::kIoError);
  auto failed = store_->append_entries_from_drafts({next}, {*second});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kIo);
  store_.reset();  // the station gives up while the disk still fails
  vfs_.clear();
  reopen();

  auto drafts = store_->next_drafts(line_.id, 10);
  ASSERT_TRUE(drafts.ok()) << drafts.error().message;
  ASSERT_EQ(drafts->size(), 1u);
  EXPECT_EQ(drafts->front().id, *second);
  EXPECT_EQ(head_seq(alpha_), 1u);
  // The retry after the restart authors it, once.
  ASSERT_TRUE(store_->append_entries_from_drafts({next}, {*second}).ok());
  EXPECT_EQ(head_seq(alpha_), 2u);
  EXPECT_EQ(store_->count_drafts(line_.id, std::nullopt).value(), 0u);
}

// --- migration ----------------------------------------------------------------------------------

TEST(OutboxMigrationTest, VersionOneDatabaseGainsTheOutboxAndKeepsItsRecord) {
  testing::TempDir dir;
  const std::string path = dir.file("hotline.db");
  LineParties line = testing::test_line(1, 2, "old line");
  testing::TestChain chain(1, line.id);
  std::vector<record::SignedEntry> entries = chain.next(3);
  {
    auto store = open_sqlite_store(path, {});
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->add_line(line).ok());
    ASSERT_TRUE((*store)->append_entries(entries).ok());
  }
  // Back to what version 1 wrote: no outbox, and none of the later tables. (sqlite_sequence,
  // created for the outbox's AUTOINCREMENT, cannot be dropped; migration 2 must cope with it being
  // there or not.)
  testing::raw_sql(path,
                   "DROP TABLE outbox; DROP TABLE users; DROP TABLE request_states; "
                   "DROP TABLE notices; DROP TABLE decision_drafts; DROP TABLE audit; "
                   "PRAGMA user_version = 1");
  ASSERT_EQ(raw_query(path, "PRAGMA user_version"), "1\n");
  ASSERT_EQ(raw_query(path, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"), "0\n");

  SqliteOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(open_sqlite_store(path, read_only).error().code, Errc::kRefused);  // must migrate

  auto store = open_sqlite_store(path, {});
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto kept = (*store)->read_entries(line.id, chain.author(), 1, 10);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ(kept->back().signed_bytes, entries.back().signed_bytes);
  auto queued = (*store)->enqueue_draft(line.id, Precedence::kFlash, "message", body_of("new"));
  ASSERT_TRUE(queued.ok()) << queued.error().message;
  ASSERT_TRUE((*store)->append_entries_from_drafts({chain.next()}, {*queued}).ok());
  store->reset();
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"),
            std::to_string(current_schema_version()) + "\n");
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM entries"), "4\n");
}

}  // namespace
}  // namespace hotline::store
