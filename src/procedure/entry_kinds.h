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
  std::string officials;  // named officials or levels; may be empty
  std::vector<TimeWindow> windows;
  bool operator==(const Proposal&) const = default;
};

// Kind "request": opens an exchange. Both deadlines are absolute, set by the requester within the
// line's terms, so that both stations read the same deadlines from the record.
struct RequestBody {
  Proposal proposal;
  Precedence precedence = Precedence::kRoutine;
  Micros ack_deadline = 0;
  Micros response_deadline = 0;
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

using ProcedureBody = std::variant<RequestBody, AckBody, AcceptBody, DeclineBody, CounterBody,
                                   ReferBody, WithdrawBody, ScheduleBody, ConcludeBody>;

// The entry kind of a body ("request", "ack", …).
std::string_view kind_of(const ProcedureBody& body);
// Whether entries of `kind` belong to the procedure.
bool is_procedure_kind(std::string_view kind);

// The canonical CBOR body; the caller has checked the values (see check_body).
cbor::Value encode_body(const ProcedureBody& body);
// Decodes the body of an entry of a procedure kind. kMalformed names the kind and field.
Result<ProcedureBody> decode_body(std::string_view kind, const cbor::Value& body);
// The rules a body must meet whatever the state: non-empty topic and reasons where required,
// windows with start < end, deadlines after `authored_at`. kInvalidArgument says which.
Result<void> check_body(const ProcedureBody& body, Micros authored_at);

// The step's reference to its request (every kind but "request" has one).
std::optional<EntryRef> request_of(const ProcedureBody& body);

}  // namespace hotline::procedure
