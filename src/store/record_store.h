// store/record_store.h — the station's one storage interface (design.md §5).
//
// Everything a station keeps goes through this interface, so that a PostgreSQL backend can
// replace SQLite without touching the rest (design.md §9).
//
// Guarantees of every implementation:
// - Durability: a write call returns success only after its transaction is durable on disk
//   (SQLite: WAL with synchronous=FULL). On failure nothing of that call was written, with one
//   exception no storage engine can avoid: when the disk fails to fsync, whether the write reached
//   it is unknown. The store then fails that call with kIo and refuses every later write until it
//   is reopened, which reads what is really on disk (so a station restarts rather than builds on
//   a commit that may vanish).
// - Group commit: concurrent writes are batched into one transaction by a single writer, so
//   throughput is not bounded by one fsync per call. `append_entries_async` lets one producer keep
//   many appends in flight.
// - Chain integrity: `append_entries` accepts an entry only if it extends the stored chain
//   (sequence head+1, previous hash = head hash); otherwise the whole call fails with
//   kBrokenChain and writes nothing. The store does not check signatures: the record layer does,
//   before calling it.
// - Outbox (design.md §4, "Precedence"): drafts waiting to be authored on a line are kept durably
//   and handed out in send order, FLASH first and oldest first within a precedence. A draft leaves
//   the outbox only in the transaction that appends the entries authored from it
//   (`append_entries_from_drafts`), so a crash can neither lose a draft nor let it be authored
//   twice.
// - Users (design.md §6): the people who may act at this station, with their role and password
//   hash. A user is never deleted, only disabled, so that every name on the record keeps meaning
//   one person.
// - Procedure state (design.md §2): request states, notices and decision drafts are this station's
//   own bookkeeping, not part of the signed record. Times in them are the caller's, stored as
//   given.
// - Reads see only committed data and may run while a write is in progress, from this process or
//   from another process that opened the same database read-only.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/precedence.h"
#include "core/result.h"
#include "record/checkpoint.h"
#include "record/entry.h"
#include "record/receipt.h"
#include "record/verify.h"
#include "store/limits.h"

namespace hotline::store {

using record::ChainHead;
using record::LineId;
using record::PublicKey;
using record::SignedCheckpoint;
using record::SignedEntry;
using record::SignedReceipt;

// A line as the record knows it: its name and the two parties. (Routes and terms are
// configuration, not record.)
struct LineParties {
  LineId id;
  std::string name;
  PublicKey local;  // this station
  PublicKey peer;

  bool operator==(const LineParties&) const = default;
};

// Evidence of misbehaviour kept for a line: two conflicting signed items (equivocation), or a
// peer's checkpoint that contradicts the local copy (divergence).
struct Evidence {
  enum class Kind { kEquivocation, kDivergence };
  Kind kind = Kind::kEquivocation;
  LineId line;
  PublicKey culprit;       // who signed the conflicting items
  std::uint64_t seq = 0;   // the contested sequence number
  std::string detail;      // human-readable explanation
  Bytes first;             // exact signed bytes of the first item
  Bytes second;            // exact signed bytes of the conflicting item (empty for divergence)
  Micros recorded_at = 0;  // when the store wrote it (its clock); ignored by add_evidence
};

// A draft in the outbox: the content of an entry not yet authored. Sequence, previous hash, time
// and signature are given when the link authors it (design.md §4: "sequenced when sent").
struct OutboxDraft {
  std::uint64_t id = 0;  // assigned by the store, increasing, never reused: the draft's age
  LineId line;
  Precedence precedence = Precedence::kRoutine;
  Micros queued_at = 0;  // the store's clock when it was queued; for metrics, not for order
  std::string kind;      // the entry kind (record::EntryFields::kind)
  Bytes body;            // canonical CBOR of the entry body

  bool operator==(const OutboxDraft&) const = default;
};

// A person who may act at this station. The store keeps the fields as given; what a valid name,
// role and hash are is decided by procedure/users.h.
struct UserRecord {
  std::string name;           // 1-64 characters of a-z 0-9 . _ - (procedure::check_user_name)
  std::string role;           // procedure::role_name: "operator", "principal", …
  std::string password_hash;  // crypto::hash_password's Argon2id string; never printed
  bool disabled = false;
  Micros created_at = 0;              // the store's clock when added; ignored by add_user
  std::optional<Micros> disabled_at;  // the store's clock when first disabled; ignored by add_user
  // The second factor (api/totp.h): the base32 secret once enrolled, and the last 30-second step
  // whose code was accepted, so that a code is used once. Ignored by add_user.
  std::optional<std::string> totp_secret;
  std::int64_t totp_last_step = 0;

  bool operator==(const UserRecord&) const = default;
};

// One local action in the audit trail (design.md §6): who did what, when, from where, and how it
// ended. Rows are only ever added.
struct AuditRow {
  std::uint64_t id = 0;  // assigned by the store, increasing; ignored by add_audit
  Micros at = 0;         // the station's clock
  std::string user;      // who acted, or the name tried by a failed login; "" if none was given
  std::string role;      // their role then; "" if not logged in
  std::string source;    // where from: "api 127.0.0.1:40312", "control socket"
  std::string action;    // e.g. "login", "login-failed", "POST /api/v1/lines/x/requests"
  int outcome = 0;       // the HTTP status answered
  std::string detail;    // e.g. the error message, or the id created

  bool operator==(const AuditRow&) const = default;
};

// One request's state as the procedure last computed it from the record: a cache for tools, which
// the station rebuilds from the record on start (procedure/ alone decides what a state is).
struct RequestStateRow {
  std::string request;    // the request's id, e.g. "3fa9c2d1-12"
  std::string state;      // the procedure's name for the state
  std::string detail;     // a JSON document, stored as given
  Micros updated_at = 0;  // the caller's clock when it computed the state

  bool operator==(const RequestStateRow&) const = default;
};

// A reminder, escalation or alarm the station raised. At most one per (line, subject, kind), so a
// reminder is raised once, even across restarts.
struct NoticeRow {
  std::uint64_t id = 0;  // assigned by the store, increasing; ignored by add_notice
  LineId line;
  std::string subject;   // the request, message or entry id it is about; may be empty
  std::string kind;      // e.g. "ack-50", "response-90", "expired", "link-test-missed"
  std::string audience;  // "operators" or "principals"
  Micros at = 0;         // when it was due
  Micros raised_at = 0;  // when the station raised it
  std::string message;

  bool operator==(const NoticeRow&) const = default;
};

// The two-person rule (design.md §2): a decision an operator drafted, waiting for a principal to
// confirm it (then its entry is authored) or for someone to discard it.
struct DecisionDraft {
  std::uint64_t id = 0;  // assigned by the store, increasing; ignored by add_decision_draft
  LineId line;
  std::string request;  // the request decided on
  std::string step;     // "accept", "decline", "counter" or "refer"
  Bytes body;           // canonical CBOR of the entry body to author once confirmed
  std::string drafted_by;
  Micros drafted_at = 0;
  // "pending", then "confirmed" or "discarded" (settle_decision_draft). The fields below it are
  // set when it is settled, and ignored by add_decision_draft.
  std::string status = "pending";
  std::string decided_by;            // empty while pending
  std::optional<Micros> decided_at;  // none while pending
  std::optional<std::uint64_t> seq;  // the authored entry's seq, when it was given
  std::string note;                  // e.g. why it was discarded; may be empty

  bool operator==(const DecisionDraft&) const = default;
};

// How a write that does not block its caller reports its end. It runs on the store's writer thread
// once the write is durable (or failed), in submission order with every other write; it must be
// quick and must not call the store: hand the result to the caller's own thread (e.g. post it to
// an io_context). It may also run before the submitting call returns, when the store refuses the
// write at once.
using WriteDone = std::function<void(Result<void>)>;

class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // Registers a line. Idempotent when identical; kConflict if the id exists with other parties.
  [[nodiscard]] virtual Result<void> add_line(const LineParties& line) = 0;
  [[nodiscard]] virtual Result<std::vector<LineParties>> lines() = 0;

  // The head of `author`'s chain on `line` (seq 0 and zero hash when empty). kNotFound for an
  // unknown line.
  [[nodiscard]] virtual Result<ChainHead> chain_head(const LineId& line,
                                                     const PublicKey& author) = 0;

  // Appends entries, possibly of several chains, in order. Durable on success; all-or-nothing.
  [[nodiscard]] virtual Result<void> append_entries(std::vector<SignedEntry> entries) = 0;
  // Same, without waiting: the future resolves when the batch is durable (or failed). Batches
  // submitted from one thread are applied in submission order.
  virtual std::future<Result<void>> append_entries_async(std::vector<SignedEntry> entries) = 0;
  // Same, reporting through `done` (see WriteDone).
  virtual void append_entries_then(std::vector<SignedEntry> entries, WriteDone done) = 0;

  // Entries of one chain with seq in [from_seq, from_seq + limit), ascending.
  [[nodiscard]] virtual Result<std::vector<SignedEntry>> read_entries(const LineId& line,
                                                                      const PublicKey& author,
                                                                      std::uint64_t from_seq,
                                                                      std::size_t limit) = 0;

  // Receipts and checkpoints, signed by either party. Stored in arrival order; an identical item
  // stored twice is kept once. A receipt is never stored without the entries it covers: one for
  // a seq beyond the stored head of its chain is refused (kBrokenChain), in both add_receipt and
  // add_receipt_then, so a receipt written behind those entries' commit fails if that commit did.
  [[nodiscard]] virtual Result<void> add_receipt(const SignedReceipt& receipt) = 0;
  // Appends `entries` exactly as `append_entries` does and stores `receipt` in the same
  // transaction: one commit for "stored, and acknowledged", so a receipt is never durable without
  // the entries it covers (and a receiving station pays one fsync per batch, not two).
  [[nodiscard]] virtual Result<void> append_entries_with_receipt(std::vector<SignedEntry> entries,
                                                                 const SignedReceipt& receipt) = 0;
  // The same two writes, reporting through `done` (see WriteDone) instead of blocking.
  virtual void add_receipt_then(SignedReceipt receipt, WriteDone done) = 0;
  virtual void append_entries_with_receipt_then(std::vector<SignedEntry> entries,
                                                SignedReceipt receipt, WriteDone done) = 0;
  [[nodiscard]] virtual Result<std::vector<SignedReceipt>> receipts(const LineId& line) = 0;
  [[nodiscard]] virtual Result<void> add_checkpoint(const SignedCheckpoint& checkpoint) = 0;
  // The same write, reporting through `done` (see WriteDone) instead of blocking.
  virtual void add_checkpoint_then(SignedCheckpoint checkpoint, WriteDone done) = 0;
  [[nodiscard]] virtual Result<std::vector<SignedCheckpoint>> checkpoints(const LineId& line) = 0;

  [[nodiscard]] virtual Result<void> add_evidence(const Evidence& evidence) = 0;
  [[nodiscard]] virtual Result<std::vector<Evidence>> evidence(const LineId& line) = 0;

  // --- outbox ---

  // Queues a draft on `line`; durable on success. Returns its id, greater than that of every draft
  // queued before on any line. kNotFound for an unknown line; kInvalidArgument if `body` is not
  // one canonical CBOR item. The kind is checked by the record layer when the draft is signed.
  [[nodiscard]] virtual Result<std::uint64_t> enqueue_draft(const LineId& line,
                                                            Precedence precedence, std::string kind,
                                                            Bytes body) = 0;
  // Same, reporting the id (or the error) through `done`, on the terms of WriteDone.
  virtual void enqueue_draft_then(const LineId& line, Precedence precedence, std::string kind,
                                  Bytes body, std::function<void(Result<std::uint64_t>)> done) = 0;

  // Up to `limit` drafts of `line` in send order: precedence (FLASH first), then id (oldest
  // first). kNotFound for an unknown line.
  [[nodiscard]] virtual Result<std::vector<OutboxDraft>> next_drafts(const LineId& line,
                                                                     std::size_t limit) = 0;

  // Appends `entries` exactly as `append_entries` does (chain rule, all-or-nothing) and, in the
  // same transaction, removes the drafts `draft_ids` from the outbox. Nothing is written unless
  // all of it is:
  // - kNotFound if a draft is no longer in the outbox: it was authored already (e.g. by a call
  //   that committed just before a crash, and is now retried), so authoring it again would send
  //   it twice;
  // - kBrokenChain if an entry does not extend its stored chain (the drafts stay queued);
  // - kInvalidArgument if `draft_ids` repeats an id, or names a draft of a line on which
  //   `entries` appends nothing.
  // The store does not compare the entries' kinds and bodies with the drafts': the caller signed
  // them from next_drafts.
  [[nodiscard]] virtual Result<void> append_entries_from_drafts(
      std::vector<SignedEntry> entries, std::vector<std::uint64_t> draft_ids) = 0;
  // Same, without waiting, ordered with append_entries_async (see there).
  virtual std::future<Result<void>> append_entries_from_drafts_async(
      std::vector<SignedEntry> entries, std::vector<std::uint64_t> draft_ids) = 0;
  // Same, reporting through `done` (see WriteDone).
  virtual void append_entries_from_drafts_then(std::vector<SignedEntry> entries,
                                               std::vector<std::uint64_t> draft_ids,
                                               WriteDone done) = 0;

  // How many drafts of `line` are queued at `precedence`, or at all precedences when nullopt.
  // kNotFound for an unknown line.
  [[nodiscard]] virtual Result<std::size_t> count_drafts(const LineId& line,
                                                         std::optional<Precedence> precedence) = 0;

  // --- users ---

  // Adds `user`, enabled, stamped with the store's clock (its `disabled`, `created_at` and
  // `disabled_at` are ignored); durable on success. kConflict if a user of that name exists,
  // disabled or not: a name is never reused.
  [[nodiscard]] virtual Result<void> add_user(const UserRecord& user) = 0;
  // Every user, disabled ones included, ordered by name.
  [[nodiscard]] virtual Result<std::vector<UserRecord>> users() = 0;
  // The user named `name`; kNotFound, naming it, if there is none.
  [[nodiscard]] virtual Result<UserRecord> user(const std::string& name) = 0;
  // Disables the user named `name`: it stays listed, but may no longer act. Idempotent: disabling
  // a disabled user succeeds and keeps the time it was first disabled (a script that disables
  // someone can be run twice). kNotFound, naming it, if there is no such user.
  [[nodiscard]] virtual Result<void> disable_user(const std::string& name) = 0;
  // Enrols (a secret) or removes (nullopt) the user's second factor; the last used step is reset.
  // Durable on success. kNotFound if there is no such user.
  [[nodiscard]] virtual Result<void> set_user_totp(const std::string& name,
                                                   std::optional<std::string> secret) = 0;
  // Records that the code of time step `step` was used by `name`, if `step` is later than the last
  // one used: true. False, writing nothing, for a step already used or earlier (a replayed code).
  // Decided inside the write, so two logins with one code cannot both succeed.
  [[nodiscard]] virtual Result<bool> use_totp_step(const std::string& name, std::int64_t step) = 0;

  // --- audit trail ---

  // Appends `row` (its id is ignored); durable on success. Returns its id.
  [[nodiscard]] virtual Result<std::uint64_t> add_audit(const AuditRow& row) = 0;
  // Same, without waiting (see WriteDone): for callers that must not block on the disk.
  virtual void add_audit_then(AuditRow row, WriteDone done) = 0;
  // A call's row in two writes, so that the call's answer waits for no commit of its own:
  // begin_audit writes who, what, when and from where (outcome 0) before the call acts. The store
  // commits writes in the order they were submitted, so the row is durable no later than the
  // call's own writes (the SQLite store commits the row with the next write, so that it costs the
  // call no fsync of its own); finish_audit then fills in the outcome. A row the station stopped
  // before finishing keeps outcome 0: the call was made, its answer is unknown. Both report through
  // `done` like add_audit_then; a finish whose begin failed fails too. The outcome, too, rides
  // with the next write (so that a stream of calls pays one fsync per call, not two), unless
  // `answer_waits`: the call wrote nothing, and its answer waits for the row to be durable.
  using AuditTicket = std::shared_ptr<std::optional<std::uint64_t>>;  // the row's id, once written
  [[nodiscard]] virtual AuditTicket begin_audit(AuditRow row, WriteDone done) = 0;
  virtual void finish_audit(const AuditTicket& ticket, int outcome, std::string detail,
                            bool answer_waits, WriteDone done) = 0;
  // Calls `done` once every write submitted before it has ended: a reader that waits for it
  // sees them (e.g. the outcome of a call answered a moment ago).
  virtual void after_writes(WriteDone done) = 0;
  // Up to `limit` rows with an id greater than `after_id`, ordered by id.
  [[nodiscard]] virtual Result<std::vector<AuditRow>> audit(std::uint64_t after_id,
                                                            std::size_t limit) = 0;

  // --- procedure state (local, not part of the record) ---
  // Every call below that names a line fails with kNotFound for a line that was never added.

  // Replaces all request states of `line` by `rows`, in one transaction; durable on success.
  // kInvalidArgument if two rows name the same request.
  [[nodiscard]] virtual Result<void> replace_request_states(
      const LineId& line, const std::vector<RequestStateRow>& rows) = 0;
  // The request states of `line`, ordered by request.
  [[nodiscard]] virtual Result<std::vector<RequestStateRow>> request_states(const LineId& line) = 0;

  // Adds `notice` (its `id` is ignored); durable on success. Returns false, and writes nothing, if
  // a notice with the same line, subject and kind exists.
  [[nodiscard]] virtual Result<bool> add_notice(const NoticeRow& notice) = 0;
  // Up to `limit` notices of `line` with an id greater than `after_id`, ordered by id.
  [[nodiscard]] virtual Result<std::vector<NoticeRow>> notices(const LineId& line,
                                                               std::uint64_t after_id,
                                                               std::size_t limit) = 0;
  [[nodiscard]] virtual Result<bool> has_notice(const LineId& line, const std::string& subject,
                                                const std::string& kind) = 0;

  // Adds `draft`, pending (its id and settlement fields are ignored); durable on success. Returns
  // its id, greater than every draft's before. kInvalidArgument if `body` is not one canonical
  // CBOR item (it could never be authored).
  [[nodiscard]] virtual Result<std::uint64_t> add_decision_draft(const DecisionDraft& draft) = 0;
  // The draft `id`; kNotFound, naming it, if there is none.
  [[nodiscard]] virtual Result<DecisionDraft> decision_draft(std::uint64_t id) = 0;
  // The drafts of `line` (only the pending ones if `pending_only`), ordered by id.
  [[nodiscard]] virtual Result<std::vector<DecisionDraft>> decision_drafts(const LineId& line,
                                                                           bool pending_only) = 0;
  // Settles the pending draft `id`: `status` is "confirmed" or "discarded", `seq` the authored
  // entry's (only when confirmed), `note` may be empty. Durable on success. kInvalidArgument for
  // another status, an empty `decided_by` or a seq on a discarded draft; kNotFound if there is no
  // draft `id`; kConflict ("draft N is already confirmed") if it is not pending: a draft is
  // settled once.
  [[nodiscard]] virtual Result<void> settle_decision_draft(
      std::uint64_t id, const std::string& status, const std::string& decided_by, Micros decided_at,
      std::optional<std::uint64_t> seq, const std::string& note) = 0;
};

struct SqliteOptions {
  bool read_only = false;  // for `verify`/`export` beside a running station
  // Name of a registered SQLite VFS to use instead of the default (tests inject faults this way).
  std::string vfs;
  const Clock* clock = nullptr;  // for recorded_at stamps; the system clock if null
  // How long a write that rides with the next one (an audit row begun before its call acts)
  // waits for it before it is committed alone (store/limits.h).
  std::chrono::milliseconds ride_along_delay = kRideAlongDelay;
};

// Opens (creating if absent and not read-only) the database at `path`, migrating its schema to the
// current version. Errors name the path: kCorrupt for a damaged file or one that is not a Hotline
// database, kIo for an unwritable directory, kPermission for unreadable files, kRefused for a
// database written by a newer Hotline, kNotFound when a read-only open finds no file.
[[nodiscard]] Result<std::unique_ptr<RecordStore>> open_sqlite_store(const std::string& path,
                                                                     const SqliteOptions& options);

}  // namespace hotline::store
