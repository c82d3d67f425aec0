// store/sqlite_users.h — how users are written to and read from the users table, and the audit
// trail of what they did to and from the audit table.
//
// Like sqlite_tables.h, these run on the connection they are given (the writer's inside its
// transaction, or the reader's) and check only what a row needs. That a name is never reused is
// the writer's rule (sqlite_record_store.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/record_store.h"
#include "store/sqlite_connection.h"

namespace hotline::store::user_table {

// The user named `name`, or nullopt.
[[nodiscard]] Result<std::optional<UserRecord>> find_user(Connection& db, const std::string& name);

// Inserts `user`, enabled, created at `created_at` (its own `disabled`, `created_at` and
// `disabled_at` are ignored). The name must not exist yet.
[[nodiscard]] Result<void> insert_user(Connection& db, const UserRecord& user, Micros created_at);

// Marks the user named `name` disabled at `disabled_at`, unless it is already disabled.
[[nodiscard]] Result<void> mark_disabled(Connection& db, const std::string& name,
                                         Micros disabled_at);

// Every user, ordered by name.
[[nodiscard]] Result<std::vector<UserRecord>> select_users(Connection& db);

// Sets (or clears) the user's TOTP secret and resets the last used step.
[[nodiscard]] Result<void> set_totp(Connection& db, const std::string& name,
                                    const std::optional<std::string>& secret);
// Moves the user's last used TOTP step to `step` if it is later: true; false if not.
[[nodiscard]] Result<bool> use_totp_step(Connection& db, const std::string& name,
                                         std::int64_t step);

// The audit trail: appends a row and returns its id; reads rows after an id, in order.
[[nodiscard]] Result<std::uint64_t> insert_audit(Connection& db, const AuditRow& row);
// Fills in the outcome of the row `id` written by insert_audit.
[[nodiscard]] Result<void> set_audit_outcome(Connection& db, std::uint64_t id, int outcome,
                                             const std::string& detail);
[[nodiscard]] Result<std::vector<AuditRow>> select_audit(Connection& db, std::uint64_t after_id,
                                                         std::size_t limit);

}  // namespace hotline::store::user_table
