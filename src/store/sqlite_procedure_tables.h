// store/sqlite_procedure_tables.h — how the procedure's local state is written to and read from
// the request_states, notices and decision_drafts tables.
//
// Like sqlite_users.h, these run on the connection they are given (the writer's inside its
// transaction and job savepoint, or the reader's). They also hold the few rules of these tables
// (a notice is raised once, a decision draft is settled once), each decided inside the write
// transaction so that no other write can come in between. That the line exists is the caller's
// check (tables::require_line).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/record_store.h"
#include "store/sqlite_connection.h"

namespace hotline::store::procedure_table {

// --- request_states ---

// Deletes every row of `line`, then inserts `rows`. kInvalidArgument, naming the request, if two
// rows name the same one.
[[nodiscard]] Result<void> replace_request_states(Connection& db, const LineId& line,
                                                  const std::vector<RequestStateRow>& rows);

// The rows of `line`, ordered by request.
[[nodiscard]] Result<std::vector<RequestStateRow>> select_request_states(Connection& db,
                                                                         const LineId& line);

// --- notices ---

// Inserts `notice` (its id is ignored) and returns true, or returns false and inserts nothing if
// a notice with its line, subject and kind exists.
[[nodiscard]] Result<bool> insert_notice(Connection& db, const NoticeRow& notice);

// Up to `limit` notices of `line` with an id greater than `after_id`, ordered by id.
[[nodiscard]] Result<std::vector<NoticeRow>> select_notices(Connection& db, const LineId& line,
                                                            std::uint64_t after_id,
                                                            std::size_t limit);

[[nodiscard]] Result<bool> has_notice(Connection& db, const LineId& line,
                                      const std::string& subject, const std::string& kind);

// --- decision_drafts ---

// Inserts `draft` as pending (its id and settlement fields are ignored) and returns its id.
// kInvalidArgument if its body is not one canonical CBOR item.
[[nodiscard]] Result<std::uint64_t> insert_decision_draft(Connection& db,
                                                          const DecisionDraft& draft);

// The draft `id`, or nullopt.
[[nodiscard]] Result<std::optional<DecisionDraft>> find_decision_draft(Connection& db,
                                                                       std::uint64_t id);

// The drafts of `line`, only the pending ones if `pending_only`, ordered by id.
[[nodiscard]] Result<std::vector<DecisionDraft>> select_decision_drafts(Connection& db,
                                                                        const LineId& line,
                                                                        bool pending_only);

// How a pending draft ends.
struct Settlement {
  std::string status;  // "confirmed" or "discarded"
  std::string decided_by;
  Micros decided_at = 0;
  std::optional<std::uint64_t> seq;  // only when confirmed
  std::string note;                  // may be empty
};

// Settles the pending draft `id`. kInvalidArgument for a status other than "confirmed" or
// "discarded", an empty decided_by, or a seq on a discarded draft; kNotFound if there is no draft
// `id`; kConflict if it is settled already.
[[nodiscard]] Result<void> settle_decision_draft(Connection& db, std::uint64_t id,
                                                 const Settlement& settlement);

}  // namespace hotline::store::procedure_table
