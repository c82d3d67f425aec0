#include "integration/procedure_fixture.h"

#include <stdexcept>

namespace hotline::testing {

using nlohmann::json;

namespace {

void add_user(const StationProcess& station, const std::string& name, const std::string& role) {
  auto r = run_hotline({"user", "add", "--dir", station.dir(), "--name", name, "--role", role},
                       "a long enough password for " + name + "\n");
  if (r.exit_code != 0) {
    throw std::runtime_error("user add " + name + " at " + station.name() + ": " + r.err + r.out);
  }
}

}  // namespace

void ProcedureTest::SetUp() {
  alpha_.init();
  bravo_.init();
  for (const auto& [name, role] : {std::pair{"ann", "operator"},
                                   {"paul", "principal"},
                                   {"ivan", "interpreter"},
                                   {"otto", "auditor"}}) {
    add_user(alpha_, name, role);
  }
  for (const auto& [name, role] : {std::pair{"bob", "operator"},
                                   {"bea", "principal"},
                                   {"irina", "interpreter"},
                                   {"olga", "auditor"}}) {
    add_user(bravo_, name, role);
  }
}

void ProcedureTest::start(const std::vector<std::string>& line_flags,
                          const std::vector<std::string>& alpha_only) {
  // On an address of its own, so that the port the kernel picks cannot be the one reserved for a
  // station that has not started yet.
  cable_ = FaultProxy::start("127.0.0.3", 0, "127.0.0.1", bravo_.listen_port());
  std::vector<std::string> alpha_flags = line_flags;
  alpha_flags.insert(alpha_flags.end(), alpha_only.begin(), alpha_only.end());
  alpha_.add_line(kLine, bravo_.fingerprint(), {cable_->endpoint()}, alpha_flags);
  bravo_.add_line(kLine, alpha_.fingerprint(), {}, line_flags);
  alpha_.set_serve_flags({"--test-clock"});
  bravo_.set_serve_flags({"--test-clock"});
  alpha_.start();
  bravo_.start();
  ASSERT_TRUE(wait_until([&] { return alpha_.line_status(kLine)["state"] == "open"; }));
  ASSERT_TRUE(wait_until([&] { return bravo_.line_status(kLine)["state"] == "open"; }));
}

json ProcedureTest::cli(const StationProcess& station, std::vector<std::string> args,
                        int expected_exit) {
  args.insert(args.end(), {"--dir", station.dir(), "--json"});
  CommandResult r = run_hotline(args);
  std::string command;
  for (const auto& a : args) {
    command += a + " ";
  }
  EXPECT_EQ(r.exit_code, expected_exit) << command << "\nout: " << r.out << "\nerr: " << r.err;
  return json::parse(r.out, nullptr, false);
}

json ProcedureTest::request(const StationProcess& station, const std::string& id) {
  json answer = cli(station, {"requests", "--line", kLine, "--request", id});
  return answer.is_object() ? answer["request"] : json();
}

std::string ProcedureTest::state(const StationProcess& station, const std::string& id) {
  json r = request(station, id);
  return r.is_object() ? r.value("state", "") : "";
}

bool ProcedureTest::reaches(const StationProcess& station, const std::string& id,
                            const std::string& wanted) {
  // Polled without expectations: until the request reaches the station, asking for it is exit 2.
  const auto current = [&] {
    CommandResult r = run_hotline(
        {"requests", "--line", kLine, "--request", id, "--dir", station.dir(), "--json"});
    json answer = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && answer.is_object() ? answer["request"].value("state", "") : "";
  };
  if (wait_until([&] { return current() == wanted; }, std::chrono::seconds(30))) {
    return true;
  }
  ADD_FAILURE() << "request " << id << " at " << station.name() << " is '" << current()
                << "', not '" << wanted << "'";
  return false;
}

std::vector<std::string> ProcedureTest::notice_kinds(const StationProcess& station,
                                                     const std::string& subject) {
  std::vector<std::string> kinds;
  json answer = cli(station, {"notices", "--line", kLine});
  for (const json& n : answer["notices"]) {
    if (subject.empty() || n["subject"] == subject) {
      kinds.push_back(n["kind"].get<std::string>());
    }
  }
  return kinds;
}

bool ProcedureTest::has_notice(const StationProcess& station, const std::string& subject,
                               const std::string& kind) {
  return wait_until(
      [&] {
        for (const std::string& k : notice_kinds(station, subject)) {
          if (k == kind) {
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(30));
}

void ProcedureTest::advance_both(const std::string& by) {
  cli(alpha_, {"clock", "advance", "--by", by});
  cli(bravo_, {"clock", "advance", "--by", by});
}

std::string ProcedureTest::request_from_alpha(const std::string& topic,
                                              const std::vector<std::string>& more_flags) {
  std::vector<std::string> args = {"request", "--line",  kLine, "--as",     "ann",      "--kind",
                                   "call",    "--topic", topic, "--window", "+1d/+1d1h"};
  args.insert(args.end(), more_flags.begin(), more_flags.end());
  json answer = cli(alpha_, args);
  if (!answer.is_object() || !answer.contains("request")) {
    throw std::runtime_error("request failed: " + answer.dump());
  }
  const std::string id = answer["request"]["id"].get<std::string>();
  EXPECT_EQ(answer["id"], id);  // `request --json` gives {"id"} (design.md §6)
  if (!wait_until([&] {
        json r = request(alpha_, id);
        return r.is_object() && r["delivered_at"].is_string();
      })) {
    throw std::runtime_error("request " + id + " was not delivered");
  }
  return id;
}

}  // namespace hotline::testing
