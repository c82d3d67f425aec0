// procedure/entry_kinds.h — the entries of the procedure (design.md §2) and their bodies.
//
// Every step of a request is an entry on the line's record, so that both stations can rebuild the
// same states from the record alone (design.md §3). This file is the one place that turns those
// entries' bodies into values and back; docs/procedure.md documents the encoding for third-party
// verifiers. Bodies are canonical CBOR maps with small unsigned keys, like every payload of the
// record (docs/record-format.md §1). Decoding is strict: a missing or ill-typed field is refused,
// naming the kind and the field.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/cbor.h"
#include "core/clock.h"
#include "core/precedence.h"
#include "core/result.h"
#include "record/types.h"

namespace hotline::procedure {

enum class RequestKind { kCall = 0, kVideo = 1, kWritten = 2 };
std::string_view request_kind_name(RequestKind kind);  // "call", "video", "written"
std::optional<RequestKind> parse_request_kind(std::string_view name);

// A proposed time, µs since the epoch, start < end.
struct TimeWindow {
  Micros start = 0;
  Micros end = 0;
  bool operator==(const TimeWindow&) const = default;
};

// The entry a step is about: always the request that opened the exchange (its thread).
struct EntryRef {
  record::PublicKey author;
  std::uint64_t seq = 0;
  auto operator<=>(const EntryRef&) const = default;
};

// What a request, or a counter-proposal, asks for.
struct Proposal {
  RequestKind kind = RequestKind::kCall;
  std::string topic;      // non-empty
  std::string officials;  // named officials; may be empty
  std::vector<TimeWindow> windows;
  std::string level;  // the level asked for (one of the line's terms' levels); may be empty
  bool operator==(const Proposal&) const = default;
};

// Who took a step, by user name at their station (every procedure entry may carry it): the person
// who acted, and, where the line has the two-person rule, the principal who confirmed it.
struct Signatories {
  std::string by;
  std::string confirmed_by;
  bool operator==(const Signatories&) const = default;
};

// Kind "request": opens an exchange. Both deadlines are absolute, set by the requester within the
// line's terms, so that both stations read the same deadlines from the record.
struct RequestBody {
  Proposal proposal;
  Precedence precedence = Precedence::kRoutine;
  Micros ack_deadline = 0;
  Micros response_deadline = 0;
  // An immediate call (design.md §2, "immediate channel"): to be taken now, not scheduled.
  bool immediate = false;
};
// Kind "ack": "we have it and will check".
struct AckBody {
  EntryRef request;
};
// Kind "accept", optionally naming the window taken.
struct AcceptBody {
  EntryRef request;
  std::optional<TimeWindow> window;
};
// Kind "decline": the reason is required.
struct DeclineBody {
  EntryRef request;
  std::string reason;
};
// Kind "counter": another time, level or kind; itself answerable by its own deadline.
struct CounterBody {
  EntryRef request;
  Proposal proposal;
  std::string reason;
  Micros response_deadline = 0;
};
// Kind "refer": the decision passes to another official; the deadline stands.
struct ReferBody {
  EntryRef request;
  std::string to;
};
// Kind "withdraw": by the requester, before a decision.
struct WithdrawBody {
  EntryRef request;
  std::string reason;
};
// Kind "schedule": an accepted request gets its time.
struct ScheduleBody {
  EntryRef request;
  TimeWindow window;
};
// Kind "conclude": the session took place (or will not); an optional summary.
struct ConcludeBody {
  EntryRef request;
  std::string summary;
};

// Kind "begin": the session starts (state "in session").
struct BeginBody {
  EntryRef request;
};
// Kind "delivered": authored by the responder's station, not a person, as soon as it holds the
// request, so that the time of delivery is on both chains alike (the report needs it; receipts
// prove it too but each station holds a different set of them).
struct DeliveredBody {
  EntryRef request;
};
// Kind "expired": authored by the station of the party a proposal awaited, not a person, once
// the proposal's response deadline has passed with no decision on its own chain. It turns the
// silence into a signed fact that both records hold alike; a request also shows expired without
// it (docs/procedure.md §4), but the entry is what a reader of either record finds.
struct ExpiredBody {
  EntryRef request;
  Micros deadline = 0;  // the response deadline that passed
};

// The steps' bodies follow RequestBody in the order of Step (request_book.h); DeliveredBody and
// ExpiredBody, which no person authors, come last.
using ProcedureBody =
    std::variant<RequestBody, AckBody, AcceptBody, DeclineBody, CounterBody, ReferBody,
                 WithdrawBody, ScheduleBody, ConcludeBody, BeginBody, DeliveredBody, ExpiredBody>;

// The entry kind of a body ("request", "ack", …).
std::string_view kind_of(const ProcedureBody& body);
// Whether entries of `kind` belong to the procedure.
bool is_procedure_kind(std::string_view kind);

// The canonical CBOR body; the caller has checked the values (see check_body).
cbor::Value encode_body(const ProcedureBody& body, const Signatories& signatories = {});
// Who took the step (fields 20 and 21 of any procedure body); empty where not recorded.
Signatories decode_signatories(const cbor::Value& body);
// Decodes the body of an entry of a procedure kind. kMalformed names the kind and field.
Result<ProcedureBody> decode_body(std::string_view kind, const cbor::Value& body);
// The rules a body must meet whatever the state: non-empty topic and reasons where required,
// windows with start < end, deadlines after `authored_at`. kInvalidArgument says which.
Result<void> check_body(const ProcedureBody& body, Micros authored_at);

// The step's reference to its request (every kind but "request" has one).
std::optional<EntryRef> request_of(const ProcedureBody& body);

// How people name an entry (a request, a message): the first 8 hex digits of its author's key and
// its seq, e.g. "3fa9c2d1-12". Both stations show the same ids.
std::string entry_id_text(const EntryRef& ref);
// The entry of `local`'s or `peer`'s chain that `text` names; kInvalidArgument if it is not of
// that form or names neither party.
Result<EntryRef> parse_entry_id(std::string_view text, const record::PublicKey& local,
                                const record::PublicKey& peer);

// --- the other entries a line carries (docs/record-format.md §3) ---

// Kind "message": the immediate channel. `id` makes every message's body unique (so a station
// recovering its own chain can tell which queued drafts it had already authored). A FLASH message
// demands an acknowledgement (an "ack" entry naming it) by `ack_deadline`.
struct MessageBody {
  std::string text;
  Precedence precedence = Precedence::kRoutine;
  Bytes id;
  std::string from;  // the user who sent it; empty: the station's owner
  std::optional<Micros> ack_deadline;
};
cbor::Value encode_message(const MessageBody& message);
Result<MessageBody> decode_message(const cbor::Value& body);

// Kind "translation": an interpreter's translation of another entry (of either chain).
struct TranslationBody {
  EntryRef entry;
  std::string language;  // BCP 47, e.g. "en"
  std::string text;
  std::string by;
};
cbor::Value encode_translation(const TranslationBody& translation);
Result<TranslationBody> decode_translation(const cbor::Value& body);

// Kind "test": a line's formal test (design.md §2), sent on the terms' interval and answered by
// the peer station with a "test-reply". Each test carries the round trip of the one before it, so
// the measurements are on the record.
struct LinkTestBody {
  std::uint64_t number = 0;  // 1, 2, … per station
  std::optional<Micros> previous_round_trip;
};
struct LinkTestReplyBody {
  EntryRef test;
};
cbor::Value encode_link_test(const LinkTestBody& test);
Result<LinkTestBody> decode_link_test(const cbor::Value& body);
cbor::Value encode_link_test_reply(const LinkTestReplyBody& reply);
Result<LinkTestReplyBody> decode_link_test_reply(const cbor::Value& body);

}  // namespace hotline::procedure
