#include "store/sqlite_users.h"

namespace hotline::store::user_table {
namespace {

constexpr const char* kColumns =
    "SELECT name, role, password_hash, disabled, created_at, disabled_at, totp_secret, "
    "totp_last_step FROM users";

// A row of kColumns. A NULL disabled_at reads as 0 through column_int, so `disabled` says whether
// it is set (the table's CHECK keeps the two in agreement).
UserRecord user_from_row(const Statement& row) {
  UserRecord user;
  user.name = row.column_text(0);
  user.role = row.column_text(1);
  user.password_hash = row.column_text(2);
  user.disabled = row.column_int(3) != 0;
  user.created_at = row.column_int(4);
  if (user.disabled) {
    user.disabled_at = row.column_int(5);
  }
  if (!row.column_is_null(6)) {
    user.totp_secret = row.column_text(6);
  }
  user.totp_last_step = row.column_int(7);
  return user;
}

}  // namespace

Result<std::optional<UserRecord>> find_user(Connection& db, const std::string& name) {
  HOTLINE_ASSIGN(StatementUse query, db.statement(std::string(kColumns) + " WHERE name = ?1"));
  query->bind_text(1, name);
  HOTLINE_ASSIGN(bool found, query->step());
  if (!found) {
    return std::optional<UserRecord>();
  }
  return std::optional<UserRecord>(user_from_row(*query));
}

Result<void> insert_user(Connection& db, const UserRecord& user, Micros created_at) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO users (name, role, password_hash, disabled, created_at) "
                              "VALUES (?1, ?2, ?3, 0, ?4)"));
  insert->bind_text(1, user.name)
      .bind_text(2, user.role)
      .bind_text(3, user.password_hash)
      .bind_int(4, created_at);
  return insert->run();
}

Result<void> mark_disabled(Connection& db, const std::string& name, Micros disabled_at) {
  HOTLINE_ASSIGN(StatementUse update,
                 db.statement("UPDATE users SET disabled = 1, disabled_at = ?2 "
                              "WHERE name = ?1 AND disabled = 0"));
  update->bind_text(1, name).bind_int(2, disabled_at);
  return update->run();
}

Result<std::vector<UserRecord>> select_users(Connection& db) {
  HOTLINE_ASSIGN(StatementUse query, db.statement(std::string(kColumns) + " ORDER BY name"));
  std::vector<UserRecord> found;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return found;
    }
    found.push_back(user_from_row(*query));
  }
}

Result<void> set_totp(Connection& db, const std::string& name,
                      const std::optional<std::string>& secret) {
  HOTLINE_ASSIGN(StatementUse update,
                 db.statement("UPDATE users SET totp_secret = ?2, totp_last_step = 0 "
                              "WHERE name = ?1"));
  update->bind_text(1, name);
  if (secret) {
    update->bind_text(2, *secret);
  } else {
    update->bind_null(2);
  }
  return update->run();
}

Result<bool> use_totp_step(Connection& db, const std::string& name, std::int64_t step) {
  HOTLINE_ASSIGN(StatementUse update,
                 db.statement("UPDATE users SET totp_last_step = ?2 WHERE name = ?1 AND "
                              "totp_last_step < ?2 RETURNING 1"));
  update->bind_text(1, name).bind_int(2, step);
  return update->step();  // a row only if it moved
}

Result<std::uint64_t> insert_audit(Connection& db, const AuditRow& row) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO audit (at, user, role, source, action, outcome, "
                              "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id"));
  insert->bind_int(1, row.at)
      .bind_text(2, row.user)
      .bind_text(3, row.role)
      .bind_text(4, row.source)
      .bind_text(5, row.action)
      .bind_int(6, row.outcome)
      .bind_text(7, row.detail);
  HOTLINE_ASSIGN(bool has_row, insert->step());
  if (!has_row) {
    return make_error(Errc::kInternal, db.path() + ": the audit row was not inserted");
  }
  return static_cast<std::uint64_t>(insert->column_int(0));
}

Result<void> set_audit_outcome(Connection& db, std::uint64_t id, int outcome,
                               const std::string& detail) {
  HOTLINE_ASSIGN(StatementUse update,
                 db.statement("UPDATE audit SET outcome = ?2, detail = ?3 WHERE id = ?1 "
                              "RETURNING id"));
  update->bind_int(1, clamp_to_int64(id)).bind_int(2, outcome).bind_text(3, detail);
  HOTLINE_ASSIGN(bool has_row, update->step());
  if (!has_row) {
    return make_error(Errc::kNotFound, db.path() + ": no audit row " + std::to_string(id));
  }
  return success();
}

Result<std::vector<AuditRow>> select_audit(Connection& db, std::uint64_t after_id,
                                           std::size_t limit) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT id, at, user, role, source, action, outcome, detail FROM "
                              "audit WHERE id > ?1 ORDER BY id LIMIT ?2"));
  query->bind_int(1, clamp_to_int64(after_id)).bind_int(2, clamp_to_int64(limit));
  std::vector<AuditRow> rows;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return rows;
    }
    AuditRow row;
    row.id = static_cast<std::uint64_t>(query->column_int(0));
    row.at = query->column_int(1);
    row.user = query->column_text(2);
    row.role = query->column_text(3);
    row.source = query->column_text(4);
    row.action = query->column_text(5);
    row.outcome = static_cast<int>(query->column_int(6));
    row.detail = query->column_text(7);
    rows.push_back(std::move(row));
  }
}

}  // namespace hotline::store::user_table
