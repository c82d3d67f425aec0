// procedure/request_book.h — the state of every request of a line, computed from its record.
//
// The record is the source of truth (design.md §3): a RequestBook is a projection of a line's two
// chains, rebuilt from them at start and kept current by feeding it each entry as it is stored.
// Both stations hold the same record, so once they are in sync they compute the same states.
//
// A request opens an exchange (its thread, named by the request entry); every later step refers to
// it. Who must answer flips with each counter-proposal, and each answerable proposal carries its
// own response deadline. Expiry is decided by the record, not by one clock (design.md §2): a
// decision counts if its author time is before the deadline; the side that must answer knows it
// authored none; the other side knows it only once it holds the answering side's chain past the
// deadline, and until then shows "expired, unconfirmed".
//
// The same rules say what a person may do next (`check`), so that a station refuses an illegal
// step before authoring it, with the reason (exit 4 in the CLI).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "procedure/entry_kinds.h"
#include "record/entry.h"

namespace hotline::procedure {

enum class RequestState {
  kSent,          // authored; not yet known to be held by the peer
  kDelivered,     // the peer station holds it (its signed receipt says so)
  kAcknowledged,  // the peer's operator said "we have it and will check"
  kReferred,      // passed to another official; the deadline stands
  kCountered,     // answered with another proposal, which now awaits an answer
  kAccepted,
  kDeclined,
  kWithdrawn,
  kScheduled,
  kInSession,  // the session began (a "begin" entry)
  kConcluded,
  kExpired,             // no decision was authored before the response deadline
  kExpiredUnconfirmed,  // the deadline has passed here, but the answering side's chain is not
                        // yet held past it: a decision authored in time may still arrive
};
std::string_view state_name(RequestState state);  // "sent", …, "expired-unconfirmed"
bool is_final(RequestState state);

// What a person may do to a request.
enum class Step {
  kAck,
  kAccept,
  kDecline,
  kCounter,
  kRefer,
  kWithdraw,
  kSchedule,
  kConclude,
  kBegin
};
// The step named by its entry kind ("ack", …, "begin").
std::optional<Step> parse_step(std::string_view name);
// Whether the step is a decision (accept, decline, counter, refer): made for a principal, refused
// after the response deadline, subject to the two-person rule.
bool is_decision(Step step);
// Whether a decision is still pending in `state`: sent, delivered, acknowledged, referred or
// countered (docs/procedure.md §1).
bool undecided(RequestState state);
std::string_view step_name(Step step);  // the entry kind it authors

struct HistoryItem {
  std::string kind;  // the entry kind
  EntryRef entry;    // which entry
  Micros time = 0;   // its author time
  Signatories signatories;
};

// A translation attached to an entry (kind "translation").
struct Translation {
  EntryRef entry;  // the translation entry itself
  Micros time = 0;
  std::string language;
  std::string text;
  std::string by;
};

// A message of the immediate channel that demands an acknowledgement (a FLASH message).
struct TrackedMessage {
  EntryRef id;
  Micros sent_at = 0;
  MessageBody body;
  std::optional<HistoryItem> ack;  // the peer's "ack" entry, once in the record
  bool late = false;               // acknowledged at or after the deadline
};

struct Request {
  EntryRef id;  // the request entry
  record::PublicKey requester;
  record::PublicKey responder;
  Precedence precedence = Precedence::kRoutine;
  Proposal proposal;       // as last proposed (a counter replaces it)
  bool immediate = false;  // an immediate call request
  Micros requested_at = 0;
  std::optional<Micros> delivered_at;  // the responder station's "delivered" entry's time
  Micros proposed_at = 0;  // when the current proposal was made (the request, or a counter)
  Micros ack_deadline = 0;
  Micros response_deadline = 0;              // of the proposal awaiting an answer
  record::PublicKey awaiting;                // who must answer the current proposal
  RequestState state = RequestState::kSent;  // from the record alone; see RequestBook::view
  bool acknowledged = false;
  std::optional<TimeWindow> scheduled;
  std::string reason;       // of a decline or withdrawal
  std::string referred_to;  // of a referral
  std::vector<HistoryItem> history;
  // Steps in the record that the rules do not allow (e.g. a decision authored after the deadline
  // by a misbehaving peer): kept, shown, and without effect on the state.
  std::vector<std::string> anomalies;
};

// What a station knows beyond the request's entries when it shows a state.
struct SyncFacts {
  Micros now = 0;                   // the station's clock
  std::uint64_t own_receipted = 0;  // own seq covered by the peer's stored receipts
  // Up to when this station holds the peer's chain: the author time of the latest peer entry held,
  // or of a peer checkpoint whose own head this station holds, whichever is later. Past a
  // deadline, it proves the peer authored no decision before it.
  Micros peer_held_until = 0;
};

class RequestBook {
 public:
  RequestBook(record::PublicKey local, record::PublicKey peer) : local_(local), peer_(peer) {}

  // Builds the book from both chains, merged in causal order: an entry is applied only after the
  // entries of the other chain it cross-links. Ties go by author time, then key, so that both
  // stations apply the same entries in the same order. The chains may leave out entries that do
  // not matter to the procedure (kinds other than the procedure's, "message" and "translation"):
  // each chain must be in seq order, and the order of what remains does not change.
  static Result<RequestBook> project(record::PublicKey local, record::PublicKey peer,
                                     const std::vector<record::SignedEntry>& own_chain,
                                     const std::vector<record::SignedEntry>& peer_chain);

  // Applies one entry of either chain (in causal order; entries of other kinds are ignored). An
  // entry that breaks the rules (a step the state does not allow, a body that does not decode, a
  // step for an unknown request) is not applied but kept as an anomaly: the record holds it
  // signed, and a projection must not stop at it.
  void apply(const record::SignedEntry& entry);

  const std::map<EntryRef, Request>& requests() const { return requests_; }
  // FLASH messages (those that demand an acknowledgement), by entry.
  const std::map<EntryRef, TrackedMessage>& messages() const { return messages_; }
  // Translations, by the entry they translate.
  const std::map<EntryRef, std::vector<Translation>>& translations() const { return translations_; }
  // Anomalies that belong to no request (undecodable bodies, unknown references).
  const std::vector<std::string>& anomalies() const { return anomalies_; }
  const Request* find(const EntryRef& id) const;

  // The state to show now: the record's state, with delivery and expiry decided from `facts`.
  RequestState view(const Request& request, const SyncFacts& facts) const;

  // Whether `actor` may take `step` on the request at `now` (its clock), and if not, why:
  // kNotFound for an unknown request, kRefused for a step the state, the actor's side or the
  // deadline does not allow.
  Result<void> check(const EntryRef& id, Step step, const record::PublicKey& actor,
                     Micros now) const;

 private:
  record::PublicKey local_;
  record::PublicKey peer_;
  void apply_message(const record::SignedEntry& entry, const std::string& where);
  void apply_translation(const record::SignedEntry& entry, const std::string& where);
  bool ack_message(const record::SignedEntry& entry, const EntryRef& ref, const std::string& where);

  std::map<EntryRef, Request> requests_;
  std::map<EntryRef, TrackedMessage> messages_;
  std::map<EntryRef, std::vector<Translation>> translations_;
  std::vector<std::string> anomalies_;
};

// When to remind and escalate (design.md §2): at 50 % and 90 % of the time to the acknowledgement
// deadline (while unacknowledged) and of the time to the response deadline (while undecided), and
// the expiry itself. Pure: the station's scheduler fires them.
struct Reminder {
  enum class What { kAck50, kAck90, kResponse50, kResponse90, kExpiry };
  What what;
  Micros at = 0;
};
std::vector<Reminder> reminders(const Request& request);

}  // namespace hotline::procedure
