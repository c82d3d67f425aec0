// Deadlines between two real stations with injected clocks (`serve --test-clock` and `hotline
// clock advance`, never sleeps) (issue 5): reminders and expiry, a restart in the middle of a
// deadline, decisions after the deadline refused, decisions delivered late that still count,
// "expired, unconfirmed" while the cable is out, FLASH messages that must be acknowledged, and
// link tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "integration/procedure_fixture.h"

namespace hotline::testing {
namespace {

using nlohmann::json;

// Moves a stopped station's test clock: its offset from real time is kept in DIR/test-clock, in
// microseconds.
void add_offset_while_stopped(const StationProcess& station, long long micros) {
  const std::string path = station.dir() + "/test-clock";
  long long offset = 0;
  std::ifstream(path) >> offset;
  std::ofstream(path, std::ios::trunc) << offset + micros;
}

constexpr long long kHour = 3600LL * 1000 * 1000;

TEST_F(ProcedureTest, RemindersAtHalfAndNinetyPercentThenExpiryAgreedEvenAcrossARestart) {
  start();
  // Acknowledgement due in 2 h, decision in 10 h.
  const std::string id =
      request_from_alpha("reactor cooling", {"--ack-within", "2h", "--respond-within", "10h"});
  EXPECT_TRUE(notice_kinds(bravo_, id).empty());

  advance_both("61m");  // 50 % of the acknowledgement deadline: for the operators
  ASSERT_TRUE(has_notice(bravo_, id, "ack-50"));
  ASSERT_TRUE(has_notice(alpha_, id, "ack-50"));
  {
    const auto kinds = notice_kinds(bravo_, id);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "ack-90"), 0);
  }
  advance_both("48m");  // 90 %: escalated to the principals
  ASSERT_TRUE(has_notice(bravo_, id, "ack-90"));
  json notices = cli(bravo_, {"notices", "--line", kLine})["notices"];
  for (const json& n : notices) {
    if (n["kind"] == "ack-90") {
      EXPECT_EQ(n["audience"], "principals");
    }
    if (n["kind"] == "ack-50") {
      EXPECT_EQ(n["audience"], "operators");
    }
  }
  cli(bravo_, {"ack", "--line", kLine, "--request", id, "--as", "bob"});
  ASSERT_TRUE(reaches(alpha_, id, "acknowledged"));

  // Bravo goes down at 1 h 49 min and comes back at 6 h: the 50 % reminder of the response
  // deadline (5 h), which fell due while it was down, is raised as it starts.
  bravo_.kill9();
  add_offset_while_stopped(bravo_, 4 * kHour + 11 * 60 * 1000000LL);
  cli(alpha_, {"clock", "advance", "--by", "4h11m"});
  bravo_.start();
  ASSERT_TRUE(has_notice(bravo_, id, "response-50"));
  {
    const auto kinds = notice_kinds(bravo_, id);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "response-90"), 0);
  }

  // 9 h 30 min: 90 %. Then past 10 h: expired at both, and the decision is refused.
  advance_both("3h30m");
  ASSERT_TRUE(has_notice(bravo_, id, "response-90"));
  ASSERT_TRUE(wait_until([&] { return alpha_.line_status(kLine)["state"] == "open"; }));
  advance_both("31m");
  ASSERT_TRUE(reaches(bravo_, id, "expired"));
  ASSERT_TRUE(reaches(alpha_, id, "expired"));
  ASSERT_TRUE(has_notice(bravo_, id, "expired"));
  ASSERT_TRUE(has_notice(alpha_, id, "expired"));
  cli(bravo_, {"accept", "--line", kLine, "--request", id, "--as", "bea"}, 4);
  // The expiry is a signed entry of bravo's station on both records.
  const json history = request(alpha_, id)["history"];
  EXPECT_EQ(history.back()["kind"], "expired");

  // Every reminder was raised once, however often the stations looked.
  const auto kinds = notice_kinds(bravo_, id);
  for (const char* kind : {"ack-50", "ack-90", "response-50", "response-90", "deadline"}) {
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), kind), 1) << kind;
  }
}

TEST_F(ProcedureTest, ADecisionInTimeCountsWhenDeliveredLateAndSilenceIsUnconfirmedUntilResync) {
  start();
  const std::string decided = request_from_alpha("decided offline", {"--respond-within", "2h"});
  const std::string silent = request_from_alpha("never answered", {"--respond-within", "2h"});

  // The cable is pulled. Bravo declines one request in time; its entry cannot travel.
  cable_->set_blackhole(true);
  ASSERT_TRUE(wait_until([&] { return alpha_.line_status(kLine)["state"] != "open"; }));
  advance_both("1h");
  cli(bravo_,
      {"decline", "--line", kLine, "--request", decided, "--as", "bea", "--reason", "no time"});
  EXPECT_EQ(state(bravo_, decided), "declined");

  // Past both deadlines: bravo knows its own chain (expired / declined); alpha cannot know yet.
  advance_both("61m");
  ASSERT_TRUE(reaches(bravo_, silent, "expired"));
  ASSERT_TRUE(reaches(alpha_, silent, "expired-unconfirmed"));
  ASSERT_TRUE(reaches(alpha_, decided, "expired-unconfirmed"));
  ASSERT_TRUE(has_notice(alpha_, silent, "expired-unconfirmed"));
  // A decision attempted after the deadline is refused at the deciding station.
  cli(bravo_, {"accept", "--line", kLine, "--request", silent, "--as", "bea"}, 4);

  // The cable is back: the decision authored in time counts; the silence is now proven.
  cable_->set_blackhole(false);
  ASSERT_TRUE(reaches(alpha_, decided, "declined"));
  ASSERT_TRUE(reaches(alpha_, silent, "expired"));
  EXPECT_EQ(request(alpha_, decided)["reason"], "no time");
  EXPECT_EQ(state(bravo_, decided), "declined");
  EXPECT_EQ(state(bravo_, silent), "expired");
}

TEST_F(ProcedureTest, AFlashMessageMustBeAcknowledgedInTimeOrItEscalates) {
  start();
  json first = cli(alpha_, {"send", "--line", kLine, "--precedence", "FLASH", "--text",
                            "missile warning test", "--wait", "20"});
  ASSERT_EQ(first["status"], "receipted");
  json messages = cli(bravo_, {"messages", "--line", kLine})["messages"];
  ASSERT_FALSE(messages.empty());
  const std::string acked = messages.back()["id"].get<std::string>();
  EXPECT_TRUE(messages.back()["ack_deadline"].is_string());
  cli(bravo_, {"ack", "--line", kLine, "--message", acked, "--as", "bob"});
  // Acknowledging one's own message is refused.
  cli(alpha_, {"ack", "--line", kLine, "--message", acked, "--as", "ann"}, 4);
  ASSERT_TRUE(wait_until([&] {
    const json all = cli(alpha_, {"messages", "--line", kLine})["messages"];
    for (const json& m : all) {
      if (m["id"] == acked) {
        return m["acknowledged_by"] == "bob" && m["late"] == false;
      }
    }
    return false;
  })) << cli(alpha_, {"messages", "--line", kLine}).dump(1);

  json second = cli(alpha_, {"send", "--line", kLine, "--precedence", "FLASH", "--text",
                             "second warning", "--wait", "20"});
  ASSERT_EQ(second["status"], "receipted");
  messages = cli(bravo_, {"messages", "--line", kLine})["messages"];
  const std::string ignored = messages.back()["id"].get<std::string>();
  ASSERT_NE(ignored, acked);
  advance_both("11m");  // the terms give FLASH 10 minutes
  ASSERT_TRUE(has_notice(alpha_, ignored, "flash-unacknowledged"));
  ASSERT_TRUE(has_notice(bravo_, ignored, "flash-unacknowledged"));
  for (const std::string& kind : notice_kinds(alpha_, acked)) {
    EXPECT_NE(kind, "flash-unacknowledged");
  }
}

TEST_F(ProcedureTest, AnImmediateCallIsARequestForNowThatIsHeldAndConcluded) {
  start();
  json call = cli(alpha_, {"call", "--line", kLine, "--as", "ann", "--topic", "shots fired"});
  const std::string id = call["request"]["id"].get<std::string>();
  ASSERT_TRUE(reaches(bravo_, id, "delivered"));
  const json at_bravo = request(bravo_, id);
  EXPECT_EQ(at_bravo["immediate"], true);
  EXPECT_EQ(at_bravo["precedence"], "FLASH");
  EXPECT_EQ(at_bravo["kind"], "call");
  cli(bravo_, {"accept", "--line", kLine, "--request", id, "--as", "bob"});
  ASSERT_TRUE(reaches(alpha_, id, "accepted"));
  // The call takes place: in session, then concluded with a summary, at both stations.
  cli(alpha_, {"begin", "--line", kLine, "--request", id, "--as", "ann"});
  ASSERT_TRUE(reaches(bravo_, id, "in-session"));
  cli(bravo_, {"conclude", "--line", kLine, "--request", id, "--as", "bob", "--summary",
               "both sides stand down"});
  ASSERT_TRUE(reaches(alpha_, id, "concluded"));
  cli(alpha_, {"begin", "--line", kLine, "--request", id, "--as", "ann"}, 4);
}

TEST_F(ProcedureTest, TheSkewIsShownAndAStepAuthoredAheadOfOurClockIsFlagged) {
  start();
  const std::string id = request_from_alpha("skewed");
  // Bravo's clock runs an hour ahead; the terms tolerate five minutes.
  cli(bravo_, {"clock", "advance", "--by", "1h"});
  ASSERT_TRUE(wait_until([&] {
    const json offset = alpha_.line_status(kLine)["peer_clock_offset_us"];
    return offset.is_number() && offset.get<long long>() > 3500LL * 1000 * 1000;
  }));
  cli(bravo_, {"ack", "--line", kLine, "--request", id, "--as", "bob"});
  ASSERT_TRUE(reaches(alpha_, id, "acknowledged"));
  ASSERT_TRUE(wait_until([&] {
    const json flags = request(alpha_, id)["flags"];
    for (const json& a : flags) {
      if (a.get<std::string>().find("implausible") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << request(alpha_, id).dump(1);
  const auto kinds = notice_kinds(alpha_, "");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "implausible-time"), 1);
}

TEST_F(ProcedureTest, ARequestGivingItselfMoreTimeThanOurTermsIsFlagged) {
  // Alpha's copy of the terms allows 96 h; bravo's, the agreed 48 h.
  start({}, {"--response-deadline", "96h"});
  const std::string within = request_from_alpha("within", {"--respond-within", "48h"});
  const std::string beyond = request_from_alpha("beyond", {"--respond-within", "72h"});
  ASSERT_TRUE(has_notice(bravo_, beyond, "outside-terms"));
  const json flags = request(bravo_, beyond)["flags"];
  ASSERT_EQ(flags.size(), 1u) << flags.dump();
  EXPECT_NE(flags[0].get<std::string>().find("72h"), std::string::npos) << flags.dump();
  EXPECT_TRUE(request(bravo_, within)["flags"].empty());
  // It is still a request on the record, which bravo may answer.
  cli(bravo_, {"decline", "--request", beyond, "--as", "bea", "--reason", "outside the terms"});
  ASSERT_TRUE(reaches(alpha_, beyond, "declined"));
}

TEST_F(ProcedureTest, LinkTestsAreAnsweredAndRecordedAndADeadPeerRaisesTheAlarm) {
  start({"--test-interval", "1h", "--test-answer-within", "5m"});
  advance_both("61m");
  ASSERT_TRUE(wait_until([&] {
    const json tests = alpha_.line_status(kLine)["link_tests"];
    return tests["answered"].get<std::uint64_t>() >= 1;
  }));
  const json tests = alpha_.line_status(kLine)["link_tests"];
  EXPECT_GE(tests["sent"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(tests["missed"].get<std::uint64_t>(), 0u);
  ASSERT_TRUE(tests["last_round_trip_us"].is_number()) << tests.dump();
  EXPECT_GE(tests["last_round_trip_us"].get<long long>(), 0);
  // Bravo answered alpha's test, and alpha answered bravo's.
  EXPECT_GE(bravo_.line_status(kLine)["link_tests"]["answered_for_peer"].get<std::uint64_t>(), 1u);
  {
    const auto kinds = notice_kinds(alpha_, "");
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "link-test-missed"), 0);
  }

  // Bravo dies. Alpha's next test goes unanswered and raises the alarm.
  bravo_.kill9();
  cli(alpha_, {"clock", "advance", "--by", "1h"});
  ASSERT_TRUE(wait_until(
      [&] { return alpha_.line_status(kLine)["link_tests"]["sent"].get<std::uint64_t>() >= 2; }));
  cli(alpha_, {"clock", "advance", "--by", "6m"});
  ASSERT_TRUE(wait_until([&] {
    for (const std::string& kind : notice_kinds(alpha_, "")) {
      if (kind == "link-test-missed") {
        return true;
      }
    }
    return false;
  }));
  EXPECT_GE(alpha_.line_status(kLine)["link_tests"]["missed"].get<std::uint64_t>(), 1u);
}

}  // namespace
}  // namespace hotline::testing
