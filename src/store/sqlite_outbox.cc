#include "store/sqlite_outbox.h"

#include <algorithm>
#include <limits>
#include <string>

namespace hotline::store::outbox {
namespace {

Error corrupt(const Connection& db, const std::string& what) {
  return make_error(Errc::kCorrupt, db.path() + ": " + what);
}

// The table's CHECK keeps precedence in 0..3; a value outside means the file was altered.
std::optional<Precedence> precedence_from_column(std::int64_t value) {
  for (Precedence precedence : kAllPrecedences) {
    if (static_cast<std::int64_t>(precedence) == value) {
      return precedence;
    }
  }
  return std::nullopt;
}

bool copy_line_id(const Bytes& from, LineId& to) {
  if (from.size() != to.bytes.size()) {
    return false;
  }
  std::copy(from.begin(), from.end(), to.bytes.begin());
  return true;
}

// A row of (id, precedence, queued_at, kind, body) of `line`.
Result<OutboxDraft> draft_from_row(const Connection& db, const Statement& row, const LineId& line) {
  OutboxDraft draft;
  draft.id = static_cast<std::uint64_t>(row.column_int(0));
  std::optional<Precedence> precedence = precedence_from_column(row.column_int(1));
  if (!precedence) {
    return corrupt(db, "draft " + std::to_string(draft.id) + " in the outbox has precedence " +
                           std::to_string(row.column_int(1)) + ", which is none of 0 to 3");
  }
  draft.line = line;
  draft.precedence = *precedence;
  draft.queued_at = row.column_int(2);
  draft.kind = row.column_text(3);
  draft.body = row.column_blob(4);
  return draft;
}

}  // namespace

Result<std::uint64_t> insert_draft(Connection& db, const OutboxDraft& draft, Micros queued_at) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO outbox (line, precedence, queued_at, kind, body) "
                              "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id"));
  insert->bind_blob(1, draft.line.bytes)
      .bind_int(2, static_cast<std::int64_t>(draft.precedence))
      .bind_int(3, queued_at)
      .bind_text(4, draft.kind)
      .bind_blob(5, draft.body);
  HOTLINE_ASSIGN(bool has_row, insert->step());
  if (!has_row) {
    return make_error(Errc::kInternal, db.path() + ": inserting a draft returned no id");
  }
  return static_cast<std::uint64_t>(insert->column_int(0));
}

Result<LineId> delete_draft(Connection& db, std::uint64_t id) {
  HOTLINE_ASSIGN(StatementUse remove,
                 db.statement("DELETE FROM outbox WHERE id = ?1 RETURNING line"));
  remove->bind_int(1, clamp_to_int64(id));
  HOTLINE_ASSIGN(bool has_row, remove->step());
  if (!has_row) {
    return make_error(Errc::kNotFound, db.path() + ": draft " + std::to_string(id) +
                                           " is not in the outbox (it was authored already, "
                                           "or never queued)");
  }
  LineId line;
  if (!copy_line_id(remove->column_blob(0), line)) {
    return corrupt(db, "draft " + std::to_string(id) + " in the outbox has a malformed line id");
  }
  return line;
}

Result<std::vector<OutboxDraft>> select_drafts(Connection& db, const LineId& line,
                                               std::size_t limit) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT id, precedence, queued_at, kind, body FROM outbox "
                              "WHERE line = ?1 ORDER BY precedence, id LIMIT ?2"));
  query->bind_blob(1, line.bytes).bind_int(2, clamp_to_int64(limit));
  std::vector<OutboxDraft> drafts;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return drafts;
    }
    HOTLINE_ASSIGN(OutboxDraft draft, draft_from_row(db, *query, line));
    drafts.push_back(std::move(draft));
  }
}

Result<std::size_t> count_drafts(Connection& db, const LineId& line,
                                 std::optional<Precedence> precedence) {
  // Both are answered from the index outbox_send_order, without reading the table.
  HOTLINE_ASSIGN(StatementUse query,
                 precedence ? db.statement("SELECT count(*) FROM outbox WHERE line = ?1 AND "
                                           "precedence = ?2")
                            : db.statement("SELECT count(*) FROM outbox WHERE line = ?1"));
  query->bind_blob(1, line.bytes);
  if (precedence) {
    query->bind_int(2, static_cast<std::int64_t>(*precedence));
  }
  HOTLINE_ASSIGN(bool has_row, query->step());
  if (!has_row) {
    return make_error(Errc::kInternal, db.path() + ": counting drafts returned no row");
  }
  return static_cast<std::size_t>(query->column_int(0));
}

}  // namespace hotline::store::outbox
