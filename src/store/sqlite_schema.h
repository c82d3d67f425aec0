// store/sqlite_schema.h — what makes a SQLite file a Hotline database, and its schema versions.
//
// A Hotline database carries kApplicationId in its header (PRAGMA application_id) and its schema
// version in PRAGMA user_version. The schema changes only through an ordered list of migrations
// (sqlite_schema.cc); migration N takes version N-1 to N, and they run in one transaction, so a
// database is always at a version the code knows in full.
#pragma once

#include "core/result.h"
#include "store/sqlite_connection.h"

namespace hotline::store {

// The schema version this build writes and reads.
int current_schema_version();

// Makes `connection`'s database ready for the writer: refuses a damaged file or one that is not a
// Hotline database (kCorrupt) and one written by a newer Hotline (kRefused); then switches to WAL
// with synchronous=FULL and migrates an empty or older database to the current version.
[[nodiscard]] Result<void> prepare_for_writing(Connection& connection);

// Checks, without writing anything, that `connection`'s database is a Hotline database at exactly
// the current version (an older one must be opened read-write once, to migrate it).
[[nodiscard]] Result<void> check_for_reading(Connection& connection);

}  // namespace hotline::store
