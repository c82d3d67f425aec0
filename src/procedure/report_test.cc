#include "procedure/report.h"

#include <gtest/gtest.h>

#include "testing/fixtures.h"

namespace hotline::procedure {
namespace {

constexpr Micros kSecond = 1'000'000;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kStart = 1'700'000'000'000'000;

// Two stations' chains of one line, authored by hand: alpha is station 1, bravo station 2.
class Chains : public testing::TestLine {
 public:
  // Signs `body` as the next entry of alpha's (or bravo's) chain at kStart + `at`, cross-linking
  // the other chain's latest entry.
  EntryRef add(bool by_alpha, const ProcedureBody& body, Micros at) {
    const record::SignedEntry& e =
        author_entry(by_alpha, std::string(kind_of(body)), encode_body(body), kStart + at);
    return {e.fields.author, e.fields.seq};
  }

  // A request by alpha (or bravo) at kStart + `at`, answerable for `response` after it.
  EntryRef request(bool by_alpha, Micros at, Micros response = 48 * kHour) {
    RequestBody b;
    b.proposal = {RequestKind::kCall, "Incident at the border crossing", "", {}, ""};
    b.ack_deadline = kStart + at + kHour / 2;
    b.response_deadline = kStart + at + response;
    return add(by_alpha, b, at);
  }

  // Each station's report, with each chain held up to its last entry.
  LineReport alpha_report(ReportPeriod period) const {
    const RequestBook book =
        RequestBook::project(alpha.public_key(), bravo.public_key(), alpha_chain, bravo_chain)
            .value();
    return make_report(book, alpha.public_key(), bravo.public_key(), period, until(alpha_chain),
                       until(bravo_chain));
  }
  LineReport bravo_report(ReportPeriod period) const {
    const RequestBook book =
        RequestBook::project(bravo.public_key(), alpha.public_key(), bravo_chain, alpha_chain)
            .value();
    return make_report(book, bravo.public_key(), alpha.public_key(), period, until(bravo_chain),
                       until(alpha_chain));
  }

  static Micros until(const std::vector<record::SignedEntry>& chain) {
    return chain.empty() ? 0 : chain.back().fields.time;
  }
};

constexpr ReportPeriod kAllTime{0, kStart + 1000 * kHour};

std::string prefix(const crypto::SigningKey& key) {
  return key.public_key().fingerprint().substr(4, 8);
}

// The direction whose requester is `key`.
const DirectionReport& made_by(const LineReport& report, const crypto::SigningKey& key) {
  for (const DirectionReport& d : report.directions) {
    if (d.requester == key.public_key()) {
      return d;
    }
  }
  ADD_FAILURE() << "no direction for " << prefix(key);
  return report.directions.front();
}

// What both stations' reports share: all but whose station made it.
nlohmann::json shared_part(const LineReport& report) {
  nlohmann::json j = report_json(report);
  j.erase("seen_from");
  return j;
}

// A line's record with known times (from kStart). Alpha's requests:
//   A1 at 0:    delivered +10s, acknowledged +60s, accepted +1h
//   A2 at 90m:  delivered +20s, acknowledged +5m, declined +3h, then "accepted" (an anomaly)
//   A3 at 2h:   delivered +30s, nothing else; deadline 50h, bravo's chain held to 60h: expired
//   A4 at 3h:   delivered +40s, countered +2h with a deadline at 15h, which alpha must answer;
//               alpha's chain is held to 20h: expired
//   A5 at 20h:  delivered +40h (the link was down), deadline 68h: delivered
// Bravo's:
//   B1 at 30m:  nothing else: sent
//   B2 at 4h:   delivered +5s, acknowledged +10m, deadline 104h: acknowledged
struct Scenario {
  Chains c;
  EntryRef a1, a2, a3, a4, a5, b1, b2;

  Scenario() {
    a1 = c.request(true, 0);
    c.add(false, DeliveredBody{a1}, 10 * kSecond);
    c.add(false, AckBody{a1}, 60 * kSecond);
    b1 = c.request(false, 30 * kMinute);
    c.add(false, AcceptBody{a1, std::nullopt}, kHour);
    a2 = c.request(true, 90 * kMinute);
    c.add(false, DeliveredBody{a2}, 90 * kMinute + 20 * kSecond);
    c.add(false, AckBody{a2}, 95 * kMinute);
    a3 = c.request(true, 2 * kHour);
    c.add(false, DeliveredBody{a3}, 2 * kHour + 30 * kSecond);
    a4 = c.request(true, 3 * kHour);
    c.add(false, DeliveredBody{a4}, 3 * kHour + 40 * kSecond);
    b2 = c.request(false, 4 * kHour, 100 * kHour);
    c.add(true, DeliveredBody{b2}, 4 * kHour + 5 * kSecond);
    c.add(true, AckBody{b2}, 4 * kHour + 10 * kMinute);
    c.add(false, DeclineBody{a2, "the minister is travelling"}, 90 * kMinute + 3 * kHour);
    CounterBody counter{a4, {}, "", kStart + 15 * kHour};
    counter.proposal = {RequestKind::kVideo, "Incident at the border crossing", "", {}, ""};
    c.add(false, counter, 5 * kHour);
    c.add(false, AcceptBody{a2, std::nullopt}, 5 * kHour + 1);
    a5 = c.request(true, 20 * kHour);
    c.add(false, DeliveredBody{a5}, 60 * kHour);
  }
};

TEST(ReportTest, AnEmptyRecordGivesBothDirectionsWithoutFigures) {
  Chains c;
  const LineReport report = c.alpha_report(kAllTime);
  ASSERT_EQ(report.directions.size(), 2u);
  for (const DirectionReport& d : report.directions) {
    EXPECT_EQ(d.requests, 0u);
    EXPECT_EQ(d.to_deliver, IntervalFigures{});
    EXPECT_TRUE(d.outcomes.empty());
  }
  const nlohmann::json j = report_json(report);
  EXPECT_TRUE(j["directions"][0]["to_decide"]["median"].is_null());
  EXPECT_TRUE(j["directions"][0]["to_decide"]["worst_text"].is_null());
  EXPECT_TRUE(j["chains"][0]["held_until_utc"].is_null()) << "nothing held";
  EXPECT_EQ(shared_part(report), shared_part(c.bravo_report(kAllTime)));
}

TEST(ReportTest, BothStationsReportTheSameFigures) {
  const Scenario s;
  const LineReport at_alpha = s.c.alpha_report(kAllTime);
  const LineReport at_bravo = s.c.bravo_report(kAllTime);
  EXPECT_EQ(at_alpha.directions, at_bravo.directions);
  EXPECT_EQ(at_alpha.chains, at_bravo.chains);
  EXPECT_EQ(shared_part(at_alpha), shared_part(at_bravo));
  EXPECT_EQ(report_json(at_alpha)["seen_from"], prefix(s.c.alpha));
  EXPECT_EQ(report_json(at_bravo)["seen_from"], prefix(s.c.bravo));

  // Both list the directions in the order of the requester's key.
  const bool alpha_first = s.c.alpha.public_key() < s.c.bravo.public_key();
  const nlohmann::json j = report_json(at_alpha);
  EXPECT_EQ(j["directions"][0]["requester"], prefix(alpha_first ? s.c.alpha : s.c.bravo));
  EXPECT_EQ(j["directions"][1]["requester"], prefix(alpha_first ? s.c.bravo : s.c.alpha));
  EXPECT_EQ(j["chains"][0]["party"], j["directions"][0]["requester"]);

  // Each station calls its own party's direction outgoing.
  const std::string text = report_text(at_alpha);
  EXPECT_NE(text.find("outgoing " + prefix(s.c.alpha)), std::string::npos) << text;
  EXPECT_NE(text.find("incoming " + prefix(s.c.bravo)), std::string::npos) << text;
  EXPECT_NE(report_text(at_bravo).find("outgoing " + prefix(s.c.bravo)), std::string::npos);
}

TEST(ReportTest, MediansAreRecordedValuesAndWorstIsTheLargest) {
  const Scenario s;
  const LineReport report = s.c.alpha_report(kAllTime);
  const DirectionReport& alpha = made_by(report, s.c.alpha);
  EXPECT_EQ(alpha.requests, 5u);
  // Deliveries: 10s, 20s, 30s, 40s, 40h.
  EXPECT_EQ(alpha.to_deliver, (IntervalFigures{5, 30 * kSecond, 40 * kHour}));
  // Acknowledgements: 60s and 5m; of an even count, the lower middle.
  EXPECT_EQ(alpha.to_acknowledge, (IntervalFigures{2, 60 * kSecond, 5 * kMinute}));
  // Decisions: accepted after 1h, declined after 3h, countered after 2h.
  EXPECT_EQ(alpha.to_decide, (IntervalFigures{3, 2 * kHour, 3 * kHour}));
  EXPECT_EQ(alpha.anomalies, 1u) << "the acceptance after the decline";

  const DirectionReport& bravo = made_by(report, s.c.bravo);
  EXPECT_EQ(bravo.requests, 2u);
  EXPECT_EQ(bravo.to_deliver, (IntervalFigures{1, 5 * kSecond, 5 * kSecond}));
  EXPECT_EQ(bravo.to_acknowledge, (IntervalFigures{1, 10 * kMinute, 10 * kMinute}));
  EXPECT_EQ(bravo.to_decide, IntervalFigures{}) << "nothing decided";
  EXPECT_EQ(bravo.anomalies, 0u);

  const nlohmann::json j = report_json(report);
  const nlohmann::json& a =
      j["directions"][s.c.alpha.public_key() < s.c.bravo.public_key() ? 0 : 1];
  EXPECT_EQ(a["to_decide"]["median"], 2 * kHour);
  EXPECT_EQ(a["to_decide"]["median_text"], "2h");
  EXPECT_EQ(a["to_deliver"]["worst_text"], "40h");
  EXPECT_EQ(a["to_acknowledge"]["median_text"], "1m");
  EXPECT_EQ(j["period"]["to"], kStart + 1000 * kHour);
  EXPECT_EQ(j["period"]["from_utc"], "1970-01-01T00:00:00Z");
}

TEST(ReportTest, OutcomesCountExpiryOnlyWhenTheAwaitingChainReachesTheDeadline) {
  const Scenario s;
  const DirectionReport alpha = made_by(s.c.alpha_report(kAllTime), s.c.alpha);
  EXPECT_EQ(alpha.outcomes, (std::map<RequestState, std::size_t>{{RequestState::kAccepted, 1},
                                                                 {RequestState::kDeclined, 1},
                                                                 {RequestState::kExpired, 2},
                                                                 {RequestState::kDelivered, 1}}));
  // B1's deadline (48h30m) has passed by the clock, but alpha's chain, which must answer it, is
  // held only to 20h: the record does not prove it expired.
  const DirectionReport bravo = made_by(s.c.alpha_report(kAllTime), s.c.bravo);
  EXPECT_EQ(bravo.outcomes, (std::map<RequestState, std::size_t>{
                                {RequestState::kSent, 1}, {RequestState::kAcknowledged, 1}}));
  const nlohmann::json j = report_json(s.c.bravo_report(kAllTime));
  EXPECT_EQ(j["directions"][s.c.alpha.public_key() < s.c.bravo.public_key() ? 0 : 1]["outcomes"],
            (nlohmann::json{{"accepted", 1}, {"declined", 1}, {"expired", 2}, {"delivered", 1}}));

  // The same record held to just before each deadline: A3 (awaiting bravo, due at 50h) and A4
  // (awaiting alpha, due at 15h) are not expired; held to the deadline itself, they are.
  const RequestBook book = RequestBook::project(s.c.alpha.public_key(), s.c.bravo.public_key(),
                                                s.c.alpha_chain, s.c.bravo_chain)
                               .value();
  const auto outcomes = [&](Micros alpha_until, Micros bravo_until) {
    return made_by(make_report(book, s.c.alpha.public_key(), s.c.bravo.public_key(), kAllTime,
                               kStart + alpha_until, kStart + bravo_until),
                   s.c.alpha)
        .outcomes;
  };
  auto before = outcomes(15 * kHour - 1, 50 * kHour - 1);
  EXPECT_EQ(before[RequestState::kExpired], 0u);
  EXPECT_EQ(before[RequestState::kDelivered], 2u) << "A3 and A5";
  EXPECT_EQ(before[RequestState::kCountered], 1u) << "A4";
  auto at = outcomes(15 * kHour, 50 * kHour);
  EXPECT_EQ(at[RequestState::kExpired], 2u);
  EXPECT_EQ(at[RequestState::kCountered], 0u);
  // Only the chain of the party awaited counts: bravo's reaching 15h does not expire A4.
  EXPECT_EQ(outcomes(15 * kHour - 1, 60 * kHour)[RequestState::kCountered], 1u);
}

TEST(ReportTest, ThePeriodSelectsRequestsByTheirTimeEndExcluded) {
  const Scenario s;
  // From 90m to 4h: A2, A3 and A4; B1 (30m) is before it and B2 (4h) at its excluded end.
  const ReportPeriod period{kStart + 90 * kMinute, kStart + 4 * kHour};
  const LineReport at_alpha = s.c.alpha_report(period);
  EXPECT_EQ(shared_part(at_alpha), shared_part(s.c.bravo_report(period)));
  const DirectionReport& alpha = made_by(at_alpha, s.c.alpha);
  EXPECT_EQ(alpha.requests, 3u);
  EXPECT_EQ(alpha.to_deliver, (IntervalFigures{3, 30 * kSecond, 40 * kSecond}));
  EXPECT_EQ(alpha.to_acknowledge, (IntervalFigures{1, 5 * kMinute, 5 * kMinute}));
  EXPECT_EQ(alpha.to_decide, (IntervalFigures{2, 2 * kHour, 3 * kHour}));
  EXPECT_EQ(alpha.outcomes, (std::map<RequestState, std::size_t>{{RequestState::kDeclined, 1},
                                                                 {RequestState::kExpired, 2}}));
  EXPECT_EQ(made_by(at_alpha, s.c.bravo).requests, 0u);
  EXPECT_EQ(report_json(at_alpha)["period"]["from_utc"], format_utc(kStart + 90 * kMinute));
}

TEST(ReportTest, TheTextTableShowsEveryFigure) {
  const Scenario s;
  const std::string text = report_text(s.c.alpha_report(kAllTime));
  for (const std::string& expected :
       {std::string("Requests made from 1970-01-01T00:00:00Z"), std::string("to decide"),
        std::string("median"), std::string("expired"), std::string("40h"),
        std::string("anomalies")}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " in\n" << text;
  }
  EXPECT_EQ(text.find("expired-unconfirmed"), std::string::npos);
}

}  // namespace
}  // namespace hotline::procedure
