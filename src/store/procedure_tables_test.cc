// The procedure's local state in the station's database: request states replaced as a whole,
// notices raised once per (line, subject, kind), decision drafts settled once; all of it survives
// a restart and a schema migration.
#include <sqlite3.h>

#include <string>

#include "core/cbor.h"
#include "store/sqlite_schema.h"
#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using testing::mentions;

constexpr Micros kT0 = 1'800'000'000'000'000;

Bytes body_of(const std::string& text) {
  return cbor::encode(cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}}));
}

RequestStateRow state_row(const std::string& request, const std::string& state, Micros at = kT0) {
  return {.request = request,
          .state = state,
          .detail = R"({"deadline":)" + std::to_string(at + 60'000'000) + "}",
          .updated_at = at};
}

NoticeRow notice_of(const LineId& line, const std::string& subject, const std::string& kind,
                    const std::string& message = "acknowledge request 3fa9c2d1-12") {
  NoticeRow notice;
  notice.line = line;
  notice.subject = subject;
  notice.kind = kind;
  notice.audience = "operators";
  notice.at = kT0;
  notice.raised_at = kT0 + 250'000;
  notice.message = message;
  return notice;
}

DecisionDraft draft_of(const LineId& line, const std::string& request,
                       const std::string& step = "accept") {
  DecisionDraft draft;
  draft.line = line;
  draft.request = request;
  draft.step = step;
  draft.body = body_of(step + " " + request);
  draft.drafted_by = "duty.officer";
  draft.drafted_at = kT0;
  return draft;
}

class ProcedureTablesTest : public testing::StoreTest {
 protected:
  // Adds a pending draft and returns its id.
  std::uint64_t drafted(const DecisionDraft& draft) {
    auto id = store_->add_decision_draft(draft);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  LineParties other_line_ = testing::test_line(1, 3, "other line");
};

// --- errors -------------------------------------------------------------------------------------

TEST_F(ProcedureTablesTest, EveryCallOnAnUnknownLineIsNotFoundNamingIt) {
  const LineId unknown = other_line_.id;  // never added
  const std::string named = "no line " + unknown.hex();
  auto replaced = store_->replace_request_states(unknown, {state_row("a-1", "open")});
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(replaced.error().message, named));
  EXPECT_EQ(store_->request_states(unknown).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->add_notice(notice_of(unknown, "a-1", "ack-50")).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->notices(unknown, 0, 10).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->has_notice(unknown, "a-1", "ack-50").error().code, Errc::kNotFound);
  EXPECT_EQ(store_->add_decision_draft(draft_of(unknown, "a-1")).error().code, Errc::kNotFound);
  EXPECT_EQ(store_->decision_drafts(unknown, false).error().code, Errc::kNotFound);
  EXPECT_EQ(testing::sql_value(path_, "SELECT count(*) FROM notices"), "0");
}

TEST_F(ProcedureTablesTest, ARepeatedRequestIsRefusedAndTheStoredStatesStay) {
  const std::vector<RequestStateRow> stored = {state_row("a-1", "open")};
  ASSERT_TRUE(store_->replace_request_states(line_.id, stored).ok());
  auto refused = store_->replace_request_states(
      line_.id, {state_row("a-2", "accepted"), state_row("a-2", "declined")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(mentions(refused.error().message, "request 'a-2' is given twice"));
  EXPECT_EQ(store_->request_states(line_.id).value(), stored);
}

TEST_F(ProcedureTablesTest, ANoticeIsRaisedOnceAndTheFirstIsKept) {
  auto first = store_->add_notice(notice_of(line_.id, "3fa9c2d1-12", "ack-50", "first"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  NoticeRow again = notice_of(line_.id, "3fa9c2d1-12", "ack-50", "second");
  again.audience = "principals";
  again.at = kT0 + 1;
  auto second = store_->add_notice(again);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(*second);

  auto listed = store_->notices(line_.id, 0, 10);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().message, "first");
  EXPECT_EQ(listed->front().audience, "operators");
  EXPECT_EQ(listed->front().at, kT0);
}

TEST_F(ProcedureTablesTest, ANoticeIsRaisedOnceEvenAcrossARestart) {
  ASSERT_TRUE(store_->add_notice(notice_of(line_.id, "3fa9c2d1-12", "expired")).value());
  reopen();
  EXPECT_TRUE(store_->has_notice(line_.id, "3fa9c2d1-12", "expired").value());
  EXPECT_FALSE(store_->add_notice(notice_of(line_.id, "3fa9c2d1-12", "expired")).value());
  EXPECT_EQ(store_->notices(line_.id, 0, 10)->size(), 1u);
}

TEST_F(ProcedureTablesTest, UnknownDecisionDraftIsNotFoundNamingIt) {
  auto missing = store_->decision_draft(77);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(missing.error().message, "no decision draft 77"));

  auto settled = store_->settle_decision_draft(77, "confirmed", "chief", kT0, 4, "");
  ASSERT_FALSE(settled.ok());
  EXPECT_EQ(settled.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(settled.error().message, "decision draft 77"));
}

TEST_F(ProcedureTablesTest, ADraftIsSettledOnceAndKeepsItsFirstSettlement) {
  const std::uint64_t id = drafted(draft_of(line_.id, "3fa9c2d1-12"));
  ASSERT_TRUE(store_->settle_decision_draft(id, "confirmed", "chief", kT0 + 5, 7, "").ok());
  const DecisionDraft confirmed = store_->decision_draft(id).value();

  for (const char* status : {"confirmed", "discarded"}) {
    auto again = store_->settle_decision_draft(id, status, "deputy", kT0 + 9, std::nullopt, "late");
    ASSERT_FALSE(again.ok()) << status;
    EXPECT_EQ(again.error().code, Errc::kConflict);
    EXPECT_TRUE(
        mentions(again.error().message, "draft " + std::to_string(id) + " is already confirmed"));
  }
  EXPECT_EQ(store_->decision_draft(id).value(), confirmed);

  const std::uint64_t discarded = drafted(draft_of(line_.id, "3fa9c2d1-13", "decline"));
  ASSERT_TRUE(
      store_->settle_decision_draft(discarded, "discarded", "chief", kT0, std::nullopt, "").ok());
  auto confirm = store_->settle_decision_draft(discarded, "confirmed", "chief", kT0, 8, "");
  ASSERT_FALSE(confirm.ok());
  EXPECT_EQ(confirm.error().code, Errc::kConflict);
  EXPECT_TRUE(mentions(confirm.error().message, "is already discarded"));
}

TEST_F(ProcedureTablesTest, AMalformedSettlementIsRefusedAndTheDraftStaysPending) {
  const std::uint64_t id = drafted(draft_of(line_.id, "3fa9c2d1-12"));
  struct Case {
    std::string status, decided_by;
    std::optional<std::uint64_t> seq;
    std::string reason;
  };
  for (const Case& bad : {Case{"approved", "chief", 3, "'approved'"},
                          Case{"pending", "chief", std::nullopt, "'pending'"},
                          Case{"confirmed", "", 3, "who decided"},
                          Case{"discarded", "chief", 3, "no entry was authored"}}) {
    auto settled = store_->settle_decision_draft(id, bad.status, bad.decided_by, kT0, bad.seq, "");
    ASSERT_FALSE(settled.ok()) << bad.status;
    EXPECT_EQ(settled.error().code, Errc::kInvalidArgument);
    EXPECT_TRUE(mentions(settled.error().message, bad.reason));
  }
  EXPECT_EQ(store_->decision_draft(id)->status, "pending");
  EXPECT_EQ(store_->decision_drafts(line_.id, true)->size(), 1u);
}

TEST_F(ProcedureTablesTest, ADraftWhoseBodyIsNotOneCborItemIsRefused) {
  for (const Bytes& body : {Bytes{}, Bytes{0x01, 0x02}, Bytes{0xa1, 0x01}}) {
    DecisionDraft draft = draft_of(line_.id, "3fa9c2d1-12", "counter");
    draft.body = body;
    auto added = store_->add_decision_draft(draft);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error().code, Errc::kInvalidArgument);
    EXPECT_TRUE(mentions(added.error().message, "not one canonical CBOR item"));
    EXPECT_TRUE(mentions(added.error().message, "'3fa9c2d1-12'"));
  }
  EXPECT_TRUE(store_->decision_drafts(line_.id, false)->empty());
}

TEST_F(ProcedureTablesTest, ReadOnlyStoreRefusesEveryWriteAndReads) {
  ASSERT_TRUE(store_->add_notice(notice_of(line_.id, "a-1", "ack-90")).ok());
  const std::uint64_t id = drafted(draft_of(line_.id, "a-1"));
  store_.reset();
  SqliteOptions read_only;
  read_only.read_only = true;
  auto opened = open_sqlite_store(path_, read_only);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  RecordStore& store = **opened;
  EXPECT_EQ(store.replace_request_states(line_.id, {}).error().code, Errc::kRefused);
  EXPECT_EQ(store.add_notice(notice_of(line_.id, "a-2", "ack-90")).error().code, Errc::kRefused);
  EXPECT_EQ(store.add_decision_draft(draft_of(line_.id, "a-2")).error().code, Errc::kRefused);
  EXPECT_EQ(store.settle_decision_draft(id, "confirmed", "chief", kT0, 1, "").error().code,
            Errc::kRefused);
  EXPECT_TRUE(store.has_notice(line_.id, "a-1", "ack-90").value());
  EXPECT_EQ(store.decision_draft(id)->status, "pending");
}

TEST_F(ProcedureTablesTest, TheTableRefusesAnInconsistentDraft) {
  const std::uint64_t id = drafted(draft_of(line_.id, "a-1"));
  store_.reset();
  // Settled without a decider, pending with one, and a seq on a discarded draft: each breaks a
  // CHECK of the table, whoever writes.
  for (const char* update :
       {"status = 'confirmed'", "decided_by = 'chief', decided_at = 1",
        "status = 'discarded', decided_by = 'chief', decided_at = 1, seq = 3"}) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string sql =
        std::string("UPDATE decision_drafts SET ") + update + " WHERE id = " + std::to_string(id);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_CONSTRAINT)
        << update;
    sqlite3_close(db);
  }
}

// --- success ------------------------------------------------------------------------------------

TEST_F(ProcedureTablesTest, RequestStatesRoundTripOrderedByRequest) {
  const std::vector<RequestStateRow> rows = {state_row("c-3", "expired", kT0 + 3),
                                             state_row("a-1", "open", kT0 + 1),
                                             state_row("b-2", "accepted", kT0 + 2)};
  ASSERT_TRUE(store_->replace_request_states(line_.id, rows).ok());
  auto stored = store_->request_states(line_.id);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(*stored, (std::vector<RequestStateRow>{rows[1], rows[2], rows[0]}));
}

TEST_F(ProcedureTablesTest, ReplacingRequestStatesReplacesOnlyThatLine) {
  ASSERT_TRUE(store_->add_line(other_line_).ok());
  const std::vector<RequestStateRow> other = {state_row("z-9", "open")};
  ASSERT_TRUE(store_->replace_request_states(other_line_.id, other).ok());
  ASSERT_TRUE(
      store_->replace_request_states(line_.id, {state_row("a-1", "open"), state_row("a-2", "open")})
          .ok());

  // a-1 changes, a-2 is gone, a-3 is new.
  const std::vector<RequestStateRow> now = {state_row("a-1", "accepted", kT0 + 10),
                                            state_row("a-3", "open", kT0 + 10)};
  ASSERT_TRUE(store_->replace_request_states(line_.id, now).ok());
  EXPECT_EQ(store_->request_states(line_.id).value(), now);
  EXPECT_EQ(store_->request_states(other_line_.id).value(), other);

  ASSERT_TRUE(store_->replace_request_states(line_.id, {}).ok());
  EXPECT_TRUE(store_->request_states(line_.id)->empty());
  EXPECT_EQ(store_->request_states(other_line_.id).value(), other);
}

TEST_F(ProcedureTablesTest, NoticesRoundTripAndArePagedById) {
  ASSERT_TRUE(store_->add_line(other_line_).ok());
  std::vector<NoticeRow> added;
  for (const char* kind : {"ack-50", "ack-90", "expired"}) {
    NoticeRow notice = notice_of(line_.id, "3fa9c2d1-12", kind, std::string("due: ") + kind);
    ASSERT_TRUE(store_->add_notice(notice).value()) << kind;
    added.push_back(notice);
  }
  // The same subject and kind on another line, and a notice about no subject, are other notices.
  ASSERT_TRUE(store_->add_notice(notice_of(other_line_.id, "3fa9c2d1-12", "ack-50")).value());
  NoticeRow alarm = notice_of(line_.id, "", "link-test-missed", "the link test was missed");
  alarm.audience = "principals";
  ASSERT_TRUE(store_->add_notice(alarm).value());
  added.push_back(alarm);

  auto all = store_->notices(line_.id, 0, 100);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  for (std::size_t i = 0; i < all->size(); ++i) {
    NoticeRow expected = added[i];
    expected.id = (*all)[i].id;  // the store's
    EXPECT_EQ((*all)[i], expected) << i;
    if (i > 0) {
      EXPECT_GT((*all)[i].id, (*all)[i - 1].id);
    }
  }
  auto page = store_->notices(line_.id, (*all)[0].id, 2);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0], (*all)[1]);
  EXPECT_EQ((*page)[1], (*all)[2]);
  EXPECT_TRUE(store_->notices(line_.id, all->back().id, 10)->empty());
  EXPECT_TRUE(store_->notices(line_.id, 0, 0)->empty());

  EXPECT_TRUE(store_->has_notice(line_.id, "", "link-test-missed").value());
  EXPECT_TRUE(store_->has_notice(line_.id, "3fa9c2d1-12", "ack-90").value());
  EXPECT_FALSE(store_->has_notice(line_.id, "3fa9c2d1-12", "response-50").value());
  EXPECT_FALSE(store_->has_notice(line_.id, "3fa9c2d1-13", "ack-50").value());
}

TEST_F(ProcedureTablesTest, AddedDraftIsPendingWhateverTheCallerSaid) {
  DecisionDraft claimed = draft_of(line_.id, "3fa9c2d1-12", "refer");
  claimed.id = 99;
  claimed.status = "confirmed";
  claimed.decided_by = "chief";
  claimed.decided_at = kT0;
  claimed.seq = 4;
  claimed.note = "already done";
  const std::uint64_t id = drafted(claimed);
  const std::uint64_t next = drafted(draft_of(line_.id, "3fa9c2d1-13"));
  EXPECT_GT(next, id);

  DecisionDraft expected = draft_of(line_.id, "3fa9c2d1-12", "refer");
  expected.id = id;
  EXPECT_EQ(store_->decision_draft(id).value(), expected);
}

TEST_F(ProcedureTablesTest, SettledDraftsRoundTripAndLeaveThePendingList) {
  ASSERT_TRUE(store_->add_line(other_line_).ok());
  const std::uint64_t confirmed = drafted(draft_of(line_.id, "a-1", "accept"));
  const std::uint64_t discarded = drafted(draft_of(line_.id, "a-2", "decline"));
  const std::uint64_t confirmed_unsequenced = drafted(draft_of(line_.id, "a-3", "counter"));
  const std::uint64_t pending = drafted(draft_of(line_.id, "a-4", "refer"));
  drafted(draft_of(other_line_.id, "b-1"));

  ASSERT_TRUE(store_->settle_decision_draft(confirmed, "confirmed", "chief", kT0 + 5, 12, "").ok());
  ASSERT_TRUE(store_
                  ->settle_decision_draft(discarded, "discarded", "deputy", kT0 + 6, std::nullopt,
                                          "the caller withdrew")
                  .ok());
  ASSERT_TRUE(store_
                  ->settle_decision_draft(confirmed_unsequenced, "confirmed", "chief", kT0 + 7,
                                          std::nullopt, "")
                  .ok());

  DecisionDraft expected = draft_of(line_.id, "a-1", "accept");
  expected.id = confirmed;
  expected.status = "confirmed";
  expected.decided_by = "chief";
  expected.decided_at = kT0 + 5;
  expected.seq = 12;
  EXPECT_EQ(store_->decision_draft(confirmed).value(), expected);
  auto dropped = store_->decision_draft(discarded).value();
  EXPECT_EQ(dropped.status, "discarded");
  EXPECT_EQ(dropped.decided_by, "deputy");
  EXPECT_EQ(dropped.decided_at, kT0 + 6);
  EXPECT_FALSE(dropped.seq.has_value());
  EXPECT_EQ(dropped.note, "the caller withdrew");
  EXPECT_FALSE(store_->decision_draft(confirmed_unsequenced)->seq.has_value());
  EXPECT_EQ(testing::sql_value(
                path_, "SELECT note FROM decision_drafts WHERE id = " + std::to_string(confirmed)),
            "NULL");  // an empty note is stored as none

  auto all = store_->decision_drafts(line_.id, false);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, confirmed);
  EXPECT_EQ((*all)[1].id, discarded);
  EXPECT_EQ((*all)[3].id, pending);
  auto waiting = store_->decision_drafts(line_.id, true);
  ASSERT_TRUE(waiting.ok()) << waiting.error().message;
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ(waiting->front().id, pending);
  EXPECT_EQ(waiting->front().body, body_of("refer a-4"));
}

TEST_F(ProcedureTablesTest, EverythingSurvivesARestart) {
  ASSERT_TRUE(store_->replace_request_states(line_.id, {state_row("a-1", "open")}).ok());
  ASSERT_TRUE(store_->add_notice(notice_of(line_.id, "a-1", "ack-50")).ok());
  const std::uint64_t id = drafted(draft_of(line_.id, "a-1"));
  ASSERT_TRUE(store_->settle_decision_draft(id, "confirmed", "chief", kT0, 2, "ok").ok());
  drafted(draft_of(line_.id, "a-2"));
  auto states = store_->request_states(line_.id).value();
  auto notices = store_->notices(line_.id, 0, 10).value();
  auto drafts = store_->decision_drafts(line_.id, false).value();

  reopen();
  EXPECT_EQ(store_->request_states(line_.id).value(), states);
  EXPECT_EQ(store_->notices(line_.id, 0, 10).value(), notices);
  EXPECT_EQ(store_->decision_drafts(line_.id, false).value(), drafts);
  // Ids are never reused after a restart.
  EXPECT_GT(drafted(draft_of(line_.id, "a-3")), drafts.back().id);
}

// --- migration ----------------------------------------------------------------------------------

TEST(ProcedureTablesMigrationTest, VersionThreeDatabaseGainsTheTablesAndKeepsWhatItHad) {
  testing::TempDir dir;
  const std::string path = dir.file("hotline.db");
  LineParties line = testing::test_line(1, 2, "old line");
  testing::TestChain chain(1, line.id);
  std::vector<record::SignedEntry> entries = chain.next(2);
  UserRecord user;
  user.name = "duty.officer";
  user.role = "operator";
  user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";  // not checked by the store
  {
    auto store = open_sqlite_store(path, {});
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->add_line(line).ok());
    ASSERT_TRUE((*store)->append_entries(entries).ok());
    ASSERT_TRUE((*store)->enqueue_draft(line.id, Precedence::kFlash, "message", body_of("q")).ok());
    ASSERT_TRUE((*store)->add_user(user).ok());
  }
  // Back to what version 3 wrote: none of the procedure tables.
  testing::raw_sql(path,
                   "DROP TABLE request_states; DROP TABLE notices; DROP TABLE decision_drafts; "
                   "DROP TABLE audit; ALTER TABLE users DROP COLUMN totp_secret; "
                   "ALTER TABLE users DROP COLUMN totp_last_step; PRAGMA user_version = 3");
  ASSERT_EQ(testing::sql_value(path, "SELECT count(*) FROM sqlite_master WHERE name = 'notices'"),
            "0");

  SqliteOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(open_sqlite_store(path, read_only).error().code, Errc::kRefused);  // must migrate

  auto store = open_sqlite_store(path, {});
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(current_schema_version(), 5);
  auto kept = (*store)->read_entries(line.id, chain.author(), 1, 10);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ(kept->back().signed_bytes, entries.back().signed_bytes);
  EXPECT_EQ((*store)->count_drafts(line.id, std::nullopt).value(), 1u);
  EXPECT_EQ((*store)->user("duty.officer")->role, "operator");
  EXPECT_FALSE((*store)->user("duty.officer")->totp_secret);  // migration 5: no second factor yet
  EXPECT_TRUE((*store)->audit(0, 10)->empty());

  EXPECT_TRUE((*store)->request_states(line.id)->empty());
  ASSERT_TRUE((*store)->replace_request_states(line.id, {state_row("a-1", "open")}).ok());
  ASSERT_TRUE((*store)->add_notice(notice_of(line.id, "a-1", "ack-50")).value());
  auto id = (*store)->add_decision_draft(draft_of(line.id, "a-1"));
  ASSERT_TRUE(id.ok()) << id.error().message;
  store->reset();
  EXPECT_EQ(testing::sql_value(path, "PRAGMA user_version"), "5");
  EXPECT_EQ(testing::sql_value(path, "SELECT state FROM request_states"), "open");
  EXPECT_EQ(testing::sql_value(path, "SELECT kind FROM notices"), "ack-50");
  EXPECT_EQ(testing::sql_value(path, "SELECT status FROM decision_drafts"), "pending");
  EXPECT_TRUE(open_sqlite_store(path, read_only).ok());
}

}  // namespace
}  // namespace hotline::store
