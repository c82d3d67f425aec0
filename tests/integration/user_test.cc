// `hotline user add|list|disable` (design.md §6), driven through the real binary as an
// administrator would: the errors and their exit codes first, then what is stored.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "crypto/password.h"
#include "integration/hotline_process.h"
#include "integration/station_process.h"
#include "store/record_store.h"
#include "testing/temp_dir.h"

namespace hotline::testing {
namespace {

using nlohmann::json;

const std::string kPassword = "a long enough password";

class UserCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto init = run_hotline({"init", "--dir", dir(), "--name", "alpha"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  std::string dir() const { return root_.file("alpha"); }

  CommandResult add(const std::string& name, const std::string& role,
                    const std::string& password_line = kPassword + "\n") {
    return run_hotline({"user", "add", "--dir", dir(), "--name", name, "--role", role, "--json"},
                       password_line);
  }

  json list() {
    auto r = run_hotline({"user", "list", "--dir", dir(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out)["users"];
  }

  // The user as stored in the station's database, read back as the station would.
  store::UserRecord stored(const std::string& name) {
    store::SqliteOptions read_only;
    read_only.read_only = true;
    auto store = store::open_sqlite_store(dir() + "/hotline.db", read_only);
    EXPECT_TRUE(store.ok()) << store.error().message;
    auto user = (*store)->user(name);
    EXPECT_TRUE(user.ok()) << user.error().message;
    return user.ok() ? *user : store::UserRecord{};
  }

  TempDir root_;
};

// --- errors -------------------------------------------------------------------------------------

TEST_F(UserCli, UnknownRoleIsAUsageErrorListingTheRoles) {
  auto r = add("alice", "admin");
  EXPECT_EQ(r.exit_code, 2);
  const std::string message = json::parse(r.out)["error"]["message"];
  EXPECT_NE(message.find("unknown role 'admin'"), std::string::npos) << message;
  EXPECT_NE(message.find("administrator"), std::string::npos) << message;
  EXPECT_TRUE(list().empty());
}

TEST_F(UserCli, ShortOrMissingPasswordIsAUsageErrorAndAddsNobody) {
  auto short_password = add("alice", "operator", "elevenchars\n");
  EXPECT_EQ(short_password.exit_code, 2);
  EXPECT_NE(short_password.out.find("at least 12"), std::string::npos) << short_password.out;
  auto no_password = add("alice", "operator", "");
  EXPECT_EQ(no_password.exit_code, 2);
  EXPECT_NE(no_password.out.find("standard input is empty"), std::string::npos) << no_password.out;
  auto missing_file = run_hotline({"user", "add", "--dir", dir(), "--name", "alice", "--role",
                                   "operator", "--password-file", root_.file("absent")});
  EXPECT_EQ(missing_file.exit_code, 5);
  EXPECT_NE(missing_file.err.find(root_.file("absent")), std::string::npos) << missing_file.err;
  EXPECT_TRUE(list().empty());
}

TEST_F(UserCli, BadNameIsAUsageError) {
  for (const std::string& name :
       std::vector<std::string>{"Alice", "two words", "", std::string(65, 'a')}) {
    EXPECT_EQ(add(name, "operator").exit_code, 2) << name;
  }
  // A password is never a flag: there is no --password to leak it into the process list.
  EXPECT_EQ(run_hotline({"user", "add", "--dir", dir(), "--name", "alice", "--role", "operator",
                         "--password", kPassword})
                .exit_code,
            2);
  EXPECT_TRUE(list().empty());
}

TEST_F(UserCli, ExistingNameIsRefusedWithFourAndTheFirstUserIsKept) {
  ASSERT_EQ(add("alice", "operator").exit_code, 0);
  auto again = add("alice", "administrator", "another long password\n");
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_NE(again.out.find("already exists"), std::string::npos) << again.out;
  ASSERT_EQ(run_hotline({"user", "disable", "--dir", dir(), "--name", "alice"}).exit_code, 0);
  EXPECT_EQ(add("alice", "operator").exit_code, 4);  // not even once disabled
  EXPECT_EQ(stored("alice").role, "operator");
  EXPECT_TRUE(crypto::verify_password(stored("alice").password_hash, kPassword));
}

TEST_F(UserCli, NoStationOrUnknownUserIsAUsageError) {
  auto no_station = run_hotline({"user", "list", "--dir", root_.file("nowhere")});
  EXPECT_EQ(no_station.exit_code, 2);
  auto not_initialised =
      run_hotline({"user", "add", "--dir", root_.path(), "--name", "alice", "--role", "operator"},
                  kPassword + "\n");
  EXPECT_EQ(not_initialised.exit_code, 2);
  EXPECT_NE(not_initialised.err.find("hotline init"), std::string::npos) << not_initialised.err;
  auto unknown = run_hotline({"user", "disable", "--dir", dir(), "--name", "nobody"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no user named 'nobody'"), std::string::npos) << unknown.err;
}

// --- success ------------------------------------------------------------------------------------

TEST_F(UserCli, AddedUsersAreListedWithoutTheirHashes) {
  auto added = add("duty.officer", "operator");
  ASSERT_EQ(added.exit_code, 0) << added.err << added.out;
  EXPECT_EQ(json::parse(added.out), (json{{"name", "duty.officer"}, {"role", "operator"}}));
  ASSERT_EQ(add("minister", "principal").exit_code, 0);

  auto listed = run_hotline({"user", "list", "--dir", dir(), "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.find("argon2"), std::string::npos) << listed.out;
  auto users = json::parse(listed.out)["users"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["name"], "duty.officer");
  EXPECT_EQ(users[0]["role"], "operator");
  EXPECT_EQ(users[0]["disabled"], false);
  EXPECT_GT(users[0]["created_at"].get<std::int64_t>(), 1'600'000'000'000'000);
  EXPECT_EQ(users[1]["name"], "minister");
  EXPECT_EQ(users[1]["role"], "principal");

  auto text = run_hotline({"user", "list", "--dir", dir()});
  EXPECT_NE(text.out.find("minister      principal      added "), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("argon2"), std::string::npos) << text.out;
}

TEST_F(UserCli, StoredHashIsArgon2idAndVerifiesOnlyThePassword) {
  ASSERT_EQ(add("alice", "auditor", kPassword + "\r\nnot part of it\n").exit_code, 0);
  const store::UserRecord alice = stored("alice");
  EXPECT_TRUE(alice.password_hash.starts_with("$argon2id$")) << alice.password_hash;
  EXPECT_TRUE(crypto::verify_password(alice.password_hash, kPassword));
  EXPECT_FALSE(crypto::verify_password(alice.password_hash, kPassword + "\r"));
  EXPECT_FALSE(crypto::verify_password(alice.password_hash, "a long enough passwork"));
}

TEST_F(UserCli, PasswordFileGivesThePasswordOnItsFirstLine) {
  std::ofstream(root_.file("password")) << "from a file, long enough\nsecond line\n";
  auto r = run_hotline({"user", "add", "--dir", dir(), "--name", "bob", "--role", "interpreter",
                        "--password-file", root_.file("password")},
                       "ignored standard input\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "added bob (interpreter)\n");
  EXPECT_TRUE(crypto::verify_password(stored("bob").password_hash, "from a file, long enough"));
}

TEST_F(UserCli, DisabledUserStaysListedAndDisablingAgainSucceeds) {
  ASSERT_EQ(add("leaver", "operator").exit_code, 0);
  auto disabled = run_hotline({"user", "disable", "--dir", dir(), "--name", "leaver", "--json"});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  const auto first = json::parse(disabled.out);
  EXPECT_EQ(first["name"], "leaver");
  EXPECT_EQ(first["disabled"], true);
  auto again = run_hotline({"user", "disable", "--dir", dir(), "--name", "leaver", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["disabled_at"], first["disabled_at"]);
  auto users = list();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]["disabled"], true);
}

TEST_F(UserCli, UsersAreManagedWhileTheStationServes) {
  StationProcess station(root_.path(), "bravo", 7);
  station.init();
  station.start();
  auto added = run_hotline(
      {"user", "add", "--dir", station.dir(), "--name", "night-shift", "--role", "operator"},
      kPassword + "\n");
  EXPECT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(
      run_hotline({"user", "disable", "--dir", station.dir(), "--name", "night-shift"}).exit_code,
      0);
  auto listed = run_hotline({"user", "list", "--dir", station.dir(), "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out)["users"][0]["disabled"], true);
  EXPECT_NO_THROW(station.status());  // the station went on serving
  station.terminate();
}

}  // namespace
}  // namespace hotline::testing
