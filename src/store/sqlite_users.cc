#include "store/sqlite_users.h"

namespace hotline::store::user_table {
namespace {

constexpr const char* kColumns =
    "SELECT name, role, password_hash, disabled, created_at, disabled_at FROM users";

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

}  // namespace hotline::store::user_table
