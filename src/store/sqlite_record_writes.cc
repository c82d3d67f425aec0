// store/sqlite_record_writes.cc — the record's rules as a write job applies them, inside its
// transaction on the writer thread (see sqlite_record_writes.h).
#include "store/sqlite_record_writes.h"

#include <algorithm>
#include <map>
#include <utility>

#include "store/sqlite_outbox.h"
#include "store/sqlite_tables.h"

namespace hotline::store::writes {
namespace {

std::string entry_name(const record::EntryFields& fields) {
  return "entry " + std::to_string(fields.seq) + " of chain " +
         record::short_fingerprint(fields.author) + " on line " + fields.line.hex();
}

// The chain rule of record_store.h: sequence head+1 and previous hash = head hash.
Result<void> check_extends_head(const record::ChainPosition& head, const SignedEntry& entry) {
  const record::EntryFields& fields = entry.fields;
  if (fields.seq != head.seq + 1) {
    std::string stored_head = "entry " + std::to_string(head.seq);
    return make_error(Errc::kBrokenChain,
                      entry_name(fields) + " does not follow the stored head, " + stored_head);
  }
  if (fields.prev != head.hash) {
    return make_error(Errc::kBrokenChain,
                      entry_name(fields) + " names a previous hash that is not the hash of entry " +
                          std::to_string(head.seq) + " as stored");
  }
  return success();
}

}  // namespace

// Runs on the writer thread inside the job's savepoint: a refusal part-way leaves nothing of the
// call behind. Heads are read from the transaction itself, so they include the jobs before this
// one in the batch and never anything that was rolled back.
Result<void> append_in_order(Connection& db, const std::vector<SignedEntry>& entries, Micros now) {
  std::map<std::pair<LineId, PublicKey>, record::ChainPosition> heads;  // as this call extends them
  for (const SignedEntry& entry : entries) {
    const record::EntryFields& fields = entry.fields;
    auto head = heads.find({fields.line, fields.author});
    if (head == heads.end()) {
      HOTLINE_TRY(tables::require_line(db, fields.line));
      HOTLINE_ASSIGN(ChainHead stored, tables::select_head(db, fields.line, fields.author));
      head = heads.emplace(std::make_pair(fields.line, fields.author), stored.position).first;
    }
    HOTLINE_TRY(check_extends_head(head->second, entry));
    HOTLINE_TRY(tables::insert_entry(db, entry, now));
    head->second = entry.position();
  }
  return success();
}

// Removes the drafts that `entries` were authored from, before any entry is appended: a draft
// already gone means this call would author it a second time (record_store.h). Runs in the same
// job, hence the same savepoint, as the append.
Result<void> take_drafts(Connection& db, const std::vector<SignedEntry>& entries,
                         const std::vector<std::uint64_t>& draft_ids) {
  for (std::uint64_t id : draft_ids) {
    HOTLINE_ASSIGN(LineId line, outbox::delete_draft(db, id));
    bool appends_on_line = std::any_of(entries.begin(), entries.end(),
                                       [&](const SignedEntry& e) { return e.fields.line == line; });
    if (!appends_on_line) {
      return make_error(Errc::kInvalidArgument, db.path() + ": draft " + std::to_string(id) +
                                                    " is queued on line " + line.hex() +
                                                    ", on which this call appends no entry");
    }
  }
  return success();
}

bool has_duplicate(std::vector<std::uint64_t> ids) {
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) != ids.end();
}

Result<void> add_line_once(Connection& db, const LineParties& line) {
  HOTLINE_ASSIGN(std::optional<LineParties> existing, tables::find_line(db, line.id));
  if (!existing) {
    return tables::insert_line(db, line);
  }
  if (*existing == line) {
    return success();
  }
  return make_error(Errc::kConflict, db.path() + ": line " + line.id.hex() +
                                         " is already registered with another name or parties");
}

}  // namespace hotline::store::writes
