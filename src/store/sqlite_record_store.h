// store/sqlite_record_store.h — the SQLite implementation of RecordStore.
//
// Two connections to one WAL database: the writer's, used only by its GroupCommitWriter thread,
// and the reader's, shared by all reads under a mutex. Readers therefore never wait for a write
// transaction, and see only committed data. A read-only store has the reader alone; its writes
// fail with kRefused.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "store/group_commit_writer.h"
#include "store/record_store.h"
#include "store/sqlite_connection.h"

namespace hotline::store {

class SqliteRecordStore final : public RecordStore {
 public:
  // See open_sqlite_store (record_store.h); this returns the concrete type for tests.
  [[nodiscard]] static Result<std::unique_ptr<SqliteRecordStore>> open(
      const std::string& path, const SqliteOptions& options);

  // Finishes every write already submitted, then closes both connections.
  ~SqliteRecordStore() override;

  [[nodiscard]] Result<void> add_line(const LineParties& line) override;
  [[nodiscard]] Result<std::vector<LineParties>> lines() override;
  [[nodiscard]] Result<ChainHead> chain_head(const LineId& line, const PublicKey& author) override;
  [[nodiscard]] Result<void> append_entries(std::vector<SignedEntry> entries) override;
  std::future<Result<void>> append_entries_async(std::vector<SignedEntry> entries) override;
  void append_entries_then(std::vector<SignedEntry> entries, WriteDone done) override;
  [[nodiscard]] Result<std::vector<SignedEntry>> read_entries(const LineId& line,
                                                              const PublicKey& author,
                                                              std::uint64_t from_seq,
                                                              std::size_t limit) override;
  [[nodiscard]] Result<void> add_receipt(const SignedReceipt& receipt) override;
  [[nodiscard]] Result<void> append_entries_with_receipt(std::vector<SignedEntry> entries,
                                                         const SignedReceipt& receipt) override;
  void add_receipt_then(SignedReceipt receipt, WriteDone done) override;
  void append_entries_with_receipt_then(std::vector<SignedEntry> entries, SignedReceipt receipt,
                                        WriteDone done) override;
  [[nodiscard]] Result<std::vector<SignedReceipt>> receipts(const LineId& line) override;
  [[nodiscard]] Result<void> add_checkpoint(const SignedCheckpoint& checkpoint) override;
  void add_checkpoint_then(SignedCheckpoint checkpoint, WriteDone done) override;
  [[nodiscard]] Result<std::vector<SignedCheckpoint>> checkpoints(const LineId& line) override;
  // `evidence.recorded_at` is replaced by the store's clock when it is written.
  [[nodiscard]] Result<void> add_evidence(const Evidence& evidence) override;
  [[nodiscard]] Result<std::vector<Evidence>> evidence(const LineId& line) override;
  [[nodiscard]] Result<std::uint64_t> enqueue_draft(const LineId& line, Precedence precedence,
                                                    std::string kind, Bytes body) override;
  void enqueue_draft_then(const LineId& line, Precedence precedence, std::string kind, Bytes body,
                          std::function<void(Result<std::uint64_t>)> done) override;
  [[nodiscard]] Result<std::vector<OutboxDraft>> next_drafts(const LineId& line,
                                                             std::size_t limit) override;
  [[nodiscard]] Result<void> append_entries_from_drafts(
      std::vector<SignedEntry> entries, std::vector<std::uint64_t> draft_ids) override;
  std::future<Result<void>> append_entries_from_drafts_async(
      std::vector<SignedEntry> entries, std::vector<std::uint64_t> draft_ids) override;
  void append_entries_from_drafts_then(std::vector<SignedEntry> entries,
                                       std::vector<std::uint64_t> draft_ids,
                                       WriteDone done) override;
  [[nodiscard]] Result<std::size_t> count_drafts(const LineId& line,
                                                 std::optional<Precedence> precedence) override;
  [[nodiscard]] Result<void> add_user(const UserRecord& user) override;
  [[nodiscard]] Result<std::vector<UserRecord>> users() override;
  [[nodiscard]] Result<UserRecord> user(const std::string& name) override;
  [[nodiscard]] Result<void> disable_user(const std::string& name) override;
  [[nodiscard]] Result<void> set_user_totp(const std::string& name,
                                           std::optional<std::string> secret) override;
  [[nodiscard]] Result<bool> use_totp_step(const std::string& name, std::int64_t step) override;
  [[nodiscard]] Result<std::uint64_t> add_audit(const AuditRow& row) override;
  void add_audit_then(AuditRow row, WriteDone done) override;
  void after_writes(WriteDone done) override;
  [[nodiscard]] AuditTicket begin_audit(AuditRow row, WriteDone done) override;
  void finish_audit(const AuditTicket& ticket, int outcome, std::string detail, bool answer_waits,
                    WriteDone done) override;
  [[nodiscard]] Result<std::vector<AuditRow>> audit(std::uint64_t after_id,
                                                    std::size_t limit) override;
  [[nodiscard]] Result<void> replace_request_states(
      const LineId& line, const std::vector<RequestStateRow>& rows) override;
  [[nodiscard]] Result<std::vector<RequestStateRow>> request_states(const LineId& line) override;
  [[nodiscard]] Result<bool> add_notice(const NoticeRow& notice) override;
  [[nodiscard]] Result<std::vector<NoticeRow>> notices(const LineId& line, std::uint64_t after_id,
                                                       std::size_t limit) override;
  [[nodiscard]] Result<bool> has_notice(const LineId& line, const std::string& subject,
                                        const std::string& kind) override;
  [[nodiscard]] Result<std::uint64_t> add_decision_draft(const DecisionDraft& draft) override;
  [[nodiscard]] Result<DecisionDraft> decision_draft(std::uint64_t id) override;
  [[nodiscard]] Result<std::vector<DecisionDraft>> decision_drafts(const LineId& line,
                                                                   bool pending_only) override;
  [[nodiscard]] Result<void> settle_decision_draft(std::uint64_t id, const std::string& status,
                                                   const std::string& decided_by, Micros decided_at,
                                                   std::optional<std::uint64_t> seq,
                                                   const std::string& note) override;

  // A write, run on the writer thread with the store's clock reading.
  using Job = std::function<Result<void>(Connection&, Micros now)>;

  // Write transactions committed since open. Tests compare it with the number of writes to see
  // that group commit batched them.
  std::uint64_t commits() const;

 private:
  SqliteRecordStore(std::string path, const Clock* clock);

  // Hands `job` to the writer, stamping `now` from the clock when it runs.
  std::future<Result<void>> submit(Job job);
  void submit(Job job, WriteDone done,
              GroupCommitWriter::Commit when = GroupCommitWriter::Commit::kNow);
  // The checks made before a draft is queued, and the job that queues it (writing its id).
  Result<Job> enqueue_job(const LineId& line, Precedence precedence, std::string kind, Bytes body,
                          std::shared_ptr<std::uint64_t> id);
  Result<Job> drafts_job(std::vector<SignedEntry> entries, std::vector<std::uint64_t> draft_ids);

  std::string path_;
  SystemClock system_clock_;
  const Clock* clock_;  // options.clock, or &system_clock_

  std::mutex read_mutex_;  // guards reader_
  std::unique_ptr<Connection> reader_;
  std::unique_ptr<GroupCommitWriter> writer_;  // null when opened read-only
};

}  // namespace hotline::store
