#include "store/sqlite_procedure_tables.h"

#include <algorithm>
#include <set>

#include "core/cbor.h"

namespace hotline::store::procedure_table {
namespace {

Error corrupt(const Connection& db, const std::string& what) {
  return make_error(Errc::kCorrupt, db.path() + ": " + what);
}

Error invalid(const Connection& db, const std::string& what) {
  return make_error(Errc::kInvalidArgument, db.path() + ": " + what);
}

std::string draft_name(std::uint64_t id) { return "decision draft " + std::to_string(id); }

Result<void> insert_request_state(Connection& db, const LineId& line, const RequestStateRow& row) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO request_states (line_id, request, state, detail, "
                              "updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert->bind_blob(1, line.bytes)
      .bind_text(2, row.request)
      .bind_text(3, row.state)
      .bind_text(4, row.detail)
      .bind_int(5, row.updated_at);
  return insert->run();
}

constexpr const char* kNoticeColumns =
    "SELECT id, subject, kind, audience, at, raised_at, message FROM notices";

// A row of kNoticeColumns, of `line`.
NoticeRow notice_from_row(const Statement& row, const LineId& line) {
  NoticeRow notice;
  notice.id = static_cast<std::uint64_t>(row.column_int(0));
  notice.line = line;
  notice.subject = row.column_text(1);
  notice.kind = row.column_text(2);
  notice.audience = row.column_text(3);
  notice.at = row.column_int(4);
  notice.raised_at = row.column_int(5);
  notice.message = row.column_text(6);
  return notice;
}

// NULL reads as 0 or "" through column_int and column_text, so the two nullable integers come
// with a column that says whether they are set (decided_by and note read as empty when NULL).
constexpr const char* kDraftColumns =
    "SELECT id, line_id, request, step, body, drafted_by, drafted_at, status, decided_by, "
    "decided_at, decided_at IS NOT NULL, seq, seq IS NOT NULL, note FROM decision_drafts";

Result<DecisionDraft> draft_from_row(const Connection& db, const Statement& row) {
  DecisionDraft draft;
  draft.id = static_cast<std::uint64_t>(row.column_int(0));
  Bytes line = row.column_blob(1);
  if (line.size() != draft.line.bytes.size()) {
    return corrupt(db, draft_name(draft.id) + " has a malformed line id");
  }
  std::copy(line.begin(), line.end(), draft.line.bytes.begin());
  draft.request = row.column_text(2);
  draft.step = row.column_text(3);
  draft.body = row.column_blob(4);
  draft.drafted_by = row.column_text(5);
  draft.drafted_at = row.column_int(6);
  draft.status = row.column_text(7);
  draft.decided_by = row.column_text(8);
  if (row.column_int(10) != 0) {
    draft.decided_at = row.column_int(9);
  }
  if (row.column_int(12) != 0) {
    draft.seq = static_cast<std::uint64_t>(row.column_int(11));
  }
  draft.note = row.column_text(13);
  return draft;
}

Result<void> check_settlement(const Connection& db, std::uint64_t id,
                              const Settlement& settlement) {
  if (settlement.status != "confirmed" && settlement.status != "discarded") {
    return invalid(db, draft_name(id) + " cannot be settled as '" + settlement.status +
                           "' (only 'confirmed' or 'discarded')");
  }
  if (settlement.decided_by.empty()) {
    return invalid(db, draft_name(id) + " cannot be settled without naming who decided");
  }
  if (settlement.seq && settlement.status != "confirmed") {
    return invalid(db, draft_name(id) + " is discarded, so no entry was authored from it");
  }
  return success();
}

}  // namespace

// --- request_states -----------------------------------------------------------------------------

Result<void> replace_request_states(Connection& db, const LineId& line,
                                    const std::vector<RequestStateRow>& rows) {
  std::set<std::string> requests;
  for (const RequestStateRow& row : rows) {
    if (!requests.insert(row.request).second) {
      return invalid(
          db, "request '" + row.request + "' is given twice in the states of line " + line.hex());
    }
  }
  HOTLINE_ASSIGN(StatementUse remove,
                 db.statement("DELETE FROM request_states WHERE line_id = ?1"));
  remove->bind_blob(1, line.bytes);
  HOTLINE_TRY(remove->run());
  for (const RequestStateRow& row : rows) {
    HOTLINE_TRY(insert_request_state(db, line, row));
  }
  return success();
}

Result<std::vector<RequestStateRow>> select_request_states(Connection& db, const LineId& line) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT request, state, detail, updated_at FROM request_states "
                              "WHERE line_id = ?1 ORDER BY request"));
  query->bind_blob(1, line.bytes);
  std::vector<RequestStateRow> rows;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return rows;
    }
    rows.push_back({.request = query->column_text(0),
                    .state = query->column_text(1),
                    .detail = query->column_text(2),
                    .updated_at = query->column_int(3)});
  }
}

// --- notices ------------------------------------------------------------------------------------

Result<bool> insert_notice(Connection& db, const NoticeRow& notice) {
  // One statement: the UNIQUE constraint, not an earlier lookup, decides whether it is new.
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO notices (line_id, subject, kind, audience, at, "
                              "raised_at, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                              "ON CONFLICT (line_id, subject, kind) DO NOTHING RETURNING id"));
  insert->bind_blob(1, notice.line.bytes)
      .bind_text(2, notice.subject)
      .bind_text(3, notice.kind)
      .bind_text(4, notice.audience)
      .bind_int(5, notice.at)
      .bind_int(6, notice.raised_at)
      .bind_text(7, notice.message);
  return insert->step();  // a row (the new id) only if it was inserted
}

Result<std::vector<NoticeRow>> select_notices(Connection& db, const LineId& line,
                                              std::uint64_t after_id, std::size_t limit) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement(std::string(kNoticeColumns) +
                              " WHERE line_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"));
  query->bind_blob(1, line.bytes)
      .bind_int(2, clamp_to_int64(after_id))
      .bind_int(3, clamp_to_int64(limit));
  std::vector<NoticeRow> notices;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return notices;
    }
    notices.push_back(notice_from_row(*query, line));
  }
}

Result<bool> has_notice(Connection& db, const LineId& line, const std::string& subject,
                        const std::string& kind) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT 1 FROM notices WHERE line_id = ?1 AND subject = ?2 AND "
                              "kind = ?3"));
  query->bind_blob(1, line.bytes).bind_text(2, subject).bind_text(3, kind);
  return query->step();
}

// --- decision_drafts ----------------------------------------------------------------------------

Result<std::uint64_t> insert_decision_draft(Connection& db, const DecisionDraft& draft) {
  if (auto decoded = cbor::decode(draft.body); !decoded.ok()) {
    // Refused now: a body that cannot be authored would be found only once a principal confirms.
    return invalid(db, "the body of the '" + draft.step + "' drafted for request '" +
                           draft.request +
                           "' is not one canonical CBOR item: " + decoded.error().message);
  }
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO decision_drafts (line_id, request, step, body, "
                              "drafted_by, drafted_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                              "'pending') RETURNING id"));
  insert->bind_blob(1, draft.line.bytes)
      .bind_text(2, draft.request)
      .bind_text(3, draft.step)
      .bind_blob(4, draft.body)
      .bind_text(5, draft.drafted_by)
      .bind_int(6, draft.drafted_at);
  HOTLINE_ASSIGN(bool has_row, insert->step());
  if (!has_row) {
    return make_error(Errc::kInternal, db.path() + ": inserting a decision draft returned no id");
  }
  return static_cast<std::uint64_t>(insert->column_int(0));
}

Result<std::optional<DecisionDraft>> find_decision_draft(Connection& db, std::uint64_t id) {
  HOTLINE_ASSIGN(StatementUse query, db.statement(std::string(kDraftColumns) + " WHERE id = ?1"));
  query->bind_int(1, clamp_to_int64(id));
  HOTLINE_ASSIGN(bool found, query->step());
  if (!found) {
    return std::optional<DecisionDraft>();
  }
  HOTLINE_ASSIGN(DecisionDraft draft, draft_from_row(db, *query));
  return std::optional<DecisionDraft>(std::move(draft));
}

Result<std::vector<DecisionDraft>> select_decision_drafts(Connection& db, const LineId& line,
                                                          bool pending_only) {
  HOTLINE_ASSIGN(
      StatementUse query,
      db.statement(std::string(kDraftColumns) +
                   " WHERE line_id = ?1 AND (?2 = 0 OR status = 'pending') ORDER BY id"));
  query->bind_blob(1, line.bytes).bind_int(2, pending_only ? 1 : 0);
  std::vector<DecisionDraft> drafts;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return drafts;
    }
    HOTLINE_ASSIGN(DecisionDraft draft, draft_from_row(db, *query));
    drafts.push_back(std::move(draft));
  }
}

Result<void> settle_decision_draft(Connection& db, std::uint64_t id, const Settlement& settlement) {
  HOTLINE_TRY(check_settlement(db, id, settlement));
  HOTLINE_ASSIGN(std::optional<DecisionDraft> draft, find_decision_draft(db, id));
  if (!draft) {
    return make_error(Errc::kNotFound, db.path() + ": no " + draft_name(id));
  }
  if (draft->status != "pending") {
    // Settled once: a second confirmation would author the decision twice.
    return make_error(Errc::kConflict,
                      db.path() + ": draft " + std::to_string(id) + " is already " + draft->status);
  }
  HOTLINE_ASSIGN(StatementUse update,
                 db.statement("UPDATE decision_drafts SET status = ?2, decided_by = ?3, "
                              "decided_at = ?4, seq = CASE WHEN ?5 THEN ?6 END, "
                              "note = NULLIF(?7, '') WHERE id = ?1 AND status = 'pending'"));
  update->bind_int(1, clamp_to_int64(id))
      .bind_text(2, settlement.status)
      .bind_text(3, settlement.decided_by)
      .bind_int(4, settlement.decided_at)
      .bind_int(5, settlement.seq ? 1 : 0)
      .bind_int(6, clamp_to_int64(settlement.seq.value_or(0)))
      .bind_text(7, settlement.note);
  return update->run();
}

}  // namespace hotline::store::procedure_table
