// store/sqlite_outbox.h — how drafts are written to and read from the outbox table.
//
// Like sqlite_tables.h, these run on the connection they are given (the writer's inside its
// transaction, or the reader's) and check only what a row needs. The rule that a draft leaves the
// outbox only with the entries authored from it is the writer's (sqlite_record_store.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "store/record_store.h"
#include "store/sqlite_connection.h"

namespace hotline::store::outbox {

// Inserts a draft stamped `queued_at` (its own `id` and `queued_at` are ignored) and returns the
// id the table gave it.
[[nodiscard]] Result<std::uint64_t> insert_draft(Connection& db, const OutboxDraft& draft,
                                                 Micros queued_at);

// Removes draft `id` and returns the line it was queued on; kNotFound, naming the id, if no
// such draft is queued.
[[nodiscard]] Result<LineId> delete_draft(Connection& db, std::uint64_t id);

// Up to `limit` drafts of `line`, precedence ascending, then id ascending.
[[nodiscard]] Result<std::vector<OutboxDraft>> select_drafts(Connection& db, const LineId& line,
                                                             std::size_t limit);

// The drafts of `line` at `precedence`, or at all precedences when nullopt.
[[nodiscard]] Result<std::size_t> count_drafts(Connection& db, const LineId& line,
                                               std::optional<Precedence> precedence);

}  // namespace hotline::store::outbox
