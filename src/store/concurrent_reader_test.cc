// Readers see committed data while a writer appends: through the store's own read connection, a
// second store opened read-only in this process, and another process (WAL, design.md §5).
#include <algorithm>
#include <atomic>
#include <thread>

#include "core/clock.h"
#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using testing::TestChain;

constexpr std::uint64_t kEntries = 120;

// What a reader may see at any moment: a whole chain prefix, ending at the head it reports.
Result<std::uint64_t> read_consistent_prefix(RecordStore& store, const LineId& line,
                                             const PublicKey& author) {
  HOTLINE_ASSIGN(ChainHead head, store.chain_head(line, author));
  HOTLINE_ASSIGN(std::vector<SignedEntry> entries,
                 store.read_entries(line, author, 1, head.position.seq));
  if (entries.size() != head.position.seq ||
      (!entries.empty() && entries.back().hash != head.position.hash)) {
    return make_error(Errc::kInternal, "entries read do not end at the head read");
  }
  return head.position.seq;
}

using ConcurrentReaderTest = testing::StoreTest;

TEST_F(ConcurrentReaderTest, ReadOnlyStoreReadsWhileTheWriterAppends) {
  SqliteOptions options = options_;
  options.read_only = true;
  auto reader = open_sqlite_store(path_, options);
  ASSERT_TRUE(reader.ok()) << reader.error().message;

  std::atomic<bool> stop = false;  // set by either side on failure, so that both finish
  std::thread writer([&] {
    for (std::uint64_t i = 0; i < kEntries && !stop; ++i) {
      Result<void> appended = store_->append_entries({alpha_.next()});
      EXPECT_TRUE(appended.ok()) << appended.error().message;
      stop = stop || !appended.ok();
    }
  });
  std::uint64_t last_seen = 0;
  while (last_seen < kEntries && !stop) {
    for (RecordStore* store : {reader->get(), static_cast<RecordStore*>(store_.get())}) {
      auto seen = read_consistent_prefix(*store, line_.id, alpha_.author());
      EXPECT_TRUE(seen.ok()) << seen.error().message;
      if (!seen.ok()) {
        stop = true;
        break;
      }
      if (store == reader->get()) {
        EXPECT_GE(*seen, last_seen);  // committed entries never disappear
        last_seen = std::max(last_seen, *seen);
      }
    }
  }
  writer.join();
}

// The child: opens the database read-only and reads until it has seen the whole chain. Exit code
// 0 when every read was consistent; otherwise it says why on stderr.
int read_in_child(const std::string& path, const LineParties& line) {
  SqliteOptions options;
  options.read_only = true;
  auto store = open_sqlite_store(path, options);
  if (!store.ok()) {
    std::cerr << "reader child: " << store.error().message << "\n";
    return 2;
  }
  const std::int64_t deadline = monotonic_nanos() + 60'000'000'000;
  std::uint64_t last_seen = 0;
  while (last_seen < kEntries) {
    auto seen = read_consistent_prefix(**store, line.id, line.local);
    if (!seen.ok() || *seen < last_seen) {
      std::cerr << "reader child: " << (seen.ok() ? "head went back" : seen.error().message)
                << "\n";
      return 3;
    }
    last_seen = *seen;
    if (monotonic_nanos() > deadline) {
      std::cerr << "reader child: saw only " << last_seen << " entries\n";
      return 4;
    }
  }
  return 0;
}

TEST(ConcurrentReaderProcessTest, ReadOnlyProcessReadsWhileAnotherAppends) {
  testing::TempDir dir;
  const std::string path = dir.file("hotline.db");
  LineParties line = testing::test_line(1, 2, "shared");
  {
    auto store = open_sqlite_store(path, {});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->add_line(line).ok());
  }  // closed: the child must not inherit a connection

  testing::ForkedChild reader([&] { return read_in_child(path, line); });
  ASSERT_TRUE(reader.started());
  {
    auto store = open_sqlite_store(path, {});
    ASSERT_TRUE(store.ok());
    TestChain chain(1, line.id);
    for (std::uint64_t i = 0; i < kEntries; ++i) {
      ASSERT_TRUE((*store)->append_entries({chain.next()}).ok());
    }
  }
  int status = reader.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "reader child died, status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace hotline::store
