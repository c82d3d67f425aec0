// store/sqlite_record_writes.h — what SqliteRecordStore's write jobs apply inside their
// transaction, on the writer thread: the chain rule, drafts leaving the outbox, lines added once.
// A refusal (kBrokenChain, kInvalidArgument, kConflict) rolls back only its own job's savepoint.
#pragma once

#include <cstdint>
#include <vector>

#include "store/record_store.h"
#include "store/sqlite_connection.h"

namespace hotline::store::writes {

// Appends `entries` in order, each extending its chain's head as stored in this transaction.
Result<void> append_in_order(Connection& db, const std::vector<SignedEntry>& entries, Micros now);

// Removes the outbox drafts `draft_ids`, each of which must be queued on a line `entries` append
// to; a draft already gone is refused (it would be authored a second time).
Result<void> take_drafts(Connection& db, const std::vector<SignedEntry>& entries,
                         const std::vector<std::uint64_t>& draft_ids);

bool has_duplicate(std::vector<std::uint64_t> ids);

// Registers `line`, or accepts it unchanged if already registered with the same name and parties.
Result<void> add_line_once(Connection& db, const LineParties& line);

}  // namespace hotline::store::writes
