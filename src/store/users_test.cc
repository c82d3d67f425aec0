// Users in the station's database (design.md §6): a name is taken once, a user is disabled rather
// than deleted, and what is written survives a restart and a schema migration.
#include <sqlite3.h>

#include <future>
#include <string>

#include "core/cbor.h"
#include "store/sqlite_schema.h"
#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using testing::mentions;

UserRecord make_user(const std::string& name, const std::string& role = "operator") {
  UserRecord user;
  user.name = name;
  user.role = role;
  user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";  // not checked by the store
  return user;
}

class UsersTest : public testing::StoreTest {};

// --- errors -------------------------------------------------------------------------------------

TEST_F(UsersTest, ANameIsTakenOnceEvenAfterItsUserIsDisabled) {
  ASSERT_TRUE(store_->add_user(make_user("duty.officer")).ok());
  clock_.advance(1'000'000);
  auto again = store_->add_user(make_user("duty.officer", "principal"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kConflict);
  EXPECT_TRUE(mentions(again.error().message, "'duty.officer' already exists"));
  EXPECT_TRUE(mentions(again.error().message, path_));

  ASSERT_TRUE(store_->disable_user("duty.officer").ok());
  auto reused = store_->add_user(make_user("duty.officer"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, Errc::kConflict);
  EXPECT_TRUE(mentions(reused.error().message, "(disabled)"));

  // The first user is untouched by the refused additions.
  auto kept = store_->user("duty.officer");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->role, "operator");
  EXPECT_EQ(kept->created_at, 1'800'000'000'000'000);
}

TEST_F(UsersTest, UnknownUserIsNotFoundNamingIt) {
  auto missing = store_->user("nobody");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(missing.error().message, "no user named 'nobody'"));

  auto disabled = store_->disable_user("nobody");
  ASSERT_FALSE(disabled.ok());
  EXPECT_EQ(disabled.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(disabled.error().message, "'nobody'"));
  EXPECT_TRUE(store_->users()->empty());
}

TEST_F(UsersTest, ReadOnlyStoreRefusesToAddOrDisable) {
  ASSERT_TRUE(store_->add_user(make_user("alice")).ok());
  store_.reset();
  SqliteOptions read_only;
  read_only.read_only = true;
  auto store = open_sqlite_store(path_, read_only);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->add_user(make_user("bob")).error().code, Errc::kRefused);
  EXPECT_EQ((*store)->disable_user("alice").error().code, Errc::kRefused);
  ASSERT_TRUE((*store)->user("alice").ok());  // reading works
  EXPECT_FALSE((*store)->user("alice")->disabled);
}

// --- success ------------------------------------------------------------------------------------

TEST_F(UsersTest, AddedUserIsStampedAndEnabledWhateverTheCallerSaid) {
  UserRecord claimed = make_user("principal-1", "principal");
  claimed.disabled = true;
  claimed.created_at = 42;
  claimed.disabled_at = 43;
  ASSERT_TRUE(store_->add_user(claimed).ok());

  auto stored = store_->user("principal-1");
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(stored->name, "principal-1");
  EXPECT_EQ(stored->role, "principal");
  EXPECT_EQ(stored->password_hash, claimed.password_hash);
  EXPECT_FALSE(stored->disabled);
  EXPECT_EQ(stored->created_at, 1'800'000'000'000'000);
  EXPECT_FALSE(stored->disabled_at.has_value());
}

TEST_F(UsersTest, UsersAreListedByNameWithDisabledOnesIncluded) {
  for (const char* name : {"zulu", "alpha", "mike"}) {
    ASSERT_TRUE(store_->add_user(make_user(name)).ok());
  }
  ASSERT_TRUE(store_->disable_user("mike").ok());
  auto listed = store_->users();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].name, "alpha");
  EXPECT_EQ((*listed)[1].name, "mike");
  EXPECT_TRUE((*listed)[1].disabled);
  EXPECT_EQ((*listed)[2].name, "zulu");
  EXPECT_FALSE((*listed)[2].disabled);
}

TEST_F(UsersTest, DisablingTwiceSucceedsAndKeepsTheFirstTime) {
  ASSERT_TRUE(store_->add_user(make_user("leaver")).ok());
  clock_.advance(5'000'000);
  ASSERT_TRUE(store_->disable_user("leaver").ok());
  clock_.advance(5'000'000);
  ASSERT_TRUE(store_->disable_user("leaver").ok());

  auto stored = store_->user("leaver");
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_TRUE(stored->disabled);
  EXPECT_EQ(stored->disabled_at, 1'800'000'005'000'000);
  EXPECT_EQ(stored->created_at, 1'800'000'000'000'000);
}

TEST_F(UsersTest, UsersSurviveARestart) {
  ASSERT_TRUE(store_->add_user(make_user("alice", "auditor")).ok());
  ASSERT_TRUE(store_->add_user(make_user("bob", "interpreter")).ok());
  ASSERT_TRUE(store_->disable_user("bob").ok());
  auto before = store_->users();
  ASSERT_TRUE(before.ok());
  reopen();
  auto after = store_->users();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(*after, *before);
}

// --- migration ----------------------------------------------------------------------------------

TEST(UsersMigrationTest, VersionTwoDatabaseGainsTheUsersTableAndKeepsItsRecordAndOutbox) {
  testing::TempDir dir;
  const std::string path = dir.file("hotline.db");
  LineParties line = testing::test_line(1, 2, "old line");
  testing::TestChain chain(1, line.id);
  std::vector<record::SignedEntry> entries = chain.next(3);
  const Bytes body =
      cbor::encode(cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text("q")}}));
  {
    auto store = open_sqlite_store(path, {});
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->add_line(line).ok());
    ASSERT_TRUE((*store)->append_entries(entries).ok());
    ASSERT_TRUE((*store)->enqueue_draft(line.id, Precedence::kFlash, "message", body).ok());
  }
  // Back to what version 2 wrote: no users table, and none of the later tables.
  testing::raw_sql(path,
                   "DROP TABLE users; DROP TABLE request_states; DROP TABLE notices; "
                   "DROP TABLE decision_drafts; DROP TABLE audit; PRAGMA user_version = 2");
  ASSERT_EQ(testing::sql_value(path, "SELECT count(*) FROM sqlite_master WHERE name = 'users'"),
            "0");

  SqliteOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(open_sqlite_store(path, read_only).error().code, Errc::kRefused);  // must migrate

  auto store = open_sqlite_store(path, {});
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto kept = (*store)->read_entries(line.id, chain.author(), 1, 10);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ(kept->back().signed_bytes, entries.back().signed_bytes);
  EXPECT_EQ((*store)->count_drafts(line.id, std::nullopt).value(), 1u);
  EXPECT_TRUE((*store)->users()->empty());
  ASSERT_TRUE((*store)->add_user(make_user("first")).ok());
  store->reset();
  EXPECT_EQ(testing::sql_value(path, "PRAGMA user_version"),
            std::to_string(current_schema_version()));
  EXPECT_EQ(testing::sql_value(path, "SELECT name FROM users"), "first");
}

TEST(UsersMigrationTest, TheTableRefusesAnInconsistentRow) {
  testing::TempDir dir;
  const std::string path = dir.file("hotline.db");
  ASSERT_TRUE(open_sqlite_store(path, {}).ok());
  // Disabled without a time, and enabled with one: both break the table's CHECK, whoever writes.
  for (const char* row :
       {"('a', 'operator', 'h', 1, 1, NULL)", "('b', 'operator', 'h', 0, 1, 2)"}) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string sql =
        std::string(
            "INSERT INTO users (name, role, password_hash, disabled, created_at, "
            "disabled_at) VALUES ") +
        row;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_CONSTRAINT) << row;
    sqlite3_close(db);
  }
}

// --- the second factor and the audit trail --------------------------------------------------

TEST_F(UsersTest, ATotpStepIsUsedOnceAndEnrolmentResetsIt) {
  ASSERT_TRUE(store_->add_user(make_user("ann")).ok());
  EXPECT_FALSE(store_->user("ann")->totp_secret);
  ASSERT_TRUE(store_->set_user_totp("ann", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").ok());
  EXPECT_EQ(store_->user("ann")->totp_secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_TRUE(store_->use_totp_step("ann", 100).value());
  EXPECT_FALSE(store_->use_totp_step("ann", 100).value()) << "a replayed code";
  EXPECT_FALSE(store_->use_totp_step("ann", 99).value()) << "an older code";
  EXPECT_TRUE(store_->use_totp_step("ann", 101).value());
  reopen();
  EXPECT_EQ(store_->user("ann")->totp_last_step, 101);
  ASSERT_TRUE(store_->set_user_totp("ann", std::nullopt).ok());
  EXPECT_FALSE(store_->user("ann")->totp_secret);
  EXPECT_EQ(store_->user("ann")->totp_last_step, 0);
  EXPECT_EQ(store_->set_user_totp("nobody", std::nullopt).error().code, Errc::kNotFound);
  EXPECT_FALSE(store_->use_totp_step("nobody", 5).value());
}

TEST_F(UsersTest, TheAuditTrailKeepsEveryRowInOrderAcrossARestart) {
  for (int i = 0; i < 5; ++i) {
    AuditRow row{0,
                 1000 + i,
                 "ann",
                 "operator",
                 "api 127.0.0.1:5000",
                 "POST /api/v1/lines/ab/messages",
                 201,
                 "id " + std::to_string(i)};
    auto id = store_->add_audit(row);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id.value(), static_cast<std::uint64_t>(i + 1));
  }
  reopen();
  auto rows = store_->audit(0, 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 5u);
  EXPECT_EQ(rows->front().detail, "id 0");
  EXPECT_EQ(rows->front().outcome, 201);
  EXPECT_EQ(rows->back().at, 1004);
  auto page = store_->audit(3, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ(page->front().id, 4u);
}

TEST_F(UsersTest, AnAuditRowBegunBeforeACallIsDurableWithItAndGetsItsOutcomeAfter) {
  std::promise<Result<void>> begun, finished, unfinished;
  AuditRow row{0,   2000,     "ann", "operator", "control socket", "POST /v1/lines/ab/messages",
               999, "ignored"};
  auto ticket = store_->begin_audit(row, [&](Result<void> r) { begun.set_value(std::move(r)); });
  ASSERT_TRUE(begun.get_future().get().ok());
  auto rows = store_->audit(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().outcome, 0) << "no outcome yet: the call has not answered";
  EXPECT_EQ(rows->front().user, "ann");
  EXPECT_EQ(rows->front().source, "control socket");

  auto second = store_->begin_audit(row, [](Result<void>) {});
  store_->finish_audit(ticket, 201, "id ab-7", /*answer_waits=*/true,
                       [&](Result<void> r) { finished.set_value(std::move(r)); });
  ASSERT_TRUE(finished.get_future().get().ok());
  reopen();  // the second call's outcome never came: its row says so
  rows = store_->audit(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->at(0).outcome, 201);
  EXPECT_EQ(rows->at(0).detail, "id ab-7");
  EXPECT_EQ(rows->at(1).outcome, 0);

  RecordStore::AuditTicket never_written = std::make_shared<std::optional<std::uint64_t>>();
  store_->finish_audit(never_written, 500, "", /*answer_waits=*/false,
                       [&](Result<void> r) { unfinished.set_value(std::move(r)); });
  auto refused = unfinished.get_future().get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace hotline::store
