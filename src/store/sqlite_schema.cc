#include "store/sqlite_schema.h"

#include <cstdio>
#include <iterator>
#include <string>

#include "store/limits.h"

namespace hotline::store {
namespace {

struct Migration {
  const char* what;
  const char* sql;
};

// Migration i (0-based) takes the schema from version i to version i+1. Append only: a migration
// that has shipped never changes, or databases created before and after the change would differ.
constexpr Migration kMigrations[] = {
    {"create the record tables", R"sql(
-- The lines this station is a party to (design.md §3).
CREATE TABLE lines (
  id BLOB NOT NULL PRIMARY KEY,    -- LineId, 16 bytes
  name TEXT NOT NULL,
  local_key BLOB NOT NULL,         -- this station's public key, 32 bytes
  peer_key BLOB NOT NULL
);

-- Every entry of both chains of every line. `signed` holds the exact signed bytes, the source of
-- truth, returned through record::decode_entry; the other columns copy fields for lookups. There is
-- deliberately no index on `hash`: entries are found by position, and a unique index on a random
-- hash makes inserts up to ten times slower.
CREATE TABLE entries (
  line BLOB NOT NULL REFERENCES lines (id),
  author BLOB NOT NULL,            -- public key, 32 bytes
  seq INTEGER NOT NULL CHECK (seq >= 1),
  hash BLOB NOT NULL,              -- SHA-256 of `signed`
  signed BLOB NOT NULL,
  time INTEGER NOT NULL,           -- author's time, microseconds since the epoch, UTC
  kind TEXT NOT NULL,
  received_at INTEGER NOT NULL,    -- this station's clock when it stored the entry
  PRIMARY KEY (line, author, seq)
);

-- Receipts and checkpoints in arrival order (`id`). They are rare next to entries, so a unique
-- index on the hash of the signed bytes is affordable, and keeps an identical item once.
CREATE TABLE receipts (
  id INTEGER PRIMARY KEY,
  line BLOB NOT NULL REFERENCES lines (id),
  signer BLOB NOT NULL,
  chain_author BLOB NOT NULL,
  held_seq INTEGER NOT NULL,
  hash BLOB NOT NULL UNIQUE,
  signed BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX receipts_by_line ON receipts (line, id);

CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY,
  line BLOB NOT NULL REFERENCES lines (id),
  signer BLOB NOT NULL,
  own_seq INTEGER NOT NULL,
  peer_seq INTEGER NOT NULL,
  hash BLOB NOT NULL UNIQUE,
  signed BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX checkpoints_by_line ON checkpoints (line, id);

-- Proof of equivocation or divergence, kept for people to act on.
CREATE TABLE evidence (
  id INTEGER PRIMARY KEY,
  line BLOB NOT NULL REFERENCES lines (id),
  kind TEXT NOT NULL CHECK (kind IN ('equivocation', 'divergence')),
  culprit BLOB NOT NULL,
  seq INTEGER NOT NULL,
  detail TEXT NOT NULL,
  first_item BLOB NOT NULL,        -- exact signed bytes
  second_item BLOB NOT NULL,       -- exact signed bytes; empty for divergence
  digest BLOB NOT NULL UNIQUE,     -- SHA-256 over kind, culprit, seq and both items: kept once
  recorded_at INTEGER NOT NULL
);
CREATE INDEX evidence_by_line ON evidence (line, id);
)sql"},
    {"create the outbox", R"sql(
-- Drafts waiting to be authored on a line (design.md §4, "Precedence"). A row is deleted in the
-- transaction that appends the entry authored from it. AUTOINCREMENT keeps ids increasing and
-- never reused, even after the newest draft was deleted: an id names one draft forever, and its
-- order is the drafts' age (queued_at follows a clock that may be set back).
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  line BLOB NOT NULL REFERENCES lines (id),
  precedence INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),  -- 0 FLASH ... 3 ROUTINE
  queued_at INTEGER NOT NULL,      -- this station's clock when the draft was queued
  kind TEXT NOT NULL,
  body BLOB NOT NULL               -- canonical CBOR of the entry body
);
-- The send order of one line is a walk of this index: no sort, however long the backlog.
CREATE INDEX outbox_send_order ON outbox (line, precedence, id);
)sql"},
    {"create the users table", R"sql(
-- The people who may act at this station (design.md §6), each with one role. A row is never
-- deleted, only disabled, so that a name on the record always means the same person.
CREATE TABLE users (
  name TEXT NOT NULL PRIMARY KEY,  -- 1-64 characters of a-z 0-9 . _ - (procedure/users.h)
  role TEXT NOT NULL,              -- procedure::role_name
  password_hash TEXT NOT NULL,     -- libsodium's Argon2id string, "$argon2id$..."
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at INTEGER NOT NULL,     -- this station's clock when the user was added, microseconds
  disabled_at INTEGER,             -- when first disabled; NULL while enabled
  CHECK ((disabled = 0) = (disabled_at IS NULL))
);
)sql"},
    {"create the procedure tables", R"sql(
-- This station's own bookkeeping for the request procedure (design.md §2), not part of the signed
-- record. Times are microseconds from the caller's clock. What a state, kind, audience or step
-- means is procedure/'s to decide; the store keeps them as given.

-- The cache request_states is created by kCaches, after the migrations.

-- Reminders, escalations and alarms the station raised. UNIQUE: each is raised once, even across
-- restarts. AUTOINCREMENT: ids only grow, so a reader can follow the table with "after id N".
CREATE TABLE notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  line_id BLOB NOT NULL REFERENCES lines (id),
  subject TEXT NOT NULL,           -- the request, message or entry id it is about; may be ''
  kind TEXT NOT NULL,              -- "ack-50", "response-90", "expired", ...
  audience TEXT NOT NULL,          -- "operators" or "principals"
  at INTEGER NOT NULL,             -- when it was due
  raised_at INTEGER NOT NULL,      -- when the station raised it
  message TEXT NOT NULL,
  UNIQUE (line_id, subject, kind)
);
CREATE INDEX notices_by_line ON notices (line_id, id);

-- The two-person rule: a decision an operator drafted waits for a principal to confirm it. A row
-- is settled once, and never deleted.
CREATE TABLE decision_drafts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  line_id BLOB NOT NULL REFERENCES lines (id),
  request TEXT NOT NULL,
  step TEXT NOT NULL,              -- "accept", "decline", "counter" or "refer"
  body BLOB NOT NULL,              -- canonical CBOR of the entry body to author once confirmed
  drafted_by TEXT NOT NULL,
  drafted_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'discarded')),
  decided_by TEXT,                 -- NULL while pending
  decided_at INTEGER,              -- NULL while pending
  seq INTEGER,                     -- the authored entry's seq, once confirmed and authored
  note TEXT,                       -- e.g. why it was discarded
  CHECK ((status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)),
  CHECK (seq IS NULL OR status = 'confirmed')
);
CREATE INDEX decision_drafts_by_line ON decision_drafts (line_id, id);
)sql"},
    {"add the second factor and the audit trail", R"sql(
-- A user's TOTP secret (base32, RFC 6238) once enrolled, and the last 30-second step whose code
-- was accepted: a code is used once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Every local action (design.md §6): who, what, when, from where, and the answer. Rows are only
-- added. AUTOINCREMENT: ids only grow, so a reader can follow the trail with "after id N".
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,             -- this station's clock, microseconds
  user TEXT NOT NULL,              -- who acted, or the name a failed login tried
  role TEXT NOT NULL,
  source TEXT NOT NULL,            -- "api ADDRESS:PORT" or "control socket"
  action TEXT NOT NULL,
  outcome INTEGER NOT NULL,        -- the HTTP status answered
  detail TEXT NOT NULL
);
)sql"},
};

constexpr int kCurrentVersion = static_cast<int>(std::size(kMigrations));

// Tables that only cache what the record says (from schema version 4 on). Created if missing at
// every open for writing, so that deleting one (to have it rebuilt) never stops a station.
constexpr const char* kCaches = R"sql(
-- The procedure's projection of each request, for tools; rebuilt from the record on start.
CREATE TABLE IF NOT EXISTS request_states (
  line_id BLOB NOT NULL REFERENCES lines (id),
  request TEXT NOT NULL,           -- the request's id, e.g. "3fa9c2d1-12"
  state TEXT NOT NULL,
  detail TEXT NOT NULL,            -- a JSON document (the request as the station shows it)
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (line_id, request)
);
)sql";
constexpr const char* kCacheNames = "'request_states'";
constexpr std::int64_t kCacheCount = 1;

// The fields of the SQLite header that say whose database this is.
struct Header {
  std::int64_t application_id = 0;
  std::int64_t user_version = 0;
  std::int64_t objects = 0;  // tables, indexes, views and triggers
};

Result<std::int64_t> read_int(Connection& connection, const std::string& sql) {
  HOTLINE_ASSIGN(StatementUse statement, connection.statement(sql));
  HOTLINE_ASSIGN(bool has_row, statement->step());
  if (!has_row) {
    return make_error(Errc::kInternal, connection.path() + ": \"" + sql + "\" returned no row");
  }
  return statement->column_int(0);
}

// Reading the header is the first access to the file: a file that is not SQLite at all fails
// here with SQLITE_NOTADB ("file is not a database"), which maps to kCorrupt.
Result<Header> read_header(Connection& connection) {
  Header header;
  HOTLINE_ASSIGN(header.application_id, read_int(connection, "PRAGMA application_id"));
  HOTLINE_ASSIGN(header.user_version, read_int(connection, "PRAGMA user_version"));
  HOTLINE_ASSIGN(header.objects, read_int(connection, "SELECT count(*) FROM sqlite_master"));
  return header;
}

bool is_empty(const Header& header) {
  return header.application_id == 0 && header.user_version == 0 && header.objects == 0;
}

std::string hex32(std::int64_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

// Refuses a foreign or newer database. An empty one passes: the caller decides what to do with it.
Result<void> check_identity(const Header& header, const std::string& path) {
  if (is_empty(header)) {
    return success();
  }
  if (header.application_id != kApplicationId) {
    return make_error(Errc::kCorrupt, path + ": not a Hotline database (SQLite application_id " +
                                          hex32(header.application_id) + ", expected " +
                                          hex32(kApplicationId) + "); refusing to touch it");
  }
  if (header.user_version > kCurrentVersion) {
    return make_error(Errc::kRefused, path + ": the database has schema version " +
                                          std::to_string(header.user_version) +
                                          ", newer than this build of Hotline knows (" +
                                          std::to_string(kCurrentVersion) +
                                          "); use a newer hotline");
  }
  return success();
}

Result<void> enable_wal(Connection& connection) {
  HOTLINE_ASSIGN(StatementUse statement, connection.statement("PRAGMA journal_mode=WAL"));
  HOTLINE_ASSIGN(bool has_row, statement->step());
  std::string mode = has_row ? statement->column_text(0) : "";
  if (mode != "wal") {
    return make_error(Errc::kIo,
                      connection.path() +
                          ": cannot switch the database to WAL journal mode (it is in '" + mode +
                          "' mode)");
  }
  // FULL: a commit returns only after the WAL is fsynced, which is what lets callers acknowledge
  // (design.md §5). Foreign keys guard against an entry for a line that was never added.
  return connection.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                         "cannot set connection options");
}

// Runs inside BEGIN IMMEDIATE: the header is read again because another process may have created
// or migrated the database between our first look and taking the write lock.
Result<void> migrate_locked(Connection& connection) {
  HOTLINE_ASSIGN(Header header, read_header(connection));
  HOTLINE_TRY(check_identity(header, connection.path()));
  for (auto version = header.user_version; version < kCurrentVersion; ++version) {
    const Migration& migration = kMigrations[version];
    HOTLINE_TRY(connection.exec(migration.sql, "cannot apply schema migration " +
                                                   std::to_string(version + 1) + " (" +
                                                   migration.what + ")"));
  }
  HOTLINE_TRY(connection.exec(kCaches, "cannot create the cache tables"));
  return connection.exec("PRAGMA application_id=" + std::to_string(kApplicationId) +
                             "; PRAGMA user_version=" + std::to_string(kCurrentVersion),
                         "cannot record the schema version");
}

Result<void> migrate(Connection& connection) {
  HOTLINE_TRY(connection.exec("BEGIN IMMEDIATE", "cannot begin the schema migration"));
  Result<void> migrated = migrate_locked(connection);
  if (migrated.ok()) {
    migrated = connection.exec("COMMIT", "cannot commit the schema migration");
  }
  if (!migrated.ok() && connection.in_transaction()) {
    // The original error is the one worth reporting; a failed rollback leaves nothing committed.
    (void)connection.exec("ROLLBACK", "cannot roll back the schema migration");
  }
  return migrated;
}

}  // namespace

int current_schema_version() { return kCurrentVersion; }

Result<void> prepare_for_writing(Connection& connection) {
  // Look before writing anything: switching a foreign file to WAL would already modify it.
  HOTLINE_ASSIGN(Header header, read_header(connection));
  HOTLINE_TRY(check_identity(header, connection.path()));
  HOTLINE_TRY(enable_wal(connection));
  if (header.application_id == kApplicationId && header.user_version == kCurrentVersion) {
    HOTLINE_ASSIGN(std::int64_t caches,
                   read_int(connection, std::string("SELECT count(*) FROM sqlite_master WHERE "
                                                    "type = 'table' AND name IN (") +
                                            kCacheNames + ")"));
    if (caches == kCacheCount) {
      return success();  // nothing to do: opening does not cost a write transaction
    }
  }
  return migrate(connection);
}

Result<void> check_for_reading(Connection& connection) {
  HOTLINE_ASSIGN(Header header, read_header(connection));
  if (is_empty(header)) {
    return make_error(Errc::kCorrupt, connection.path() + ": not a Hotline database (it is empty)");
  }
  HOTLINE_TRY(check_identity(header, connection.path()));
  if (header.user_version < kCurrentVersion) {
    return make_error(Errc::kRefused, connection.path() + ": the database has schema version " +
                                          std::to_string(header.user_version) +
                                          ", older than this build's (" +
                                          std::to_string(kCurrentVersion) +
                                          "); open it read-write once to migrate");
  }
  return success();
}

}  // namespace hotline::store
