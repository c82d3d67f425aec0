// store/store_test_fixtures.h — for the store's tests only: chains, checks and a store fixture.
//
// tests/testing/fixtures.h has one line with two parties; the store's tests also need several
// lines, chains continued from a stored head (after a reopen, or in a forked child), entries that
// deliberately break the chain, and a store opened through the fault-injection VFS. Header-only,
// because every .cc in this folder that is not a test goes into the library.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "record/verify.h"
#include "store/fault_injection_vfs.h"
#include "store/sqlite_record_store.h"
#include "testing/fixtures.h"
#include "testing/temp_dir.h"

namespace hotline::testing {

// Runs SQL (several statements allowed) on `path` with plain SQLite, as another program would.
inline void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string error = message != nullptr ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << error;
}

// The line between the deterministic stations `local` and `peer` (keys from key_from_byte).
inline store::LineParties test_line(std::uint8_t local, std::uint8_t peer,
                                    const std::string& name) {
  store::LineParties line;
  line.local = key_from_byte(local).public_key();
  line.peer = key_from_byte(peer).public_key();
  line.name = name;
  line.id = record::derive_line_id(line.local, line.peer, name);
  return line;
}

// Authors successive entries of one chain: the chain of key_from_byte(author) on `line`.
class TestChain {
 public:
  TestChain(std::uint8_t author, const record::LineId& line)
      : key_(key_from_byte(author)), line_(line) {}

  // Continues after `head`, e.g. a head read back from a store.
  void continue_from(const record::ChainHead& head) {
    head_ = head.position;
    time_ = head.time;
  }

  // The next entry (seq head+1, prev = head hash); the chain moves on to it.
  record::SignedEntry next(const std::string& text = "message") {
    record::SignedEntry entry = sign(head_.seq + 1, head_.hash, text);
    head_ = entry.position();
    return entry;
  }

  // The next `count` entries, for one multi-entry append.
  std::vector<record::SignedEntry> next(int count) {
    std::vector<record::SignedEntry> entries;
    for (int i = 0; i < count; ++i) {
      entries.push_back(next("message " + std::to_string(i)));
    }
    return entries;
  }

  // A validly signed entry at any place, to break the chain on purpose; the chain does not move.
  record::SignedEntry at(std::uint64_t seq, const record::Hash& prev,
                         const std::string& text = "out of place") {
    return sign(seq, prev, text);
  }

  const record::PublicKey& author() const { return key_.public_key(); }
  const record::ChainPosition& head() const { return head_; }

 private:
  record::SignedEntry sign(std::uint64_t seq, const record::Hash& prev, const std::string& text) {
    record::EntryFields fields;
    fields.line = line_;
    fields.author = key_.public_key();
    fields.seq = seq;
    fields.prev = prev;
    fields.time = time_ += 1000;
    fields.kind = "message";
    fields.body = cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}});
    return record::sign_entry(key_, std::move(fields)).value();
  }

  crypto::SigningKey key_;
  record::LineId line_;
  record::ChainPosition head_;  // seq 0 and the zero hash until the first entry
  Micros time_ = 1'700'000'000'000'000;
};

// Whether `entries` continue the chain from `start` (by default: are a whole chain from seq 1),
// each extending the one before (record rules E1-E5) and validly signed.
inline ::testing::AssertionResult chain_verifies(const std::vector<record::SignedEntry>& entries,
                                                 const record::LineId& line,
                                                 const record::PublicKey& author,
                                                 record::ChainHead start = {}) {
  record::ChainHead head = start;
  for (const record::SignedEntry& entry : entries) {
    auto extends = record::check_extends(line, author, head, entry);
    if (!extends.ok()) {
      return ::testing::AssertionFailure() << extends.error().message;
    }
    if (!record::verify_entry_signature(entry)) {
      return ::testing::AssertionFailure() << "bad signature on seq " << entry.fields.seq;
    }
    head = {entry.position(), entry.fields.time};
  }
  return ::testing::AssertionSuccess();
}

// Whether an error message contains `part` (a path, a sequence number, a reason).
inline ::testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "\"" << message << "\" does not mention \"" << part << "\"";
}

// A child process made by fork() (no exec) that runs `body` and leaves with _exit(its result): it
// never returns into the test framework. Killed and reaped if the test ends first. Fork only while
// this process has no SQLite connection open: SQLite's state must not be carried across fork().
class ForkedChild {
 public:
  explicit ForkedChild(const std::function<int()>& body) : pid_(::fork()) {
    if (pid_ == 0) {
      ::_exit(body());
    }
  }
  ~ForkedChild() {
    if (pid_ > 0) {
      kill();
      wait();
    }
  }
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;

  bool started() const { return pid_ > 0; }
  void kill() { ::kill(pid_, SIGKILL); }
  // Reaps the child; its wait status (WIFEXITED etc.).
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// A fresh store in a temporary directory, with one line (TestLine's, so that its receipts and
// checkpoints belong to it) and the chains of its two parties.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reopen();
    ASSERT_TRUE(store_->add_line(line_).ok());
  }

  // Closes the store (finishing its writes) and opens it again, as a restarted station would.
  void reopen() {
    store_.reset();
    auto opened = store::SqliteRecordStore::open(path_, options_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  // Every stored entry of `chain`, from seq 1.
  std::vector<record::SignedEntry> stored(const TestChain& chain) {
    auto entries = store_->read_entries(line_.id, chain.author(), 1, 1'000'000);
    EXPECT_TRUE(entries.ok()) << entries.error().message;
    return entries.ok() ? *entries : std::vector<record::SignedEntry>{};
  }

  std::uint64_t head_seq(const TestChain& chain) {
    auto head = store_->chain_head(line_.id, chain.author());
    EXPECT_TRUE(head.ok()) << head.error().message;
    return head.ok() ? head->position.seq : 0;
  }

  TempDir dir_;
  std::string path_ = dir_.file("hotline.db");
  ManualClock clock_{1'800'000'000'000'000};
  store::SqliteOptions options_{.read_only = false, .vfs = "", .clock = &clock_};
  store::LineParties line_ = test_line(1, 2, "test line");
  TestChain alpha_{1, line_.id};
  TestChain bravo_{2, line_.id};
  std::unique_ptr<store::SqliteRecordStore> store_;
};

// The same, opened through the fault-injection VFS. Every test starts and ends without faults.
class FaultyStoreTest : public StoreTest {
 protected:
  FaultyStoreTest() { options_.vfs = kVfsName; }

  void SetUp() override {
    vfs_.clear();
    StoreTest::SetUp();
  }
  void TearDown() override {
    vfs_.clear();  // first: a held sync would keep the store's destructor waiting
    store_.reset();
  }

  static constexpr const char* kVfsName = "hotline-test-faults";
  store::FaultInjectionVfs& vfs_ = store::FaultInjectionVfs::install(kVfsName);
};

}  // namespace hotline::testing
