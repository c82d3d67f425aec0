#include "store/sqlite_record_store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/cbor.h"
#include "store/sqlite_outbox.h"
#include "store/sqlite_procedure_tables.h"
#include "store/sqlite_record_writes.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_tables.h"
#include "store/sqlite_users.h"

namespace hotline::store {
namespace {

using writes::add_line_once;
using writes::append_in_order;
using writes::has_duplicate;
using writes::take_drafts;

std::future<Result<void>> ready(Result<void> result) {
  std::promise<Result<void>> promise;
  promise.set_value(std::move(result));
  return promise.get_future();
}

}  // namespace

SqliteRecordStore::SqliteRecordStore(std::string path, const Clock* clock)
    : path_(std::move(path)), clock_(clock != nullptr ? clock : &system_clock_) {}

Result<std::unique_ptr<SqliteRecordStore>> SqliteRecordStore::open(const std::string& path,
                                                                   const SqliteOptions& options) {
  std::unique_ptr<SqliteRecordStore> store(new SqliteRecordStore(path, options.clock));
  if (options.read_only) {
    HOTLINE_ASSIGN(store->reader_,
                   Connection::open(path, Connection::Mode::kReadOnly, options.vfs));
    HOTLINE_TRY(check_for_reading(*store->reader_));
    return store;
  }
  HOTLINE_ASSIGN(std::unique_ptr<Connection> writer,
                 Connection::open(path, Connection::Mode::kReadWrite, options.vfs));
  HOTLINE_TRY(prepare_for_writing(*writer));
  // Opened after the writer has created and migrated the file, so it always finds a database.
  HOTLINE_ASSIGN(store->reader_, Connection::open(path, Connection::Mode::kReadOnly, options.vfs));
  store->writer_ = std::make_unique<GroupCommitWriter>(std::move(writer), options.ride_along_delay);
  return store;
}

SqliteRecordStore::~SqliteRecordStore() {
  // The reader closes first, so that the writer's connection is the last one: closing it
  // checkpoints the WAL into the database file and removes the WAL. Destroying the writer first
  // finishes every write already submitted (they do not use the reader).
  reader_.reset();
  writer_.reset();
}

std::uint64_t SqliteRecordStore::commits() const {
  return writer_ != nullptr ? writer_->commits() : 0;
}

std::future<Result<void>> SqliteRecordStore::submit(Job job) {
  if (writer_ == nullptr) {
    return ready(make_error(Errc::kRefused, path_ + ": the store was opened read-only"));
  }
  return writer_->submit(
      [clock = clock_, job = std::move(job)](Connection& db) { return job(db, clock->now()); });
}

void SqliteRecordStore::submit(Job job, WriteDone done, GroupCommitWriter::Commit when) {
  if (writer_ == nullptr) {
    done(make_error(Errc::kRefused, path_ + ": the store was opened read-only"));
    return;
  }
  writer_->submit(
      [clock = clock_, job = std::move(job)](Connection& db) { return job(db, clock->now()); },
      std::move(done), when);
}

namespace {

SqliteRecordStore::Job append_job(std::vector<SignedEntry> entries) {
  return [entries = std::move(entries)](Connection& db, Micros now) {
    return append_in_order(db, entries, now);
  };
}

SqliteRecordStore::Job receipt_job(SignedReceipt receipt) {
  return [receipt = std::move(receipt)](Connection& db, Micros now) -> Result<void> {
    HOTLINE_TRY(tables::require_line(db, receipt.fields.line));
    // A station may write the peer's receipt while its own entries' commit is still queued ahead
    // (line/line_record.h): if that commit failed, the receipt is refused here.
    HOTLINE_TRY(tables::require_held(db, receipt.fields.line, receipt.fields.chain_author,
                                     receipt.fields.held.seq));
    return tables::insert_receipt(db, receipt, now);
  };
}

SqliteRecordStore::Job entries_with_receipt_job(std::vector<SignedEntry> entries,
                                                SignedReceipt receipt) {
  return [entries = std::move(entries), receipt = std::move(receipt)](Connection& db,
                                                                      Micros now) -> Result<void> {
    HOTLINE_TRY(append_in_order(db, entries, now));
    HOTLINE_TRY(tables::require_line(db, receipt.fields.line));
    return tables::insert_receipt(db, receipt, now);
  };
}

SqliteRecordStore::Job checkpoint_job(SignedCheckpoint checkpoint) {
  return [checkpoint = std::move(checkpoint)](Connection& db, Micros now) -> Result<void> {
    HOTLINE_TRY(tables::require_line(db, checkpoint.fields.line));
    return tables::insert_checkpoint(db, checkpoint, now);
  };
}

}  // namespace

// --- writes -------------------------------------------------------------------------------------

Result<void> SqliteRecordStore::add_line(const LineParties& line) {
  return submit([line](Connection& db, Micros) { return add_line_once(db, line); }).get();
}

Result<void> SqliteRecordStore::append_entries(std::vector<SignedEntry> entries) {
  return append_entries_async(std::move(entries)).get();
}

std::future<Result<void>> SqliteRecordStore::append_entries_async(
    std::vector<SignedEntry> entries) {
  if (entries.empty()) {
    return ready(success());
  }
  return submit(append_job(std::move(entries)));
}

void SqliteRecordStore::append_entries_then(std::vector<SignedEntry> entries, WriteDone done) {
  if (entries.empty()) {
    done(success());
    return;
  }
  submit(append_job(std::move(entries)), std::move(done));
}

Result<SqliteRecordStore::Job> SqliteRecordStore::enqueue_job(const LineId& line,
                                                              Precedence precedence,
                                                              std::string kind, Bytes body,
                                                              std::shared_ptr<std::uint64_t> id) {
  if (auto valid = record::validate_entry_kind(kind); !valid.ok()) {
    // Refused now: a bad kind found only when the link signs the draft would block the queue.
    return make_error(Errc::kInvalidArgument, path_ + ": " + valid.error().message);
  }
  if (auto decoded = cbor::decode(body); !decoded.ok()) {
    return make_error(Errc::kInvalidArgument,
                      path_ + ": the body of a draft for line " + line.hex() +
                          " is not one canonical CBOR item: " + decoded.error().message);
  }
  OutboxDraft draft{.id = 0,
                    .line = line,
                    .precedence = precedence,
                    .queued_at = 0,
                    .kind = std::move(kind),
                    .body = std::move(body)};
  // `id` is written on the writer thread and read only once the write is reported durable.
  return Job([draft = std::move(draft), id](Connection& db, Micros now) -> Result<void> {
    HOTLINE_TRY(tables::require_line(db, draft.line));
    HOTLINE_ASSIGN(*id, outbox::insert_draft(db, draft, now));
    return success();
  });
}

Result<std::uint64_t> SqliteRecordStore::enqueue_draft(const LineId& line, Precedence precedence,
                                                       std::string kind, Bytes body) {
  auto id = std::make_shared<std::uint64_t>(0);
  HOTLINE_ASSIGN(Job job, enqueue_job(line, precedence, std::move(kind), std::move(body), id));
  HOTLINE_TRY(submit(std::move(job)).get());
  return *id;
}

void SqliteRecordStore::enqueue_draft_then(const LineId& line, Precedence precedence,
                                           std::string kind, Bytes body,
                                           std::function<void(Result<std::uint64_t>)> done) {
  auto id = std::make_shared<std::uint64_t>(0);
  auto job = enqueue_job(line, precedence, std::move(kind), std::move(body), id);
  if (!job.ok()) {
    done(job.error());
    return;
  }
  submit(std::move(job).value(), [id, done = std::move(done)](Result<void> written) {
    if (!written.ok()) {
      done(written.error());
    } else {
      done(*id);
    }
  });
}

Result<SqliteRecordStore::Job> SqliteRecordStore::drafts_job(std::vector<SignedEntry> entries,
                                                             std::vector<std::uint64_t> draft_ids) {
  if (has_duplicate(draft_ids)) {
    return make_error(Errc::kInvalidArgument, path_ + ": a draft id is given twice for one append");
  }
  return Job([entries = std::move(entries), draft_ids = std::move(draft_ids)](
                 Connection& db, Micros now) -> Result<void> {
    HOTLINE_TRY(take_drafts(db, entries, draft_ids));
    return append_in_order(db, entries, now);
  });
}

Result<void> SqliteRecordStore::append_entries_from_drafts(std::vector<SignedEntry> entries,
                                                           std::vector<std::uint64_t> draft_ids) {
  return append_entries_from_drafts_async(std::move(entries), std::move(draft_ids)).get();
}

std::future<Result<void>> SqliteRecordStore::append_entries_from_drafts_async(
    std::vector<SignedEntry> entries, std::vector<std::uint64_t> draft_ids) {
  auto job = drafts_job(std::move(entries), std::move(draft_ids));
  if (!job.ok()) {
    return ready(job.error());
  }
  return submit(std::move(job).value());
}

void SqliteRecordStore::append_entries_from_drafts_then(std::vector<SignedEntry> entries,
                                                        std::vector<std::uint64_t> draft_ids,
                                                        WriteDone done) {
  auto job = drafts_job(std::move(entries), std::move(draft_ids));
  if (!job.ok()) {
    done(job.error());
    return;
  }
  submit(std::move(job).value(), std::move(done));
}

Result<void> SqliteRecordStore::add_receipt(const SignedReceipt& receipt) {
  return submit(receipt_job(receipt)).get();
}

void SqliteRecordStore::add_receipt_then(SignedReceipt receipt, WriteDone done) {
  submit(receipt_job(std::move(receipt)), std::move(done));
}

Result<void> SqliteRecordStore::append_entries_with_receipt(std::vector<SignedEntry> entries,
                                                            const SignedReceipt& receipt) {
  return submit(entries_with_receipt_job(std::move(entries), receipt)).get();
}

void SqliteRecordStore::append_entries_with_receipt_then(std::vector<SignedEntry> entries,
                                                         SignedReceipt receipt, WriteDone done) {
  submit(entries_with_receipt_job(std::move(entries), std::move(receipt)), std::move(done));
}

Result<void> SqliteRecordStore::add_checkpoint(const SignedCheckpoint& checkpoint) {
  return submit(checkpoint_job(checkpoint)).get();
}

void SqliteRecordStore::add_checkpoint_then(SignedCheckpoint checkpoint, WriteDone done) {
  submit(checkpoint_job(std::move(checkpoint)), std::move(done));
}

Result<void> SqliteRecordStore::add_evidence(const Evidence& evidence) {
  return submit([evidence](Connection& db, Micros now) -> Result<void> {
           HOTLINE_TRY(tables::require_line(db, evidence.line));
           return tables::insert_evidence(db, evidence, now);
         })
      .get();
}

// --- users --------------------------------------------------------------------------------------

Result<void> SqliteRecordStore::add_user(const UserRecord& user) {
  return submit([user](Connection& db, Micros now) -> Result<void> {
           // Looked up inside the write transaction: no other writer can add the name in between.
           HOTLINE_ASSIGN(std::optional<UserRecord> existing, user_table::find_user(db, user.name));
           if (existing) {
             return make_error(Errc::kConflict, db.path() + ": a user named '" + user.name +
                                                    "' already exists" +
                                                    (existing->disabled ? " (disabled)" : ""));
           }
           return user_table::insert_user(db, user, now);
         })
      .get();
}

Result<void> SqliteRecordStore::disable_user(const std::string& name) {
  return submit([name](Connection& db, Micros now) -> Result<void> {
           HOTLINE_ASSIGN(std::optional<UserRecord> existing, user_table::find_user(db, name));
           if (!existing) {
             return make_error(Errc::kNotFound, db.path() + ": no user named '" + name + "'");
           }
           return user_table::mark_disabled(db, name, now);  // keeps the first disabled_at
         })
      .get();
}

Result<void> SqliteRecordStore::set_user_totp(const std::string& name,
                                              std::optional<std::string> secret) {
  return submit([name, secret](Connection& db, Micros) -> Result<void> {
           HOTLINE_ASSIGN(std::optional<UserRecord> existing, user_table::find_user(db, name));
           if (!existing) {
             return make_error(Errc::kNotFound, db.path() + ": no user named '" + name + "'");
           }
           return user_table::set_totp(db, name, secret);
         })
      .get();
}

Result<bool> SqliteRecordStore::use_totp_step(const std::string& name, std::int64_t step) {
  auto used = std::make_shared<bool>(false);  // written on the writer thread, read once durable
  HOTLINE_TRY(submit([name, step, used](Connection& db, Micros) -> Result<void> {
                HOTLINE_ASSIGN(*used, user_table::use_totp_step(db, name, step));
                return success();
              }).get());
  return *used;
}

Result<std::uint64_t> SqliteRecordStore::add_audit(const AuditRow& row) {
  auto id = std::make_shared<std::uint64_t>(0);
  HOTLINE_TRY(submit([row, id](Connection& db, Micros) -> Result<void> {
                HOTLINE_ASSIGN(*id, user_table::insert_audit(db, row));
                return success();
              }).get());
  return *id;
}

void SqliteRecordStore::add_audit_then(AuditRow row, WriteDone done) {
  submit(
      [row = std::move(row)](Connection& db, Micros) -> Result<void> {
        HOTLINE_ASSIGN(std::uint64_t id, user_table::insert_audit(db, row));
        (void)id;
        return success();
      },
      std::move(done));
}

RecordStore::AuditTicket SqliteRecordStore::begin_audit(AuditRow row, WriteDone done) {
  row.outcome = 0;
  auto ticket = std::make_shared<std::optional<std::uint64_t>>();
  // The ticket is written and read only by jobs, all on the writer thread, in submission order.
  // The row rides with the call's own first write (or its outcome, for a call that writes
  // nothing), so that the call pays no fsync for it.
  submit(
      [row = std::move(row), ticket](Connection& db, Micros) -> Result<void> {
        HOTLINE_ASSIGN(std::uint64_t id, user_table::insert_audit(db, row));
        *ticket = id;
        return success();
      },
      std::move(done), GroupCommitWriter::Commit::kWithNext);
  return ticket;
}

void SqliteRecordStore::finish_audit(const AuditTicket& ticket, int outcome, std::string detail,
                                     bool answer_waits, WriteDone done) {
  submit(
      [ticket, outcome, detail = std::move(detail)](Connection& db, Micros) -> Result<void> {
        if (!ticket || !*ticket) {
          return make_error(Errc::kNotFound,
                            db.path() + ": the audit row to finish was not written");
        }
        return user_table::set_audit_outcome(db, **ticket, outcome, detail);
      },
      std::move(done),
      answer_waits ? GroupCommitWriter::Commit::kNow : GroupCommitWriter::Commit::kWithNext);
}

void SqliteRecordStore::after_writes(WriteDone done) {
  submit([](Connection&, Micros) -> Result<void> { return success(); }, std::move(done));
}

Result<std::vector<AuditRow>> SqliteRecordStore::audit(std::uint64_t after_id, std::size_t limit) {
  std::lock_guard lock(read_mutex_);
  return user_table::select_audit(*reader_, after_id, limit);
}

Result<std::vector<UserRecord>> SqliteRecordStore::users() {
  std::lock_guard lock(read_mutex_);
  return user_table::select_users(*reader_);
}

Result<UserRecord> SqliteRecordStore::user(const std::string& name) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_ASSIGN(std::optional<UserRecord> found, user_table::find_user(*reader_, name));
  if (!found) {
    return make_error(Errc::kNotFound, path_ + ": no user named '" + name + "'");
  }
  return std::move(*found);
}

// --- procedure state ----------------------------------------------------------------------------

Result<void> SqliteRecordStore::replace_request_states(const LineId& line,
                                                       const std::vector<RequestStateRow>& rows) {
  return submit([line, rows](Connection& db, Micros) -> Result<void> {
           HOTLINE_TRY(tables::require_line(db, line));
           return procedure_table::replace_request_states(db, line, rows);
         })
      .get();
}

Result<bool> SqliteRecordStore::add_notice(const NoticeRow& notice) {
  auto added = std::make_shared<bool>(false);  // written on the writer thread, read once durable
  HOTLINE_TRY(submit([notice, added](Connection& db, Micros) -> Result<void> {
                HOTLINE_TRY(tables::require_line(db, notice.line));
                HOTLINE_ASSIGN(*added, procedure_table::insert_notice(db, notice));
                return success();
              }).get());
  return *added;
}

Result<std::uint64_t> SqliteRecordStore::add_decision_draft(const DecisionDraft& draft) {
  auto id = std::make_shared<std::uint64_t>(0);  // as in add_notice
  HOTLINE_TRY(submit([draft, id](Connection& db, Micros) -> Result<void> {
                HOTLINE_TRY(tables::require_line(db, draft.line));
                HOTLINE_ASSIGN(*id, procedure_table::insert_decision_draft(db, draft));
                return success();
              }).get());
  return *id;
}

Result<void> SqliteRecordStore::settle_decision_draft(std::uint64_t id, const std::string& status,
                                                      const std::string& decided_by,
                                                      Micros decided_at,
                                                      std::optional<std::uint64_t> seq,
                                                      const std::string& note) {
  procedure_table::Settlement settlement{.status = status,
                                         .decided_by = decided_by,
                                         .decided_at = decided_at,
                                         .seq = seq,
                                         .note = note};
  return submit([id, settlement = std::move(settlement)](Connection& db, Micros) {
           return procedure_table::settle_decision_draft(db, id, settlement);
         })
      .get();
}

Result<std::vector<RequestStateRow>> SqliteRecordStore::request_states(const LineId& line) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return procedure_table::select_request_states(*reader_, line);
}

Result<std::vector<NoticeRow>> SqliteRecordStore::notices(const LineId& line,
                                                          std::uint64_t after_id,
                                                          std::size_t limit) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return procedure_table::select_notices(*reader_, line, after_id, limit);
}

Result<bool> SqliteRecordStore::has_notice(const LineId& line, const std::string& subject,
                                           const std::string& kind) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return procedure_table::has_notice(*reader_, line, subject, kind);
}

Result<DecisionDraft> SqliteRecordStore::decision_draft(std::uint64_t id) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_ASSIGN(std::optional<DecisionDraft> found,
                 procedure_table::find_decision_draft(*reader_, id));
  if (!found) {
    return make_error(Errc::kNotFound, path_ + ": no decision draft " + std::to_string(id));
  }
  return std::move(*found);
}

Result<std::vector<DecisionDraft>> SqliteRecordStore::decision_drafts(const LineId& line,
                                                                      bool pending_only) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return procedure_table::select_decision_drafts(*reader_, line, pending_only);
}

// --- reads --------------------------------------------------------------------------------------

Result<std::vector<LineParties>> SqliteRecordStore::lines() {
  std::lock_guard lock(read_mutex_);
  return tables::select_lines(*reader_);
}

Result<ChainHead> SqliteRecordStore::chain_head(const LineId& line, const PublicKey& author) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return tables::select_head(*reader_, line, author);
}

Result<std::vector<SignedEntry>> SqliteRecordStore::read_entries(const LineId& line,
                                                                 const PublicKey& author,
                                                                 std::uint64_t from_seq,
                                                                 std::size_t limit) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return tables::select_entries(*reader_, line, author, from_seq, limit);
}

Result<std::vector<SignedReceipt>> SqliteRecordStore::receipts(const LineId& line) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return tables::select_receipts(*reader_, line);
}

Result<std::vector<SignedCheckpoint>> SqliteRecordStore::checkpoints(const LineId& line) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return tables::select_checkpoints(*reader_, line);
}

Result<std::vector<Evidence>> SqliteRecordStore::evidence(const LineId& line) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return tables::select_evidence(*reader_, line);
}

Result<std::vector<OutboxDraft>> SqliteRecordStore::next_drafts(const LineId& line,
                                                                std::size_t limit) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return outbox::select_drafts(*reader_, line, limit);
}

Result<std::size_t> SqliteRecordStore::count_drafts(const LineId& line,
                                                    std::optional<Precedence> precedence) {
  std::lock_guard lock(read_mutex_);
  HOTLINE_TRY(tables::require_line(*reader_, line));
  return outbox::count_drafts(*reader_, line, precedence);
}

Result<std::unique_ptr<RecordStore>> open_sqlite_store(const std::string& path,
                                                       const SqliteOptions& options) {
  HOTLINE_ASSIGN(std::unique_ptr<SqliteRecordStore> store, SqliteRecordStore::open(path, options));
  return std::unique_ptr<RecordStore>(std::move(store));
}

}  // namespace hotline::store
