#include "store/sqlite_connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/limits.h"

namespace hotline::store {
namespace {

// The start of a statement's SQL, to say in a message which statement failed.
std::string sql_summary(sqlite3_stmt* statement) {
  std::string sql = sqlite3_sql(statement);
  constexpr std::size_t kShown = 40;
  if (sql.size() > kShown) {
    sql.resize(kShown);
    sql += "...";
  }
  return "cannot run \"" + sql + "\"";
}

Error open_error(const std::string& path, Connection::Mode mode, int code, int system_errno,
                 const std::string& sqlite_message) {
  std::error_code ignored;
  bool exists = std::filesystem::exists(path, ignored);
  std::string message = path + ": cannot open database: " + sqlite_message;
  if (system_errno != 0) {
    message += " (" + std::string(std::strerror(system_errno)) + ")";
  }
  if ((code & 0xff) != SQLITE_CANTOPEN) {
    return make_error(errc_for_sqlite(code), message);
  }
  if (mode == Connection::Mode::kReadOnly && !exists) {
    return make_error(Errc::kNotFound, path + ": no database here (a read-only open creates none)");
  }
  if (exists && (system_errno == EACCES || system_errno == EPERM)) {
    return make_error(Errc::kPermission, message);
  }
  // The directory is missing, not a directory, or not writable: the station cannot keep a record
  // there.
  return make_error(Errc::kIo, message);
}

}  // namespace

Errc errc_for_sqlite(int code) {
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      return Errc::kConflict;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Errc::kCorrupt;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return Errc::kPermission;
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_SCHEMA:
    case SQLITE_TOOBIG:
      // Our SQL or our use of the API is wrong: a bug, not a condition of the disk.
      return Errc::kInternal;
    default:
      // SQLITE_IOERR, SQLITE_FULL, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_CANTOPEN, ...
      return Errc::kIo;
  }
}

// --- Statement --------------------------------------------------------------------------------

Statement::Statement(Connection& connection, sqlite3_stmt* statement)
    : connection_(connection), statement_(statement) {}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement& Statement::bind_int(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(statement_, index, value);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = rc;
  }
  return *this;
}

Statement& Statement::bind_blob(int index, ByteView value) {
  // sqlite3_bind_blob binds NULL for a null pointer, so an empty blob is bound explicitly.
  int rc = value.empty() ? sqlite3_bind_zeroblob(statement_, index, 0)
                         : sqlite3_bind_blob64(statement_, index, value.data(), value.size(),
                                               SQLITE_TRANSIENT);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = rc;
  }
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = rc;
  }
  return *this;
}

Result<bool> Statement::step() {
  if (bind_error_ != SQLITE_OK) {
    return connection_.error(bind_error_, "cannot bind a parameter");
  }
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return connection_.error(rc, sql_summary(statement_));
}

Result<void> Statement::run() {
  HOTLINE_ASSIGN(bool has_row, step());
  if (has_row) {
    return make_error(Errc::kInternal, connection_.path() + ": " + sql_summary(statement_) +
                                           ": returned a row where none was expected");
  }
  return success();
}

std::int64_t Statement::column_int(int column) const {
  return sqlite3_column_int64(statement_, column);
}

Bytes Statement::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr || size <= 0) {
    return {};
  }
  return Bytes(data, data + size);
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(statement_, index);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = rc;
  }
  return *this;
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::string Statement::column_text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr || size <= 0) {
    return {};
  }
  return std::string(data, static_cast<std::size_t>(size));
}

void Statement::reset() {
  // sqlite3_reset repeats the last step's error, which was already reported.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  bind_error_ = SQLITE_OK;
}

// --- Connection -------------------------------------------------------------------------------

namespace {

// A database holds a station's record and its users' password hashes: it is for its owner only.
// SQLite would create it with 0644 under the usual umask, and it gives the -wal and -shm files
// the database file's mode, so creating the file first, empty and 0600, covers all three. A
// failure is left for SQLite's own open to report, as it would have. Whether it created the file.
bool create_owner_only(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, Mode mode,
                                                     const std::string& vfs) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  flags |=
      mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const bool created = mode == Mode::kReadWrite && create_owner_only(path);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    if (created) {
      ::unlink(path.c_str());  // a failed open leaves the directory as it found it
    }
    int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return open_error(path, mode, rc, system_errno, message);
  }
  std::unique_ptr<Connection> connection(new Connection(db, path));
  // SQLite quietly opens a write-protected file read-only; every later write would then fail.
  if (mode == Mode::kReadWrite && sqlite3_db_readonly(db, "main") == 1) {
    return make_error(Errc::kPermission, path + ": the database file is not writable");
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMillis);
  return connection;
}

Connection::~Connection() {
  statements_.clear();  // finalize before closing, or the close would be deferred
  sqlite3_close_v2(db_);
}

Result<void> Connection::exec(std::string_view sql, std::string_view what) {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return error(rc, what);
  }
  return success();
}

bool Connection::last_failure_was_sync() const {
  const int code = sqlite3_extended_errcode(db_);
  return code == SQLITE_IOERR_FSYNC || code == SQLITE_IOERR_DIR_FSYNC;
}

Result<StatementUse> Connection::statement(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* prepared = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()) + 1,
                                SQLITE_PREPARE_PERSISTENT, &prepared, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(prepared);
      return error(rc, "cannot prepare \"" + sql.substr(0, 40) + "\"");
    }
    found = statements_.emplace(sql, std::make_unique<Statement>(*this, prepared)).first;
  }
  return StatementUse(*found->second);
}

Error Connection::error(int code, std::string_view what) const {
  std::string message = path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
  if ((code & 0xff) != code) {
    // The extended code tells which operation failed (e.g. 778 = SQLITE_IOERR_WRITE).
    message += " (SQLite code " + std::to_string(code) + ")";
  }
  return make_error(errc_for_sqlite(code), std::move(message));
}

}  // namespace hotline::store
