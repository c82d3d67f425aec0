// Opening a database: what a station operator sees when the file is wrong, and what a new file
// looks like.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "store/sqlite_record_store.h"
#include "store/sqlite_schema.h"
#include "store/store_test_fixtures.h"

namespace hotline::store {
namespace {

using testing::mentions;
using testing::TempDir;

// The first column of the first row of `sql` on `path`, as text.
std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value = "(error)";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return value;
}

void write_random_file(const std::string& path, std::size_t size) {
  std::mt19937 random(20240601);
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = 0; i < size; ++i) {
    out.put(static_cast<char>(random() & 0xff));
  }
}

SqliteOptions read_only() {
  SqliteOptions options;
  options.read_only = true;
  return options;
}

// --- errors -------------------------------------------------------------------------------------

TEST(SqliteOpenTest, RandomBytesAreRefusedAsCorruptNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  write_random_file(path, 8192);

  for (const SqliteOptions& options : {SqliteOptions{}, read_only()}) {
    auto store = open_sqlite_store(path, options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, Errc::kCorrupt);
    EXPECT_TRUE(mentions(store.error().message, path));
    EXPECT_TRUE(mentions(store.error().message, "file is not a database"));
  }
  EXPECT_EQ(std::filesystem::file_size(path), 8192u);
}

TEST(SqliteOpenTest, ForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  testing::raw_sql(path, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');");

  for (const SqliteOptions& options : {SqliteOptions{}, read_only()}) {
    auto store = open_sqlite_store(path, options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, Errc::kCorrupt);
    EXPECT_TRUE(mentions(store.error().message, path));
    EXPECT_TRUE(mentions(store.error().message, "not a Hotline database"));
  }
  // Not switched to WAL, not migrated: the other program's file is as it was.
  EXPECT_EQ(raw_query(path, "PRAGMA journal_mode"), "delete");
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM sqlite_master"), "1");
}

TEST(SqliteOpenTest, DatabaseOfAnotherApplicationIdIsRefused) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  testing::raw_sql(path, "PRAGMA application_id = 305419896; CREATE TABLE entries (x);");

  auto store = open_sqlite_store(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::kCorrupt);
  EXPECT_TRUE(mentions(store.error().message, "0x12345678"));
}

TEST(SqliteOpenTest, DirectoryThatCannotHoldTheFileIsAnIoErrorNamingThePath) {
  TempDir dir;
  // Works as root too: no permission bit keeps root out, but a regular file is never a directory.
  const std::string not_a_directory = dir.file("plain-file");
  std::ofstream(not_a_directory) << "x";
  const std::string path = not_a_directory + "/hotline.db";

  auto store = open_sqlite_store(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::kIo);
  EXPECT_TRUE(mentions(store.error().message, path));
}

TEST(SqliteOpenTest, UnwritableDirectoryIsAnIoError) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root writes into a 0500 directory; the regular-file case above covers kIo";
  }
  TempDir dir;
  const std::string locked = dir.file("locked");
  std::filesystem::create_directory(locked);
  std::filesystem::permissions(
      locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  auto store = open_sqlite_store(locked + "/hotline.db", {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::kIo);
  EXPECT_TRUE(mentions(store.error().message, locked + "/hotline.db"));
}

TEST(SqliteOpenTest, FileWithoutPermissionsIsAPermissionError) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "file permission bits do not stop root";
  }
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  ASSERT_TRUE(open_sqlite_store(path, {}).ok());

  std::filesystem::permissions(path, std::filesystem::perms::owner_read);
  auto write_protected = open_sqlite_store(path, {});
  ASSERT_FALSE(write_protected.ok());
  EXPECT_EQ(write_protected.error().code, Errc::kPermission);
  EXPECT_TRUE(mentions(write_protected.error().message, path));

  std::filesystem::permissions(path, std::filesystem::perms::none);
  auto unreadable = open_sqlite_store(path, read_only());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.error().code, Errc::kPermission);
  EXPECT_TRUE(mentions(unreadable.error().message, path));
}

TEST(SqliteOpenTest, DatabaseFromANewerHotlineIsRefused) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  ASSERT_TRUE(open_sqlite_store(path, {}).ok());
  testing::raw_sql(path, "PRAGMA user_version = 99");

  for (const SqliteOptions& options : {SqliteOptions{}, read_only()}) {
    auto store = open_sqlite_store(path, options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, Errc::kRefused);
    EXPECT_TRUE(mentions(store.error().message, path));
    EXPECT_TRUE(mentions(store.error().message, "schema version 99"));
  }
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), "99");
}

TEST(SqliteOpenTest, ReadOnlyOpenOfAMissingFileCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("absent.db");

  auto store = open_sqlite_store(path, read_only());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::kNotFound);
  EXPECT_TRUE(mentions(store.error().message, path));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SqliteOpenTest, UnknownVfsIsAnError) {
  TempDir dir;
  SqliteOptions options;
  options.vfs = "no-such-vfs";
  auto store = open_sqlite_store(dir.file("hotline.db"), options);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(mentions(store.error().message, "no-such-vfs"));
}

TEST(SqliteOpenTest, AFailedOpenLeavesNoFileBehind) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  SqliteOptions options;
  options.vfs = "no-such-vfs";  // fails after the file could have been created

  ASSERT_FALSE(open_sqlite_store(path, options).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  // So a later read-only open still says the file is missing, not that it is corrupt.
  auto reading = open_sqlite_store(path, read_only());
  ASSERT_FALSE(reading.ok());
  EXPECT_EQ(reading.error().code, Errc::kNotFound);
}

// --- success ------------------------------------------------------------------------------------

TEST(SqliteOpenTest, NewDatabaseIsAHotlineDatabaseInWalMode) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  ASSERT_TRUE(open_sqlite_store(path, {}).ok());

  EXPECT_EQ(raw_query(path, "PRAGMA application_id"), std::to_string(0x484C4E31));
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(current_schema_version()));
  EXPECT_EQ(raw_query(path, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteOpenTest, ANewDatabaseAndItsWalFilesAreForTheOwnerOnly) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  const mode_t previous_umask = ::umask(022);  // the usual one, which would leave 0644
  auto store = open_sqlite_store(path, {});
  ::umask(previous_umask);
  ASSERT_TRUE(store.ok());
  // A write while the store is open: the -wal and -shm files now exist.
  ASSERT_TRUE((*store)->add_line(testing::test_line(1, 2, "north")).ok());

  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    const auto permissions = std::filesystem::status(file).permissions();
    EXPECT_EQ(permissions, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << file;
  }
}

TEST(SqliteOpenTest, EmptyFileBecomesADatabase) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  std::ofstream(path).close();

  // An empty file is how SQLite starts every database; read-write opening initialises it.
  auto for_reading = open_sqlite_store(path, read_only());
  ASSERT_FALSE(for_reading.ok());
  EXPECT_EQ(for_reading.error().code, Errc::kCorrupt);
  ASSERT_TRUE(open_sqlite_store(path, {}).ok());
  EXPECT_TRUE(open_sqlite_store(path, read_only()).ok());
}

TEST(SqliteOpenTest, ReopeningKeepsWhatWasWritten) {
  TempDir dir;
  const std::string path = dir.file("hotline.db");
  LineParties line = testing::test_line(1, 2, "north");
  {
    auto store = open_sqlite_store(path, {});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->add_line(line).ok());
  }
  // Closed cleanly: everything is in the one database file, which can be copied as it is.
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  auto store = open_sqlite_store(path, {});
  ASSERT_TRUE(store.ok());
  auto lines = (*store)->lines();
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 1u);
  EXPECT_EQ(lines->front(), line);
}

}  // namespace
}  // namespace hotline::store
