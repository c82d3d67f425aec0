// The offline commands of issue 3, driven through the real binary as an operator would.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "integration/hotline_process.h"
#include "testing/temp_dir.h"

namespace hotline::testing {
namespace {

using nlohmann::json;

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    lines.push_back(l);
  }
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) {
    out << l << '\n';
  }
}

class Cli : public ::testing::Test {
 protected:
  // A demo record (60 entries, receipts, checkpoints) in two stations.
  void make_demo() {
    auto r = run_hotline({"demo", "--dir", dir_.path(), "--entries", "60", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto report = json::parse(r.out);
    ASSERT_EQ(report["stations"].size(), 2u);
    for (const auto& s : report["stations"]) {
      ASSERT_TRUE(s["sound"].get<bool>());
    }
  }
  std::string station(const std::string& name) const { return dir_.file(name); }
  TempDir dir_;
};

TEST_F(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_hotline({}).exit_code, 2);
  EXPECT_EQ(run_hotline({"init"}).exit_code, 2);  // --name is required
  EXPECT_EQ(run_hotline({"no-such-command"}).exit_code, 2);
}

TEST_F(Cli, EveryCommandHasHelp) {
  for (const char* command : {"init", "fingerprint", "verify", "export", "demo"}) {
    auto r = run_hotline({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << command;
  }
}

TEST_F(Cli, FingerprintOfADirectoryWithoutAStationIsAClearError) {
  auto r = run_hotline({"fingerprint", "--dir", dir_.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hotline init"), std::string::npos) << r.err;
}

TEST_F(Cli, InitRefusesAnUnwritableLocationNamingIt) {
  std::ofstream(dir_.file("plainfile")) << "x";
  auto r = run_hotline({"init", "--dir", dir_.file("plainfile/station"), "--name", "x"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("plainfile"), std::string::npos) << r.err;
}

TEST_F(Cli, InitRefusesToOverwriteAStation) {
  ASSERT_EQ(run_hotline({"init", "--dir", station("s"), "--name", "s"}).exit_code, 0);
  auto again = run_hotline({"init", "--dir", station("s"), "--name", "s"});
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_NE(again.err.find("already holds a station"), std::string::npos);
}

TEST_F(Cli, InitPrintsTheFingerprintAndStoresThePlainKeyOwnerOnly) {
  auto r = run_hotline({"init", "--dir", station("s"), "--name", "mod-test", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string fingerprint = json::parse(r.out)["fingerprint"];
  EXPECT_EQ(fingerprint.rfind("hl1:", 0), 0u);
  EXPECT_NE(r.err.find("unencrypted"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((station("s") + "/identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto fp = run_hotline({"fingerprint", "--dir", station("s"), "--json"});
  EXPECT_EQ(json::parse(fp.out)["fingerprint"], fingerprint);
  auto plain = run_hotline({"fingerprint", "--dir", station("s")});
  EXPECT_EQ(plain.out, fingerprint + "\n");
}

TEST_F(Cli, InitWithAPassphraseSealsTheKey) {
  std::ofstream(dir_.file("pass")) << "a long passphrase\n";
  auto r = run_hotline({"init", "--dir", station("s"), "--name", "s", "--passphrase-file",
                        dir_.file("pass"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out)["key_sealed"].get<bool>());
  EXPECT_EQ(r.err.find("unencrypted"), std::string::npos);
  auto fp = run_hotline({"fingerprint", "--dir", station("s")});
  EXPECT_EQ(fp.exit_code, 0);  // the public key is readable without the passphrase
}

TEST_F(Cli, DemoRecordVerifiesFromTheDatabaseAndFromTheExport) {
  make_demo();
  for (const char* name : {"alpha", "bravo"}) {
    auto db = run_hotline({"verify", "--dir", station(name), "--json"});
    ASSERT_EQ(db.exit_code, 0) << db.out << db.err;
    auto summary = json::parse(db.out);
    EXPECT_TRUE(summary["sound"].get<bool>());
    EXPECT_EQ(summary["entries"], 60);
    EXPECT_GE(summary["receipts"].get<int>(), 60);
    EXPECT_GE(summary["checkpoints"].get<int>(), 2);
    const std::string out = dir_.file(std::string(name) + "-again.jsonl");
    ASSERT_EQ(run_hotline({"export", "--dir", station(name), "--out", out}).exit_code, 0);
    auto file = run_hotline({"verify", out});
    EXPECT_EQ(file.exit_code, 0) << file.out;
  }
}

TEST_F(Cli, ATamperedExportFailsNamingTheItem) {
  make_demo();
  const auto lines = read_lines(dir_.file("alpha.jsonl"));
  ASSERT_GT(lines.size(), 100u);
  // One byte in every signed item, at a position that moves through the item.
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto item = json::parse(lines[i]);
    Bytes raw = from_base64(item["signed"].get<std::string>()).value();
    raw[(i * 37) % raw.size()] ^= 0x40;
    item["signed"] = to_base64(raw);
    auto copy = lines;
    copy[i] = item.dump();
    write_lines(dir_.file("t.jsonl"), copy);
    auto r = run_hotline({"verify", dir_.file("t.jsonl"), "--json"});
    ASSERT_EQ(r.exit_code, 1) << "line " << i + 1;
    EXPECT_EQ(json::parse(r.out)["first_problem"]["item"], i + 1) << r.out;
  }
}

TEST_F(Cli, DeletedReorderedOrDuplicatedEntriesFail) {
  make_demo();
  const auto lines = read_lines(dir_.file("bravo.jsonl"));
  auto deleted = lines;
  deleted.erase(deleted.begin() + 10);
  write_lines(dir_.file("d.jsonl"), deleted);
  EXPECT_EQ(run_hotline({"verify", dir_.file("d.jsonl")}).exit_code, 1);
  auto reordered = lines;
  std::swap(reordered[10], reordered[11]);
  write_lines(dir_.file("r.jsonl"), reordered);
  auto r = run_hotline({"verify", dir_.file("r.jsonl")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("item 11"), std::string::npos) << r.out;
  auto duplicated = lines;
  duplicated.insert(duplicated.begin() + 12, lines[11]);
  write_lines(dir_.file("u.jsonl"), duplicated);
  auto u = run_hotline({"verify", dir_.file("u.jsonl")});
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_NE(u.out.find("duplicate"), std::string::npos) << u.out;
}

TEST_F(Cli, ACorruptOrForeignDatabaseFailsVerificationNamingThePath) {
  make_demo();
  {
    std::ofstream db(station("alpha") + "/hotline.db", std::ios::binary | std::ios::trunc);
    db << std::string(8192, 'x');
  }
  ::unlink((station("alpha") + "/hotline.db-wal").c_str());
  ::unlink((station("alpha") + "/hotline.db-shm").c_str());
  auto r = run_hotline({"verify", "--dir", station("alpha")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hotline.db"), std::string::npos) << r.err;
}

TEST_F(Cli, LinesAreAddedListedAndShown) {
  auto a = run_hotline({"init", "--dir", station("a"), "--name", "alpha"});
  auto b = run_hotline({"init", "--dir", station("b"), "--name", "bravo", "--json"});
  ASSERT_EQ(b.exit_code, 0);
  const std::string peer = json::parse(b.out)["fingerprint"];
  auto bad = run_hotline({"line", "add", "--dir", station("a"), "--name", "m", "--peer",
                          "hl1:nothex", "--route", "127.0.0.1:7401"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("hl1:nothex"), std::string::npos) << bad.err;
  auto added = run_hotline({"line", "add", "--dir", station("a"), "--name", "ministers", "--peer",
                            peer, "--route", "127.0.0.1:7401", "--route", "127.0.0.2:7401",
                            "--response-deadline", "72h", "--json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(json::parse(added.out)["response_deadline"], "72h");
  auto again = run_hotline({"line", "add", "--dir", station("a"), "--name", "ministers", "--peer",
                            peer, "--route", "127.0.0.1:7401"});
  EXPECT_EQ(again.exit_code, 4);
  auto list = run_hotline({"line", "list", "--dir", station("a"), "--json"});
  ASSERT_EQ(list.exit_code, 0);
  auto lines = json::parse(list.out)["lines"];
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["peer"], peer);
  EXPECT_EQ(lines[0]["routes"][1], "127.0.0.2:7401");
  EXPECT_EQ(lines[0]["ack_deadline"]["FLASH"], "10m");
  auto show = run_hotline({"line", "show", "--dir", station("a"), "--name", "nope"});
  EXPECT_EQ(show.exit_code, 2);
  // The record knows the line too: verify sees it.
  auto verify = run_hotline({"verify", "--dir", station("a"), "--json"});
  EXPECT_EQ(json::parse(verify.out)["lines"], 1);
}

TEST_F(Cli, ExportOfAMissingStationIsAClearError) {
  auto r = run_hotline({"export", "--dir", station("none")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("none"), std::string::npos);
}

}  // namespace
}  // namespace hotline::testing
