#include "procedure/request_book.h"

#include <gtest/gtest.h>

#include "testing/fixtures.h"

namespace hotline::procedure {
namespace {

constexpr Micros kHour = 3'600'000'000;
constexpr Micros kStart = 1'700'000'000'000'000;

// Two stations' chains of one line, authored by hand: alpha is station 1, bravo station 2.
class Chains : public testing::TestLine {
 public:
  // Signs `body` as the next entry of alpha's (or bravo's) chain at `time`, cross-linking the
  // other chain's latest entry.
  record::SignedEntry add(bool by_alpha, const ProcedureBody& body, Micros time) {
    return author_entry(by_alpha, std::string(kind_of(body)), encode_body(body), time);
  }

  RequestBook alpha_book() const {
    return RequestBook::project(alpha.public_key(), bravo.public_key(), alpha_chain, bravo_chain)
        .value();
  }
  RequestBook bravo_book() const {
    return RequestBook::project(bravo.public_key(), alpha.public_key(), bravo_chain, alpha_chain)
        .value();
  }
};

RequestBody call_request(Micros at) {
  RequestBody b;
  b.proposal = {RequestKind::kCall,
                "Incident at the border crossing",
                "ministers",
                {{at + 2 * kHour, at + 3 * kHour}},
                "minister"};
  b.precedence = Precedence::kImmediate;
  b.ack_deadline = at + kHour / 2;
  b.response_deadline = at + 48 * kHour;
  return b;
}

EntryRef ref_of(const record::SignedEntry& e) { return {e.fields.author, e.fields.seq}; }

TEST(RequestBookTest, TheWholeLifecycleGivesBothStationsTheSameStates) {
  Chains c;
  const auto request = c.add(true, call_request(kStart), kStart);
  const EntryRef id = ref_of(request);
  c.add(false, AckBody{id}, kStart + 60'000'000);
  CounterBody counter{id,
                      {RequestKind::kVideo,
                       "Incident at the border crossing",
                       "deputy ministers",
                       {{kStart + 5 * kHour, kStart + 6 * kHour}},
                       "deputy minister"},
                      "the minister travels",
                      kStart + 24 * kHour};
  c.add(false, counter, kStart + kHour);
  c.add(true, AcceptBody{id, TimeWindow{kStart + 5 * kHour, kStart + 6 * kHour}},
        kStart + 2 * kHour);
  c.add(true, ScheduleBody{id, {kStart + 5 * kHour, kStart + 6 * kHour}}, kStart + 2 * kHour + 1);

  for (const RequestBook& book : {c.alpha_book(), c.bravo_book()}) {
    const Request* r = book.find(id);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->state, RequestState::kScheduled);
    EXPECT_TRUE(r->acknowledged);
    EXPECT_EQ(r->proposal.kind, RequestKind::kVideo) << "the counter's proposal was accepted";
    EXPECT_EQ(r->proposal.officials, "deputy ministers");
    ASSERT_TRUE(r->scheduled.has_value());
    EXPECT_EQ(r->scheduled->start, kStart + 5 * kHour);
    std::vector<std::string> kinds;
    for (const auto& h : r->history) kinds.push_back(h.kind);
    EXPECT_EQ(kinds, (std::vector<std::string>{"request", "ack", "counter", "accept", "schedule"}));
    EXPECT_TRUE(r->anomalies.empty());
  }
}

TEST(RequestBookTest, DeliveredComesFromThePeersReceipt) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  const RequestBook alpha = c.alpha_book();
  const Request& r = *alpha.find(id);
  EXPECT_EQ(alpha.view(r, {kStart + 1, 0, 0}), RequestState::kSent);
  EXPECT_EQ(alpha.view(r, {kStart + 1, 1, 0}), RequestState::kDelivered);
  // Bravo holds it, so at bravo it is delivered.
  const RequestBook bravo = c.bravo_book();
  EXPECT_EQ(bravo.view(*bravo.find(id), {kStart + 1, 0, kStart}), RequestState::kDelivered);
}

TEST(RequestBookTest, StepsTheRulesForbidAreRefusedWithTheReason) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  const RequestBook book = c.alpha_book();
  const auto& alpha = c.alpha.public_key();
  const auto& bravo = c.bravo.public_key();
  const Micros now = kStart + kHour;

  auto refused = [&](Step step, const record::PublicKey& who, Micros at) {
    auto result = book.check(id, step, who, at);
    EXPECT_FALSE(result.ok()) << step_name(step);
    return result.ok() ? std::string() : result.error().message;
  };
  EXPECT_NE(refused(Step::kAck, alpha, now).find("only the side it was sent to"),
            std::string::npos);
  EXPECT_NE(refused(Step::kAccept, alpha, now).find("awaits their answer"), std::string::npos);
  EXPECT_NE(refused(Step::kWithdraw, bravo, now).find("only the requester"), std::string::npos);
  EXPECT_NE(refused(Step::kSchedule, alpha, now).find("only an accepted request"),
            std::string::npos);
  EXPECT_NE(refused(Step::kAccept, bravo, kStart + 48 * kHour).find("response deadline passed"),
            std::string::npos);
  EXPECT_EQ(book.check({alpha, 99}, Step::kAck, bravo, now).error().code, Errc::kNotFound);

  EXPECT_TRUE(book.check(id, Step::kAck, bravo, now).ok());
  EXPECT_TRUE(book.check(id, Step::kDecline, bravo, now).ok());
  EXPECT_TRUE(book.check(id, Step::kWithdraw, alpha, now).ok());
}

TEST(RequestBookTest, DeclinedAndWithdrawnAreFinal) {
  Chains c;
  const EntryRef declined = ref_of(c.add(true, call_request(kStart), kStart));
  c.add(false, DeclineBody{declined, "the minister is unavailable this week"}, kStart + kHour);
  const EntryRef withdrawn =
      ref_of(c.add(true, call_request(kStart + 2 * kHour), kStart + 2 * kHour));
  c.add(true, WithdrawBody{withdrawn, "resolved at working level"}, kStart + 3 * kHour);
  // Steps after the end are in the record (a misbehaving peer signed them) but change nothing.
  c.add(false, AcceptBody{withdrawn, std::nullopt}, kStart + 4 * kHour);

  for (const RequestBook& book : {c.alpha_book(), c.bravo_book()}) {
    EXPECT_EQ(book.find(declined)->state, RequestState::kDeclined);
    EXPECT_EQ(book.find(declined)->reason, "the minister is unavailable this week");
    const Request& w = *book.find(withdrawn);
    EXPECT_EQ(w.state, RequestState::kWithdrawn);
    ASSERT_EQ(w.anomalies.size(), 1u);
    EXPECT_NE(w.anomalies[0].find("it is withdrawn: no decision is pending"), std::string::npos)
        << w.anomalies[0];
    EXPECT_FALSE(book.check(declined, Step::kWithdraw, c.alpha.public_key(), kStart).ok());
  }
  // A decline without a reason is not a valid body.
  EXPECT_FALSE(check_body(DeclineBody{declined, ""}, kStart).ok());
}

// Expiry is decided by the record: the side that must answer knows it authored nothing in time;
// the requester knows only once it holds that side's chain past the deadline.
TEST(RequestBookTest, ExpiryIsConfirmedOnlyByThePeersChainPastTheDeadline) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  const Micros deadline = kStart + 48 * kHour;
  const RequestBook alpha = c.alpha_book();
  const RequestBook bravo = c.bravo_book();
  const Request& at_alpha = *alpha.find(id);
  const Request& at_bravo = *bravo.find(id);

  EXPECT_EQ(bravo.view(at_bravo, {deadline - 1, 0, kStart}), RequestState::kDelivered);
  EXPECT_EQ(bravo.view(at_bravo, {deadline, 0, kStart}), RequestState::kExpired);
  // The link is down: alpha's clock is past the deadline, but it holds bravo's chain only up to
  // before it.
  EXPECT_EQ(alpha.view(at_alpha, {deadline + kHour, 1, deadline - kHour}),
            RequestState::kExpiredUnconfirmed);
  // Resynchronised: bravo's chain (or checkpoint) is held past the deadline, with no decision.
  EXPECT_EQ(alpha.view(at_alpha, {deadline + 2 * kHour, 1, deadline + kHour}),
            RequestState::kExpired);
  // Even with alpha's clock behind: the record proves it.
  EXPECT_EQ(alpha.view(at_alpha, {deadline - kHour, 1, deadline}), RequestState::kExpired);
  EXPECT_FALSE(bravo.check(id, Step::kAccept, c.bravo.public_key(), deadline).ok());
}

TEST(RequestBookTest, TheSilentStationsExpiredEntryIsAppliedOnlyWhenItIsDue) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  const Micros deadline = kStart + 48 * kHour;
  // Alpha cannot expire its own request, nor can bravo before the deadline or for another one.
  c.add(true, ExpiredBody{id, deadline}, deadline);
  c.add(false, ExpiredBody{id, deadline}, deadline - 1);
  c.add(false, ExpiredBody{id, deadline + kHour}, deadline + 1);
  EXPECT_EQ(c.alpha_book().find(id)->state, RequestState::kSent);
  EXPECT_EQ(c.alpha_book().find(id)->anomalies.size(), 3u);

  c.add(false, ExpiredBody{id, deadline}, deadline + 5);
  for (const RequestBook& book : {c.alpha_book(), c.bravo_book()}) {
    const Request& r = *book.find(id);
    EXPECT_EQ(r.state, RequestState::kExpired);
    EXPECT_EQ(r.history.back().kind, "expired");
    // Final: whatever a clock says, and nothing applies after it.
    EXPECT_EQ(book.view(r, {kStart, 0, kStart}), RequestState::kExpired);
    EXPECT_FALSE(book.check(id, Step::kWithdraw, c.alpha.public_key(), deadline + 6).ok());
  }
  // The body round-trips.
  const ProcedureBody body = ExpiredBody{id, deadline};
  auto decoded = decode_body("expired", encode_body(body, {"", ""}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<ExpiredBody>(decoded.value()).deadline, deadline);
  EXPECT_FALSE(decode_body("expired", encode_body(DeliveredBody{id})).ok());
}

TEST(RequestBookTest, ADecisionAuthoredInTimeCountsHoweverLateItArrives) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  const Micros deadline = kStart + 48 * kHour;
  c.add(false, AcceptBody{id, std::nullopt}, deadline - 1);  // the link was down when it was sent
  const RequestBook alpha = c.alpha_book();
  EXPECT_EQ(alpha.view(*alpha.find(id), {deadline + 10 * kHour, 1, deadline - 1}),
            RequestState::kAccepted);

  // One authored at the deadline does not count: the peer's station should have refused it.
  Chains late;
  const EntryRef late_id = ref_of(late.add(true, call_request(kStart), kStart));
  late.add(false, AcceptBody{late_id, std::nullopt}, deadline);
  const RequestBook book = late.alpha_book();
  const Request& r = *book.find(late_id);
  EXPECT_EQ(r.state, RequestState::kSent);
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_NE(r.anomalies[0].find("deadline"), std::string::npos) << r.anomalies[0];
  EXPECT_EQ(book.view(r, {deadline + kHour, 1, deadline}), RequestState::kExpired);
}

TEST(RequestBookTest, ACounterIsAnsweredByTheOtherSideWithinItsOwnDeadline) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  CounterBody counter{id, call_request(kStart).proposal, "", kStart + 10 * kHour};
  counter.proposal.windows = {{kStart + 20 * kHour, kStart + 21 * kHour}};
  c.add(false, counter, kStart + kHour);
  const RequestBook book = c.alpha_book();
  const Request& r = *book.find(id);
  EXPECT_EQ(r.state, RequestState::kCountered);
  EXPECT_EQ(r.awaiting, c.alpha.public_key());
  EXPECT_EQ(r.response_deadline, kStart + 10 * kHour);
  EXPECT_TRUE(book.check(id, Step::kAccept, c.alpha.public_key(), kStart + 2 * kHour).ok());
  EXPECT_FALSE(book.check(id, Step::kAccept, c.bravo.public_key(), kStart + 2 * kHour).ok());
  // The requester's silence now expires it: alpha awaits, so alpha knows at once.
  EXPECT_EQ(book.view(r, {kStart + 10 * kHour, 1, kStart + kHour}), RequestState::kExpired);
}

TEST(RequestBookTest, RemindersFallAtHalfAndNineTenthsOfEachDeadline) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  const auto due = reminders(*c.alpha_book().find(id));
  ASSERT_EQ(due.size(), 5u);
  EXPECT_EQ(due[0].at, kStart + kHour / 4);            // 50 % of 30 min
  EXPECT_EQ(due[1].at, kStart + kHour / 2 * 9 / 10);   // 90 % of 30 min
  EXPECT_EQ(due[2].at, kStart + 24 * kHour);           // 50 % of 48 h
  EXPECT_EQ(due[3].at, kStart + 48 * kHour * 9 / 10);  // 90 % of 48 h
  EXPECT_EQ(due[4].what, Reminder::What::kExpiry);
  c.add(false, AckBody{id}, kStart + 1);
  EXPECT_EQ(reminders(*c.alpha_book().find(id)).size(), 3u) << "acknowledged: no ack reminders";
}

TEST(RequestBookTest, BodiesRoundTripAndBadOnesAreRefusedNamingTheField) {
  Chains c;
  const EntryRef ref{c.alpha.public_key(), 7};
  const std::vector<ProcedureBody> bodies = {
      call_request(kStart),
      AckBody{ref},
      AcceptBody{ref, TimeWindow{1, 2}},
      DeclineBody{ref, "no"},
      CounterBody{ref, call_request(kStart).proposal, "later", kStart + kHour},
      ReferBody{ref, "the deputy minister"},
      WithdrawBody{ref, ""},
      ScheduleBody{ref, {3, 4}},
      ConcludeBody{ref, "agreed to meet again"}};
  for (const ProcedureBody& body : bodies) {
    auto decoded = decode_body(kind_of(body), encode_body(body));
    ASSERT_TRUE(decoded.ok()) << kind_of(body) << ": " << decoded.error().message;
    EXPECT_EQ(cbor::encode(encode_body(decoded.value())), cbor::encode(encode_body(body)))
        << kind_of(body);
  }
  auto no_reason = decode_body("decline", encode_body(AckBody{ref}));
  ASSERT_FALSE(no_reason.ok());
  EXPECT_NE(no_reason.error().message.find("'decline' entry's reason is missing"),
            std::string::npos)
      << no_reason.error().message;
  cbor::Value bad_window = cbor::Value::map({
      {cbor::Value::uint(1), cbor::Value::bytes(c.alpha.public_key().view())},
      {cbor::Value::uint(2), cbor::Value::uint(1)},
      {cbor::Value::uint(3), cbor::Value::text("tomorrow")},
  });
  auto window = decode_body("schedule", bad_window);
  ASSERT_FALSE(window.ok());
  EXPECT_NE(window.error().message.find("window"), std::string::npos);
  EXPECT_FALSE(check_body(ScheduleBody{ref, {5, 5}}, kStart).ok());
  RequestBody early = call_request(kStart);
  early.response_deadline = kStart - 1;
  EXPECT_FALSE(check_body(early, kStart).ok());
}

// Entries of other kinds are ignored, bodies that do not decode are kept as anomalies, and a
// projection rebuilt from the chains equals one fed entry by entry.
TEST(RequestBookTest, TheProjectionIgnoresOtherKindsAndKeepsAnomalies) {
  Chains c;
  const EntryRef id = ref_of(c.add(true, call_request(kStart), kStart));
  c.add(false, AckBody{id}, kStart + 1);
  c.add(false, AckBody{{c.bravo.public_key(), 42}}, kStart + 2);  // no such request
  const RequestBook book = c.bravo_book();
  ASSERT_EQ(book.anomalies().size(), 1u);
  EXPECT_NE(book.anomalies()[0].find("not in the record"), std::string::npos);

  RequestBook incremental(c.bravo.public_key(), c.alpha.public_key());
  incremental.apply(c.alpha_chain[0]);
  incremental.apply(c.bravo_chain[0]);
  EXPECT_EQ(incremental.find(id)->state, book.find(id)->state);
  EXPECT_EQ(incremental.find(id)->state, RequestState::kAcknowledged);
}

}  // namespace
}  // namespace hotline::procedure
