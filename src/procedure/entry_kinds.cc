#include "procedure/entry_kinds.h"

#include <array>

namespace hotline::procedure {

namespace {

using cbor::Value;

// In the order of ProcedureBody's alternatives.
constexpr std::array<std::string_view, 12> kKinds = {"request",  "ack",   "accept",    "decline",
                                                     "counter",  "refer", "withdraw",  "schedule",
                                                     "conclude", "begin", "delivered", "expired"};
static_assert(kKinds.size() == std::variant_size_v<ProcedureBody>);

// Field numbers shared by every step that refers to its request.
constexpr std::uint64_t kRefAuthor = 1;
constexpr std::uint64_t kRefSeq = 2;
// Field numbers every procedure body may carry (Signatories).
constexpr std::uint64_t kBy = 20;
constexpr std::uint64_t kConfirmedBy = 21;
// Where a proposal's level goes, and a request's immediate flag.
constexpr std::uint64_t kRequestImmediate = 8;
constexpr std::uint64_t kRequestLevel = 9;
constexpr std::uint64_t kCounterLevel = 9;

Value time_value(Micros t) {
  return Value::uint(static_cast<std::uint64_t>(std::max<Micros>(t, 0)));
}

Value window_value(const TimeWindow& w) {
  return Value::array({time_value(w.start), time_value(w.end)});
}

Value windows_value(const std::vector<TimeWindow>& windows) {
  cbor::Array out;
  for (const TimeWindow& w : windows) {
    out.push_back(window_value(w));
  }
  return Value::array(std::move(out));
}

void put_ref(cbor::Map& map, const EntryRef& ref) {
  map.emplace_back(Value::uint(kRefAuthor), Value::bytes(ref.author.view()));
  map.emplace_back(Value::uint(kRefSeq), Value::uint(ref.seq));
}

void put_text(cbor::Map& map, std::uint64_t key, const std::string& text) {
  if (!text.empty()) {
    map.emplace_back(Value::uint(key), Value::text(text));
  }
}

using bytes_or_none = std::optional<Bytes>;

// Reads one body, naming the kind and field in every error.
class Reader {
 public:
  Reader(std::string_view kind, const Value& body) : kind_(kind), body_(body) {}

  Result<void> is_map() const {
    if (!body_.is_map()) {
      return fail("the body", "must be a map");
    }
    return success();
  }
  Result<const Value*> field(std::uint64_t key, const char* name, bool required) const {
    const Value* v = body_.find(key);
    if (v == nullptr && required) {
      return fail(name, "is missing");
    }
    return v;
  }
  Result<std::uint64_t> uint(std::uint64_t key, const char* name) const {
    HOTLINE_ASSIGN(const Value* v, field(key, name, true));
    if (!v->is_uint()) {
      return fail(name, "must be an unsigned integer");
    }
    return v->as_uint();
  }
  Result<std::string> text(std::uint64_t key, const char* name, bool required) const {
    HOTLINE_ASSIGN(const Value* v, field(key, name, required));
    if (v == nullptr) {
      return std::string();
    }
    if (!v->is_text()) {
      return fail(name, "must be text");
    }
    return v->as_text();
  }
  Result<TimeWindow> window_of(const Value& v, const char* name) const {
    if (!v.is_array() || v.as_array().size() != 2 || !v.as_array()[0].is_uint() ||
        !v.as_array()[1].is_uint()) {
      return fail(name, "must be [start, end] in µs");
    }
    return TimeWindow{static_cast<Micros>(v.as_array()[0].as_uint()),
                      static_cast<Micros>(v.as_array()[1].as_uint())};
  }
  Result<std::optional<TimeWindow>> window(std::uint64_t key, const char* name,
                                           bool required) const {
    HOTLINE_ASSIGN(const Value* v, field(key, name, required));
    if (v == nullptr) {
      return std::optional<TimeWindow>();
    }
    HOTLINE_ASSIGN(TimeWindow w, window_of(*v, name));
    return std::optional<TimeWindow>(w);
  }
  Result<std::vector<TimeWindow>> windows(std::uint64_t key, const char* name) const {
    HOTLINE_ASSIGN(const Value* v, field(key, name, false));
    std::vector<TimeWindow> out;
    if (v == nullptr) {
      return out;
    }
    if (!v->is_array()) {
      return fail(name, "must be an array of [start, end]");
    }
    for (const Value& item : v->as_array()) {
      HOTLINE_ASSIGN(TimeWindow w, window_of(item, name));
      out.push_back(w);
    }
    return out;
  }
  Result<EntryRef> ref(const char* author_name = "request author",
                       const char* seq_name = "request seq") const {
    HOTLINE_ASSIGN(const Value* author, field(kRefAuthor, author_name, true));
    if (!author->is_bytes()) {
      return fail(author_name, "must be 32 bytes");
    }
    auto key = record::PublicKey::from_bytes(author->as_bytes());
    if (!key.ok()) {
      return fail(author_name, "must be 32 bytes");
    }
    HOTLINE_ASSIGN(std::uint64_t seq, uint(kRefSeq, seq_name));
    return EntryRef{key.value(), seq};
  }
  Result<RequestKind> request_kind(std::uint64_t key) const {
    HOTLINE_ASSIGN(std::uint64_t k, uint(key, "kind"));
    if (k > 2) {
      return fail("kind", "must be 0 (call), 1 (video) or 2 (written)");
    }
    return static_cast<RequestKind>(k);
  }
  Result<Proposal> proposal(std::uint64_t kind_key, std::uint64_t level_key) const {
    Proposal p;
    HOTLINE_ASSIGN(p.kind, request_kind(kind_key));
    HOTLINE_ASSIGN(p.topic, text(kind_key + 1, "topic", true));
    HOTLINE_ASSIGN(p.officials, text(kind_key + 2, "officials", false));
    HOTLINE_ASSIGN(p.windows, windows(kind_key + 3, "windows"));
    HOTLINE_ASSIGN(p.level, text(level_key, "level", false));
    return p;
  }
  Result<bytes_or_none> bytes(std::uint64_t key, const char* name, bool required) const {
    HOTLINE_ASSIGN(const Value* v, field(key, name, required));
    if (v == nullptr) {
      return bytes_or_none();
    }
    if (!v->is_bytes()) {
      return fail(name, "must be bytes");
    }
    return bytes_or_none(v->as_bytes());
  }

  Error fail(const char* name, const char* what) const {
    return make_error(Errc::kMalformed,
                      "a '" + std::string(kind_) + "' entry's " + name + " " + what);
  }

 private:
  std::string_view kind_;
  const Value& body_;
};

// The proposal's fields but its level, which comes later in the body (see encode_body).
void put_proposal(cbor::Map& map, std::uint64_t kind_key, const Proposal& p) {
  map.emplace_back(Value::uint(kind_key), Value::uint(static_cast<std::uint64_t>(p.kind)));
  map.emplace_back(Value::uint(kind_key + 1), Value::text(p.topic));
  put_text(map, kind_key + 2, p.officials);
  if (!p.windows.empty()) {
    map.emplace_back(Value::uint(kind_key + 3), windows_value(p.windows));
  }
}

void put_signatories(cbor::Map& map, const Signatories& s) {
  put_text(map, kBy, s.by);
  put_text(map, kConfirmedBy, s.confirmed_by);
}

Result<void> invalid(std::string_view kind, const std::string& what) {
  return make_error(Errc::kInvalidArgument, "a '" + std::string(kind) + "' " + what);
}

Result<void> check_windows(std::string_view kind, const std::vector<TimeWindow>& windows) {
  for (const TimeWindow& w : windows) {
    if (w.start >= w.end) {
      return invalid(kind, "has a time window that does not end after it starts");
    }
  }
  return success();
}

}  // namespace

std::string_view request_kind_name(RequestKind kind) {
  switch (kind) {
    case RequestKind::kCall:
      return "call";
    case RequestKind::kVideo:
      return "video";
    case RequestKind::kWritten:
      return "written";
  }
  return "unknown";
}

std::optional<RequestKind> parse_request_kind(std::string_view name) {
  for (RequestKind k : {RequestKind::kCall, RequestKind::kVideo, RequestKind::kWritten}) {
    if (request_kind_name(k) == name) {
      return k;
    }
  }
  return std::nullopt;
}

std::string_view kind_of(const ProcedureBody& body) { return kKinds[body.index()]; }

bool is_procedure_kind(std::string_view kind) {
  for (std::string_view k : kKinds) {
    if (k == kind) {
      return true;
    }
  }
  return false;
}

std::optional<EntryRef> request_of(const ProcedureBody& body) {
  return std::visit(
      [](const auto& b) -> std::optional<EntryRef> {
        if constexpr (std::is_same_v<std::decay_t<decltype(b)>, RequestBody>) {
          return std::nullopt;
        } else {
          return b.request;
        }
      },
      body);
}

// Field numbers per kind (docs/procedure.md §2):
//   request:  1 kind, 2 topic, 3 officials, 4 windows, 5 precedence, 6 ack deadline,
//             7 response deadline, 8 immediate (1), 9 level
//   others:   1 request author, 2 request seq, then
//   accept:   3 window            decline:  3 reason        refer:    3 to
//   withdraw: 3 reason            schedule: 3 window        conclude: 3 summary
//   counter:  3 reason, 4 kind, 5 topic, 6 officials, 7 windows, 8 response deadline, 9 level
//   expired:  3 the response deadline that passed
//   begin, delivered: nothing more
//   every kind: 20 by, 21 confirmed by (Signatories)
cbor::Value encode_body(const ProcedureBody& body, const Signatories& signatories) {
  cbor::Map map;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RequestBody>) {
          put_proposal(map, 1, b.proposal);
          map.emplace_back(Value::uint(5), Value::uint(static_cast<std::uint64_t>(b.precedence)));
          map.emplace_back(Value::uint(6), time_value(b.ack_deadline));
          map.emplace_back(Value::uint(7), time_value(b.response_deadline));
          if (b.immediate) {
            map.emplace_back(Value::uint(kRequestImmediate), Value::uint(1));
          }
          put_text(map, kRequestLevel, b.proposal.level);
        } else {
          put_ref(map, b.request);
          if constexpr (std::is_same_v<T, AcceptBody>) {
            if (b.window) {
              map.emplace_back(Value::uint(3), window_value(*b.window));
            }
          } else if constexpr (std::is_same_v<T, DeclineBody> || std::is_same_v<T, WithdrawBody>) {
            put_text(map, 3, b.reason);
          } else if constexpr (std::is_same_v<T, ReferBody>) {
            put_text(map, 3, b.to);
          } else if constexpr (std::is_same_v<T, ScheduleBody>) {
            map.emplace_back(Value::uint(3), window_value(b.window));
          } else if constexpr (std::is_same_v<T, ConcludeBody>) {
            put_text(map, 3, b.summary);
          } else if constexpr (std::is_same_v<T, ExpiredBody>) {
            map.emplace_back(Value::uint(3), time_value(b.deadline));
          } else if constexpr (std::is_same_v<T, CounterBody>) {
            put_text(map, 3, b.reason);
            put_proposal(map, 4, b.proposal);
            map.emplace_back(Value::uint(8), time_value(b.response_deadline));
            put_text(map, kCounterLevel, b.proposal.level);
          }
        }
      },
      body);
  put_signatories(map, signatories);
  return Value::map(std::move(map));
}

Signatories decode_signatories(const cbor::Value& body) {
  Signatories s;
  if (!body.is_map()) {
    return s;
  }
  if (const Value* by = body.find(kBy); by != nullptr && by->is_text()) {
    s.by = by->as_text();
  }
  if (const Value* confirmed = body.find(kConfirmedBy);
      confirmed != nullptr && confirmed->is_text()) {
    s.confirmed_by = confirmed->as_text();
  }
  return s;
}

Result<ProcedureBody> decode_body(std::string_view kind, const cbor::Value& body) {
  Reader r(kind, body);
  HOTLINE_TRY(r.is_map());
  if (kind == "request") {
    RequestBody b;
    HOTLINE_ASSIGN(b.proposal, r.proposal(1, kRequestLevel));
    HOTLINE_ASSIGN(std::uint64_t precedence, r.uint(5, "precedence"));
    if (precedence > 3) {
      return r.fail("precedence", "must be 0 (FLASH) to 3 (ROUTINE)");
    }
    b.precedence = static_cast<Precedence>(precedence);
    HOTLINE_ASSIGN(std::uint64_t ack, r.uint(6, "acknowledgement deadline"));
    HOTLINE_ASSIGN(std::uint64_t response, r.uint(7, "response deadline"));
    b.ack_deadline = static_cast<Micros>(ack);
    b.response_deadline = static_cast<Micros>(response);
    if (body.find(kRequestImmediate) != nullptr) {
      HOTLINE_ASSIGN(std::uint64_t immediate, r.uint(kRequestImmediate, "immediate flag"));
      if (immediate != 1) {
        return r.fail("immediate flag", "must be 1 when present");
      }
      b.immediate = true;
    }
    return ProcedureBody(std::move(b));
  }
  HOTLINE_ASSIGN(EntryRef ref, r.ref());
  if (kind == "ack") {
    return ProcedureBody(AckBody{ref});
  }
  if (kind == "accept") {
    HOTLINE_ASSIGN(auto window, r.window(3, "window", false));
    return ProcedureBody(AcceptBody{ref, window});
  }
  if (kind == "decline") {
    HOTLINE_ASSIGN(std::string reason, r.text(3, "reason", true));
    return ProcedureBody(DeclineBody{ref, std::move(reason)});
  }
  if (kind == "refer") {
    HOTLINE_ASSIGN(std::string to, r.text(3, "referred-to official", true));
    return ProcedureBody(ReferBody{ref, std::move(to)});
  }
  if (kind == "withdraw") {
    HOTLINE_ASSIGN(std::string reason, r.text(3, "reason", false));
    return ProcedureBody(WithdrawBody{ref, std::move(reason)});
  }
  if (kind == "schedule") {
    HOTLINE_ASSIGN(auto window, r.window(3, "window", true));
    return ProcedureBody(ScheduleBody{ref, *window});
  }
  if (kind == "conclude") {
    HOTLINE_ASSIGN(std::string summary, r.text(3, "summary", false));
    return ProcedureBody(ConcludeBody{ref, std::move(summary)});
  }
  if (kind == "begin") {
    return ProcedureBody(BeginBody{ref});
  }
  if (kind == "delivered") {
    return ProcedureBody(DeliveredBody{ref});
  }
  if (kind == "expired") {
    HOTLINE_ASSIGN(std::uint64_t deadline, r.uint(3, "deadline"));
    return ProcedureBody(ExpiredBody{ref, static_cast<Micros>(deadline)});
  }
  if (kind == "counter") {
    CounterBody b;
    b.request = ref;
    HOTLINE_ASSIGN(b.reason, r.text(3, "reason", false));
    HOTLINE_ASSIGN(b.proposal, r.proposal(4, kCounterLevel));
    HOTLINE_ASSIGN(std::uint64_t response, r.uint(8, "response deadline"));
    b.response_deadline = static_cast<Micros>(response);
    return ProcedureBody(std::move(b));
  }
  // Built by appending: GCC 12 at -O3 warns wrongly (-Wrestrict, GCC bug 105329) about
  // `"'" + std::string(kind)`.
  std::string message = "'";
  message.append(kind).append("' is not a procedure entry kind");
  return make_error(Errc::kMalformed, message);
}

Result<void> check_body(const ProcedureBody& body, Micros authored_at) {
  const std::string_view kind = kind_of(body);
  return std::visit(
      [&](const auto& b) -> Result<void> {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RequestBody> || std::is_same_v<T, CounterBody>) {
          if (b.proposal.topic.empty()) {
            return invalid(kind, "needs a topic");
          }
          HOTLINE_TRY(check_windows(kind, b.proposal.windows));
          if (b.response_deadline <= authored_at) {
            return invalid(kind, "needs a response deadline after its own time");
          }
          if constexpr (std::is_same_v<T, RequestBody>) {
            if (b.ack_deadline <= authored_at || b.ack_deadline > b.response_deadline) {
              return invalid(kind,
                             "needs an acknowledgement deadline after its own time and no later "
                             "than the response deadline");
            }
          }
        } else if constexpr (std::is_same_v<T, DeclineBody>) {
          if (b.reason.empty()) {
            return invalid(kind, "needs a reason");
          }
        } else if constexpr (std::is_same_v<T, ReferBody>) {
          if (b.to.empty()) {
            return invalid(kind, "needs the official it is referred to");
          }
        } else if constexpr (std::is_same_v<T, AcceptBody> || std::is_same_v<T, ScheduleBody>) {
          const std::optional<TimeWindow> w = b.window;
          if (w && w->start >= w->end) {
            return invalid(kind, "has a time window that does not end after it starts");
          }
        }
        return success();
      },
      body);
}

std::string entry_id_text(const EntryRef& ref) {
  // fingerprint() is "hl1:" and the key's hex.
  return ref.author.fingerprint().substr(4, 8) + "-" + std::to_string(ref.seq);
}

Result<EntryRef> parse_entry_id(std::string_view text, const record::PublicKey& local,
                                const record::PublicKey& peer) {
  const auto bad = [&](const std::string& why) {
    // Built by appending: GCC 12 at -O3 warns wrongly about `"'" + std::string` (-Wrestrict,
    // GCC bug 105329).
    std::string message = "'";
    message.append(text)
        .append("' is not an entry id of this line (")
        .append(why)
        .append("); ids look like 3fa9c2d1-12: the author's key prefix and the seq");
    return make_error(Errc::kInvalidArgument, message);
  };
  const std::size_t dash = text.find('-');
  if (dash != 8 || text.size() < 10 || text.size() > 29) {
    return bad("wrong form");
  }
  std::uint64_t seq = 0;
  for (char c : text.substr(dash + 1)) {
    if (c < '0' || c > '9') {
      return bad("the seq is not a number");
    }
    seq = seq * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (seq == 0) {
    return bad("seqs start at 1");
  }
  const std::string_view prefix = text.substr(0, 8);
  for (const record::PublicKey* key : {&local, &peer}) {
    if (key->fingerprint().substr(4, 8) == prefix) {
      return EntryRef{*key, seq};
    }
  }
  return bad("no party of this line has a key starting " + std::string(prefix));
}

// --- the other entries of a line ---
//   message:     1 text, 2 precedence, 3 id (16 random bytes), 4 from, 5 ack deadline
//   translation: 1 entry author, 2 entry seq, 3 language, 4 text, 20 by
//   test:        1 number, 2 previous round trip (µs)
//   test-reply:  1 test author, 2 test seq

cbor::Value encode_message(const MessageBody& m) {
  cbor::Map map;
  map.emplace_back(Value::uint(1), Value::text(m.text));
  map.emplace_back(Value::uint(2), Value::uint(static_cast<std::uint64_t>(m.precedence)));
  map.emplace_back(Value::uint(3), Value::bytes(m.id));
  put_text(map, 4, m.from);
  if (m.ack_deadline) {
    map.emplace_back(Value::uint(5), time_value(*m.ack_deadline));
  }
  return Value::map(std::move(map));
}

Result<MessageBody> decode_message(const cbor::Value& body) {
  Reader r("message", body);
  HOTLINE_TRY(r.is_map());
  MessageBody m;
  HOTLINE_ASSIGN(m.text, r.text(1, "text", true));
  HOTLINE_ASSIGN(std::uint64_t precedence, r.uint(2, "precedence"));
  if (precedence > 3) {
    return r.fail("precedence", "must be 0 (FLASH) to 3 (ROUTINE)");
  }
  m.precedence = static_cast<Precedence>(precedence);
  HOTLINE_ASSIGN(auto id, r.bytes(3, "id", false));
  m.id = id.value_or(Bytes());
  HOTLINE_ASSIGN(m.from, r.text(4, "sender", false));
  if (body.find(5) != nullptr) {
    HOTLINE_ASSIGN(std::uint64_t deadline, r.uint(5, "acknowledgement deadline"));
    m.ack_deadline = static_cast<Micros>(deadline);
  }
  return m;
}

cbor::Value encode_translation(const TranslationBody& t) {
  cbor::Map map;
  put_ref(map, t.entry);
  map.emplace_back(Value::uint(3), Value::text(t.language));
  map.emplace_back(Value::uint(4), Value::text(t.text));
  put_text(map, kBy, t.by);
  return Value::map(std::move(map));
}

Result<TranslationBody> decode_translation(const cbor::Value& body) {
  Reader r("translation", body);
  HOTLINE_TRY(r.is_map());
  TranslationBody t;
  HOTLINE_ASSIGN(t.entry, r.ref("entry author", "entry seq"));
  HOTLINE_ASSIGN(t.language, r.text(3, "language", true));
  HOTLINE_ASSIGN(t.text, r.text(4, "text", true));
  HOTLINE_ASSIGN(t.by, r.text(kBy, "translator", false));
  if (t.language.empty() || t.text.empty()) {
    return r.fail("language and text", "must not be empty");
  }
  return t;
}

cbor::Value encode_link_test(const LinkTestBody& test) {
  cbor::Map map;
  map.emplace_back(Value::uint(1), Value::uint(test.number));
  if (test.previous_round_trip) {
    map.emplace_back(Value::uint(2), time_value(*test.previous_round_trip));
  }
  return Value::map(std::move(map));
}

Result<LinkTestBody> decode_link_test(const cbor::Value& body) {
  Reader r("test", body);
  HOTLINE_TRY(r.is_map());
  LinkTestBody test;
  HOTLINE_ASSIGN(test.number, r.uint(1, "number"));
  if (body.find(2) != nullptr) {
    HOTLINE_ASSIGN(std::uint64_t rtt, r.uint(2, "previous round trip"));
    test.previous_round_trip = static_cast<Micros>(rtt);
  }
  return test;
}

cbor::Value encode_link_test_reply(const LinkTestReplyBody& reply) {
  cbor::Map map;
  put_ref(map, reply.test);
  return Value::map(std::move(map));
}

Result<LinkTestReplyBody> decode_link_test_reply(const cbor::Value& body) {
  Reader r("test-reply", body);
  HOTLINE_TRY(r.is_map());
  HOTLINE_ASSIGN(EntryRef test, r.ref("test author", "test seq"));
  return LinkTestReplyBody{test};
}

}  // namespace hotline::procedure
