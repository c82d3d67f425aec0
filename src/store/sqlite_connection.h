// store/sqlite_connection.h — a thin RAII layer over SQLite's C API.
//
// `Connection` owns one `sqlite3*`, `Statement` one prepared `sqlite3_stmt*`. Every failure becomes
// an `Error` whose message names the database file and what was being done, with SQLite's own
// message; `errc_for_sqlite` is the one place that maps SQLite result codes to `Errc`.
//
// A connection is not thread-safe (it is opened with SQLITE_OPEN_NOMUTEX): its owner makes sure
// that one thread uses it at a time.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/bytes.h"
#include "core/result.h"

namespace hotline::store {

// Sequence numbers and counts are uint64 in the record and int64 in SQLite. Stored values never
// come near 2^63 (each entry extends its chain by one); for a lookup, a larger bound means "beyond
// everything".
inline std::int64_t clamp_to_int64(std::uint64_t value) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(value, kMax));
}

class Connection;

// SQLite's primary result code (the low byte of an extended code) as an error category.
Errc errc_for_sqlite(int code);

class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* statement);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based. Values are copied (SQLITE_TRANSIENT), so temporaries are safe. A
  // failed bind is remembered and returned by the next `step`.
  Statement& bind_int(int index, std::int64_t value);
  Statement& bind_blob(int index, ByteView value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_null(int index);

  // Advances: true when a row is available, false when the statement is done.
  [[nodiscard]] Result<bool> step();
  // Steps a statement that returns no rows.
  [[nodiscard]] Result<void> run();

  // Columns of the current row, 0-based.
  std::int64_t column_int(int column) const;
  Bytes column_blob(int column) const;
  std::string column_text(int column) const;
  bool column_is_null(int column) const;

  // Ends the current use: resets the statement and clears its bindings. A statement left
  // unreset would keep its read transaction, and with it an old snapshot, open.
  void reset();

 private:
  Connection& connection_;
  sqlite3_stmt* statement_;
  int bind_error_ = SQLITE_OK;  // first failed bind since the last reset
};

// A cached statement lent out for one use; resets it when the use ends.
class StatementUse {
 public:
  explicit StatementUse(Statement& statement) : statement_(&statement) {}
  ~StatementUse() {
    if (statement_ != nullptr) {
      statement_->reset();
    }
  }
  StatementUse(StatementUse&& other) noexcept : statement_(other.statement_) {
    other.statement_ = nullptr;
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  StatementUse& operator=(StatementUse&&) = delete;

  Statement* operator->() const { return statement_; }
  Statement& operator*() const { return *statement_; }

 private:
  Statement* statement_;
};

class Connection {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens `path` (read-write creates it if absent; read-only never creates). `vfs` names a
  // registered SQLite VFS, or is empty for the default. Errors: kNotFound if a read-only open
  // finds no file, kPermission if the file exists but cannot be opened for lack of rights or is
  // write-protected in read-write mode, kIo otherwise (e.g. the directory is missing or not one).
  [[nodiscard]] static Result<std::unique_ptr<Connection>> open(const std::string& path, Mode mode,
                                                                const std::string& vfs);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL that returns no rows; several statements are allowed. `what` is for the message.
  [[nodiscard]] Result<void> exec(std::string_view sql, std::string_view what);

  // The statement for `sql`, prepared once per connection and reused.
  [[nodiscard]] Result<StatementUse> statement(const std::string& sql);

  // The error for the call that just failed with `code`: "<path>: <what>: <SQLite's message>".
  Error error(int code, std::string_view what) const;

  // False once SQLite has ended the transaction itself (after some I/O errors it rolls back).
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // Whether the last failure was an fsync: the outcome of the write is then unknown (the data may
  // or may not be on disk), unlike a failed write, which leaves nothing behind.
  bool last_failure_was_sync() const;
  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  // Statements by SQL text. Destroyed (finalized) before `db_` is closed.
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;

  friend class Statement;
};

}  // namespace hotline::store
