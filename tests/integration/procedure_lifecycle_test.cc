// The procedure between two real stations, driven through the command line (issue 5): the whole
// lifecycle of requests, refusals, roles and the two-person rule, translations, the report, and
// request states rebuilt from the record alone.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>

#include "integration/procedure_fixture.h"
#include "testing/fixtures.h"

namespace hotline::testing {
namespace {

using nlohmann::json;

// The state of every request as `station` shows it, by id.
std::map<std::string, std::string> states(const json& requests) {
  std::map<std::string, std::string> out;
  for (const json& r : requests["requests"]) {
    out[r["id"].get<std::string>()] = r["state"].get<std::string>();
  }
  return out;
}

// What must read the same at both stations: everything about a request except which way it went
// and what each side awaits (said from each side's point of view) and each side's own flags.
json shared_view(json r) {
  for (const char* key : {"direction", "awaiting", "line"}) {
    r.erase(key);
  }
  return r;
}

void execute(const std::string& database, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

TEST_F(ProcedureTest, TheWholeLifecycleThroughTheCommandLineEndsInTheSameStateAtBothStations) {
  start();
  // request → delivered (bravo's station records it) → acknowledged → countered → accepted →
  // scheduled.
  const std::string call = request_from_alpha("grid frequency incident");
  EXPECT_EQ(state(alpha_, call), "delivered");
  ASSERT_TRUE(reaches(bravo_, call, "delivered"));
  EXPECT_EQ(request(bravo_, call)["direction"], "incoming");
  EXPECT_EQ(request(bravo_, call)["awaiting"], "us");
  // `status` lists the requests of every line (design.md §6), or one with --request.
  const json listed = cli(bravo_, {"status", "--request", call})["requests"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["state"], "delivered");
  EXPECT_EQ(listed[0]["direction"], "incoming");
  EXPECT_EQ(listed[0]["line"], kLine);
  EXPECT_EQ(listed[0]["deadline"], request(bravo_, call)["ack_deadline"]);
  cli(bravo_, {"status", "--request", "00000000-1"}, 2);

  // --line may be left out where the request names it (design.md §6).
  cli(bravo_, {"ack", "--request", call, "--as", "bob"});
  ASSERT_TRUE(reaches(alpha_, call, "acknowledged"));
  cli(bravo_, {"ack", "--request", "00000000-9", "--as", "bob"}, 2);
  // Illegal transitions are refused with the reason, exit 4: a second acknowledgement, the
  // requester acknowledging its own request, a decision by the side that is not asked.
  cli(bravo_, {"ack", "--line", kLine, "--request", call, "--as", "bob"}, 4);
  cli(alpha_, {"accept", "--line", kLine, "--request", call, "--as", "ann"}, 4);

  json countered =
      cli(bravo_, {"counter", "--line", kLine, "--request", call, "--as", "bob", "--window",
                   "+2d/+2d1h", "--kind", "video", "--reason", "our minister travels tomorrow"});
  EXPECT_EQ(countered["request"]["state"], "countered");
  ASSERT_TRUE(reaches(alpha_, call, "countered"));
  EXPECT_EQ(request(alpha_, call)["awaiting"], "us");
  EXPECT_EQ(request(alpha_, call)["kind"], "video");

  cli(alpha_, {"accept", "--line", kLine, "--request", call, "--as", "paul"});
  ASSERT_TRUE(reaches(bravo_, call, "accepted"));
  const json window = request(alpha_, call)["windows"][0];
  cli(bravo_, {"schedule", "--line", kLine, "--request", call, "--as", "bob", "--window",
               window["start"].get<std::string>() + "/" + window["end"].get<std::string>()});
  ASSERT_TRUE(reaches(alpha_, call, "scheduled"));
  EXPECT_EQ(request(alpha_, call)["scheduled"], window);

  // Declined with a reason (none: a usage error, nothing recorded).
  const std::string declined = request_from_alpha("joint exercise");
  cli(bravo_, {"decline", "--line", kLine, "--request", declined, "--as", "bea"}, 2);
  cli(bravo_, {"decline", "--line", kLine, "--request", declined, "--as", "bea", "--reason",
               "not in our remit"});
  ASSERT_TRUE(reaches(alpha_, declined, "declined"));
  EXPECT_EQ(request(alpha_, declined)["reason"], "not in our remit");
  cli(bravo_, {"accept", "--line", kLine, "--request", declined, "--as", "bea"}, 4);

  // Withdrawn by the requester; nothing can follow.
  const std::string withdrawn = request_from_alpha("liaison visit");
  cli(bravo_, {"withdraw", "--line", kLine, "--request", withdrawn, "--as", "bob"}, 4);
  cli(alpha_, {"withdraw", "--line", kLine, "--request", withdrawn, "--as", "ann", "--reason",
               "resolved by mail"});
  ASSERT_TRUE(reaches(bravo_, withdrawn, "withdrawn"));
  cli(bravo_, {"accept", "--line", kLine, "--request", withdrawn, "--as", "bob"}, 4);

  // Expired: nobody at bravo answers within the hour asked for.
  const std::string expired = request_from_alpha("radar anomaly", {"--respond-within", "1h"});
  advance_both("61m");
  ASSERT_TRUE(reaches(bravo_, expired, "expired"));
  ASSERT_TRUE(reaches(alpha_, expired, "expired"));
  cli(bravo_, {"accept", "--line", kLine, "--request", expired, "--as", "bob"}, 4);

  // Both stations show the same state and the same history for each request.
  ASSERT_TRUE(wait_until([&] {
    return states(cli(alpha_, {"requests", "--line", kLine})) ==
           states(cli(bravo_, {"requests", "--line", kLine}));
  }));
  const std::map<std::string, std::string> expected = {
      {call, "scheduled"}, {declined, "declined"}, {withdrawn, "withdrawn"}, {expired, "expired"}};
  EXPECT_EQ(states(cli(alpha_, {"requests", "--line", kLine})), expected);
  for (const auto& [id, s] : expected) {
    EXPECT_EQ(shared_view(request(alpha_, id)), shared_view(request(bravo_, id))) << id;
  }
  // Who did what is on the record: the counter is bob's, the acceptance paul's.
  const json history = request(bravo_, call)["history"];
  ASSERT_GE(history.size(), 5u);
  EXPECT_EQ(history[0]["kind"], "request");
  EXPECT_EQ(history[0]["by"], "ann");
  std::vector<std::string> kinds;
  for (const json& h : history) {
    kinds.push_back(h["kind"].get<std::string>());
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"request", "delivered", "ack", "counter", "accept",
                                             "schedule"}));

  // The report: the same figures at both stations, from the record alone.
  json report_a = cli(alpha_, {"report", "--line", kLine});
  json report_b = cli(bravo_, {"report", "--line", kLine});
  ASSERT_TRUE(report_a.is_object());
  for (json* r : {&report_a, &report_b}) {
    r->erase("seen_from");
    r->erase("text");
  }
  EXPECT_EQ(report_a, report_b);
  const json& directions = report_a["directions"];
  ASSERT_EQ(directions.size(), 2u);
  std::size_t total = 0;
  for (const json& d : directions) {
    total += d["requests"].get<std::size_t>();
  }
  EXPECT_EQ(total, 4u);
  // A period with none of them.
  const json later = cli(bravo_, {"report", "--line", kLine, "--from", "2100-01-01T00:00Z"});
  for (const json& d : later["directions"]) {
    EXPECT_EQ(d["requests"], 0);
  }
  EXPECT_EQ(run_hotline({"report", "--line", kLine, "--dir", alpha_.dir(), "--from", "yesterday"})
                .exit_code,
            2);

  // And `hotline verify` passes on both records.
  alpha_.terminate();
  bravo_.terminate();
  EXPECT_EQ(run_hotline({"verify", "--dir", alpha_.dir()}).exit_code, 0);
  EXPECT_EQ(run_hotline({"verify", "--dir", bravo_.dir()}).exit_code, 0);
}

TEST_F(ProcedureTest, RolesRefuseWhatTheyMustAndTheTwoPersonRuleHoldsAnOperatorsDecision) {
  start({"--two-person-rule"});
  // Roles: an auditor cannot request, an interpreter cannot decide, an operator cannot
  // translate, an unknown user can do nothing.
  cli(alpha_, {"request", "--line", kLine, "--as", "otto", "--kind", "call", "--topic", "x"}, 4);
  cli(alpha_, {"request", "--line", kLine, "--as", "nobody", "--kind", "call", "--topic", "x"}, 4);
  const std::string id = request_from_alpha("border incident");
  ASSERT_TRUE(reaches(bravo_, id, "delivered"));
  cli(bravo_, {"accept", "--line", kLine, "--request", id, "--as", "irina"}, 4);
  cli(bravo_, {"accept", "--line", kLine, "--request", id, "--as", "olga"}, 4);

  // Bob's acceptance is held as a draft: not on the record, not at alpha.
  json drafted = cli(bravo_, {"accept", "--line", kLine, "--request", id, "--as", "bob"});
  ASSERT_TRUE(drafted.contains("draft")) << drafted.dump();
  const std::string draft = std::to_string(drafted["draft"]["id"].get<std::uint64_t>());
  EXPECT_EQ(drafted["draft"]["status"], "pending");
  EXPECT_EQ(state(bravo_, id), "delivered");
  // A message sent after it and receipted proves the line carried everything bravo authored.
  json sent = cli(bravo_, {"send", "--line", kLine, "--text", "checking", "--wait", "20"});
  EXPECT_EQ(sent["status"], "receipted");
  EXPECT_EQ(state(alpha_, id), "delivered");

  // Only a principal confirms, and not the operator who drafted it.
  cli(bravo_, {"confirm", "--line", kLine, "--draft", draft, "--as", "bob"}, 4);
  cli(bravo_, {"confirm", "--line", kLine, "--draft", draft, "--as", "olga"}, 4);
  json confirmed = cli(bravo_, {"confirm", "--line", kLine, "--draft", draft, "--as", "bea"});
  EXPECT_EQ(confirmed["draft"]["status"], "confirmed");
  ASSERT_TRUE(reaches(alpha_, id, "accepted"));
  const json accept = request(alpha_, id)["history"].back();
  EXPECT_EQ(accept["kind"], "accept");
  EXPECT_EQ(accept["by"], "bob");
  EXPECT_EQ(accept["confirmed_by"], "bea");
  // A settled draft cannot be confirmed again; both steps are kept locally.
  cli(bravo_, {"confirm", "--line", kLine, "--draft", draft, "--as", "bea"}, 4);
  json decisions = cli(bravo_, {"decisions", "--line", kLine});
  ASSERT_EQ(decisions["decisions"].size(), 1u);
  EXPECT_EQ(decisions["decisions"][0]["drafted_by"], "bob");
  EXPECT_EQ(decisions["decisions"][0]["decided_by"], "bea");

  // A principal's own decision needs no second person.
  const std::string second = request_from_alpha("second matter");
  json declined = cli(
      bravo_, {"decline", "--line", kLine, "--request", second, "--as", "bea", "--reason", "no"});
  EXPECT_EQ(declined["request"]["state"], "declined");

  // A draft can be discarded by its drafter or a principal, and is then never authored.
  const std::string third = request_from_alpha("third matter");
  json held = cli(bravo_, {"refer", "--line", kLine, "--request", third, "--as", "bob", "--to",
                           "deputy minister"});
  ASSERT_TRUE(held.contains("draft")) << held.dump();
  const std::string held_id = std::to_string(held["draft"]["id"].get<std::uint64_t>());
  cli(bravo_, {"discard", "--line", kLine, "--draft", held_id, "--as", "olga"}, 4);
  json dropped = cli(bravo_, {"discard", "--line", kLine, "--draft", held_id, "--as", "bob",
                              "--reason", "wrong official"});
  EXPECT_EQ(dropped["draft"]["status"], "discarded");
  cli(bravo_, {"confirm", "--line", kLine, "--draft", held_id, "--as", "bea"}, 4);
  EXPECT_EQ(state(bravo_, third), "delivered");

  // An interpreter attaches a translation; both stations show both texts together.
  const std::string accept_entry = accept["entry"].get<std::string>();
  cli(alpha_,
      {"translate", "--line", kLine, "--entry", accept_entry, "--as", "ann", "--language", "vi",
       "--text", "x"},
      4);
  cli(alpha_, {"translate", "--line", kLine, "--entry", accept_entry, "--as", "ivan", "--language",
               "vi", "--text", "Chấp nhận"});
  // The translation is shown with the step it translates, in the request's history.
  auto translations_of_accept = [&](const StationProcess& s) {
    const json history = request(s, id)["history"];
    for (const json& h : history) {
      if (h["entry"] == accept_entry) {
        return h["translations"];
      }
    }
    return json::array();
  };
  ASSERT_TRUE(wait_until([&] { return !translations_of_accept(bravo_).empty(); }));
  for (StationProcess* s : {&alpha_, &bravo_}) {
    const json translations = translations_of_accept(*s);
    ASSERT_EQ(translations.size(), 1u) << s->name();
    EXPECT_EQ(translations[0]["language"], "vi");
    EXPECT_EQ(translations[0]["text"], "Chấp nhận");
    EXPECT_EQ(translations[0]["by"], "ivan");
  }
}

TEST_F(ProcedureTest, DeletingTheStateTablesAndRestartingRebuildsIdenticalStates) {
  start();
  const std::string a = request_from_alpha("one");
  const std::string b = request_from_alpha("two");
  cli(bravo_, {"ack", "--line", kLine, "--request", a, "--as", "bob"});
  cli(bravo_, {"decline", "--line", kLine, "--request", b, "--as", "bob", "--reason", "no"});
  ASSERT_TRUE(reaches(alpha_, a, "acknowledged"));
  ASSERT_TRUE(reaches(alpha_, b, "declined"));
  const json before = cli(alpha_, {"requests", "--line", kLine});

  alpha_.terminate();
  const std::string database = alpha_.dir() + "/hotline.db";
  execute(database, "DELETE FROM request_states");
  alpha_.start();
  EXPECT_EQ(cli(alpha_, {"requests", "--line", kLine}), before);

  EXPECT_EQ(sql_value(database, "SELECT count(*) FROM request_states"), "2");
  // Also after a crash: the table is rewritten from the record, not trusted.
  alpha_.kill9();
  execute(database, "UPDATE request_states SET state = 'accepted', detail = '{}'");
  alpha_.start();
  EXPECT_EQ(cli(alpha_, {"requests", "--line", kLine}), before);
  EXPECT_EQ(sql_value(database, "SELECT count(*) FROM request_states WHERE state = 'accepted'"),
            "0");
  // And with the table itself gone.
  alpha_.terminate();
  execute(database, "DROP TABLE request_states");
  alpha_.start();
  EXPECT_EQ(cli(alpha_, {"requests", "--line", kLine}), before);
  EXPECT_EQ(sql_value(database, "SELECT count(*) FROM request_states"), "2");
  EXPECT_EQ(cli(alpha_, {"requests", "--line", kLine}), before);
}

}  // namespace
}  // namespace hotline::testing
