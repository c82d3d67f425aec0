#include "procedure/request_book.h"

#include <algorithm>
#include <limits>

namespace hotline::procedure {

bool undecided(RequestState s) {
  return s == RequestState::kSent || s == RequestState::kDelivered ||
         s == RequestState::kAcknowledged || s == RequestState::kReferred ||
         s == RequestState::kCountered;
}

namespace {

std::string time_text(Micros t) { return format_utc(t); }

Result<void> refuse(const Request& r, const std::string& why) {
  return make_error(Errc::kRefused, "request " + entry_id_text(r.id) + ": " + why);
}

// The rules of design.md §2, for a step by `actor` authored (or to be authored) at `at`.
Result<void> allowed(const Request& r, Step step, const record::PublicKey& actor, Micros at) {
  const std::string state(state_name(r.state));
  const bool by_requester = actor == r.requester;
  const bool by_responder = actor == r.responder;
  if (!by_requester && !by_responder) {
    return refuse(r, "only the line's two parties take part in a request");
  }
  switch (step) {
    case Step::kAck:
      if (!by_responder) {
        return refuse(r, "only the side it was sent to acknowledges it");
      }
      if (r.acknowledged) {
        return refuse(r, "already acknowledged");
      }
      if (!undecided(r.state)) {
        return refuse(r, "it is " + state + ": nothing to acknowledge");
      }
      break;
    case Step::kAccept:
    case Step::kDecline:
    case Step::kCounter:
    case Step::kRefer:
      if (!undecided(r.state)) {
        return refuse(r, "it is " + state + ": no decision is pending");
      }
      if (actor != r.awaiting) {
        return refuse(r, "the decision is the other side's: it awaits their answer");
      }
      if (at >= r.response_deadline) {
        return refuse(r, "the response deadline passed at " + time_text(r.response_deadline) +
                             "; a decision now would not count");
      }
      break;
    case Step::kWithdraw:
      if (!by_requester) {
        return refuse(r, "only the requester withdraws a request");
      }
      if (!undecided(r.state)) {
        return refuse(r, "it is " + state + ": too late to withdraw");
      }
      break;
    case Step::kSchedule:
      if (r.state != RequestState::kAccepted && r.state != RequestState::kScheduled) {
        return refuse(r, "it is " + state + ": only an accepted request is scheduled");
      }
      break;
    case Step::kBegin:
      if (r.state != RequestState::kAccepted && r.state != RequestState::kScheduled) {
        return refuse(r, "it is " + state + ": only an accepted or scheduled session begins");
      }
      break;
    case Step::kConclude:
      if (r.state != RequestState::kAccepted && r.state != RequestState::kScheduled &&
          r.state != RequestState::kInSession) {
        return refuse(
            r, "it is " + state + ": only an accepted, scheduled or begun session concludes");
      }
      break;
  }
  return success();
}

// ProcedureBody lists the steps' bodies after RequestBody, in the order of Step.
template <Step step, typename Body>
constexpr bool body_of_step =
    std::is_same_v<std::variant_alternative_t<1 + static_cast<std::size_t>(step), ProcedureBody>,
                   Body>;
static_assert(body_of_step<Step::kAck, AckBody> && body_of_step<Step::kAccept, AcceptBody> &&
              body_of_step<Step::kDecline, DeclineBody> &&
              body_of_step<Step::kCounter, CounterBody> && body_of_step<Step::kRefer, ReferBody> &&
              body_of_step<Step::kWithdraw, WithdrawBody> &&
              body_of_step<Step::kSchedule, ScheduleBody> &&
              body_of_step<Step::kConclude, ConcludeBody> && body_of_step<Step::kBegin, BeginBody>);

std::optional<Step> step_of(const ProcedureBody& body) {
  if (std::holds_alternative<RequestBody>(body) || std::holds_alternative<DeliveredBody>(body) ||
      std::holds_alternative<ExpiredBody>(body)) {
    return std::nullopt;
  }
  return static_cast<Step>(body.index() - 1);
}

// Applies a step the rules allowed.
void take(Request& r, const ProcedureBody& body, const record::SignedEntry& entry) {
  const record::PublicKey& author = entry.fields.author;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, AckBody>) {
          r.acknowledged = true;
          if (r.state == RequestState::kSent || r.state == RequestState::kDelivered) {
            r.state = RequestState::kAcknowledged;
          }
        } else if constexpr (std::is_same_v<T, AcceptBody>) {
          r.state = RequestState::kAccepted;
        } else if constexpr (std::is_same_v<T, DeclineBody>) {
          r.state = RequestState::kDeclined;
          r.reason = b.reason;
        } else if constexpr (std::is_same_v<T, CounterBody>) {
          r.state = RequestState::kCountered;
          r.proposal = b.proposal;
          r.proposed_at = entry.fields.time;
          r.response_deadline = b.response_deadline;
          r.awaiting = author == r.requester ? r.responder : r.requester;
        } else if constexpr (std::is_same_v<T, ReferBody>) {
          r.state = RequestState::kReferred;
          r.referred_to = b.to;
        } else if constexpr (std::is_same_v<T, WithdrawBody>) {
          r.state = RequestState::kWithdrawn;
          r.reason = b.reason;
        } else if constexpr (std::is_same_v<T, ScheduleBody>) {
          r.state = RequestState::kScheduled;
          r.scheduled = b.window;
        } else if constexpr (std::is_same_v<T, ConcludeBody>) {
          r.state = RequestState::kConcluded;
        } else if constexpr (std::is_same_v<T, BeginBody>) {
          r.state = RequestState::kInSession;
        }
      },
      body);
}

}  // namespace

std::string_view state_name(RequestState state) {
  switch (state) {
    case RequestState::kSent:
      return "sent";
    case RequestState::kDelivered:
      return "delivered";
    case RequestState::kAcknowledged:
      return "acknowledged";
    case RequestState::kReferred:
      return "referred";
    case RequestState::kCountered:
      return "countered";
    case RequestState::kAccepted:
      return "accepted";
    case RequestState::kDeclined:
      return "declined";
    case RequestState::kWithdrawn:
      return "withdrawn";
    case RequestState::kScheduled:
      return "scheduled";
    case RequestState::kInSession:
      return "in-session";
    case RequestState::kConcluded:
      return "concluded";
    case RequestState::kExpired:
      return "expired";
    case RequestState::kExpiredUnconfirmed:
      return "expired-unconfirmed";
  }
  return "unknown";
}

bool is_final(RequestState state) {
  return state == RequestState::kDeclined || state == RequestState::kWithdrawn ||
         state == RequestState::kConcluded || state == RequestState::kExpired;
}

std::string_view step_name(Step step) {
  switch (step) {
    case Step::kAck:
      return "ack";
    case Step::kAccept:
      return "accept";
    case Step::kDecline:
      return "decline";
    case Step::kCounter:
      return "counter";
    case Step::kRefer:
      return "refer";
    case Step::kWithdraw:
      return "withdraw";
    case Step::kSchedule:
      return "schedule";
    case Step::kConclude:
      return "conclude";
    case Step::kBegin:
      return "begin";
  }
  return "unknown";
}

std::optional<Step> parse_step(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(Step::kBegin); ++k) {
    if (step_name(static_cast<Step>(k)) == name) {
      return static_cast<Step>(k);
    }
  }
  return std::nullopt;
}

bool is_decision(Step step) {
  return step == Step::kAccept || step == Step::kDecline || step == Step::kCounter ||
         step == Step::kRefer;
}

Result<RequestBook> RequestBook::project(record::PublicKey local, record::PublicKey peer,
                                         const std::vector<record::SignedEntry>& own_chain,
                                         const std::vector<record::SignedEntry>& peer_chain) {
  RequestBook book(local, peer);
  std::size_t i = 0;  // own entries applied
  std::size_t j = 0;  // peer entries applied
  // An entry is ready once every entry of the other chain up to its cross-link is applied, i.e.
  // the other chain's next entry (if any) comes after the cross-link. With whole chains this is
  // "cross-link seq <= entries applied"; it stays right when entries are left out.
  const auto next_seq = [](const std::vector<record::SignedEntry>& chain, std::size_t k) {
    return k < chain.size() ? chain[k].fields.seq : std::numeric_limits<std::uint64_t>::max();
  };
  while (i < own_chain.size() || j < peer_chain.size()) {
    const bool own_ready =
        i < own_chain.size() && own_chain[i].fields.cross.seq < next_seq(peer_chain, j);
    const bool peer_ready =
        j < peer_chain.size() && peer_chain[j].fields.cross.seq < next_seq(own_chain, i);
    bool take_own = own_ready;
    if (own_ready && peer_ready) {
      const auto& a = own_chain[i].fields;
      const auto& b = peer_chain[j].fields;
      take_own = a.time != b.time ? a.time < b.time : a.author < b.author;
    } else if (!own_ready && !peer_ready) {
      // Each waits for the other: impossible in a record that verifies (a cross-link names an
      // entry its author held). Apply in seq order rather than stop.
      book.anomalies_.push_back("the chains' cross-links are circular at own seq " +
                                std::to_string(i + 1) + " and peer seq " + std::to_string(j + 1));
      take_own = i < own_chain.size();
    }
    book.apply(take_own ? own_chain[i++] : peer_chain[j++]);
  }
  return book;
}

const Request* RequestBook::find(const EntryRef& id) const {
  auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : &it->second;
}

void RequestBook::apply(const record::SignedEntry& entry) {
  const record::EntryFields& f = entry.fields;
  const std::string where = "entry " + entry_id_text({f.author, f.seq});
  if (f.kind == "message") {
    apply_message(entry, where);
    return;
  }
  if (f.kind == "translation") {
    apply_translation(entry, where);
    return;
  }
  if (!is_procedure_kind(f.kind)) {
    return;
  }
  const EntryRef self{f.author, f.seq};
  auto body = decode_body(f.kind, f.body);
  if (!body.ok()) {
    anomalies_.push_back(where + ": " + body.error().message);
    return;
  }
  const HistoryItem item{std::string(f.kind), self, f.time, decode_signatories(f.body)};
  if (const auto* request = std::get_if<RequestBody>(&body.value())) {
    Request r;
    r.id = self;
    r.requester = f.author;
    r.responder = f.author == local_ ? peer_ : local_;
    r.precedence = request->precedence;
    r.proposal = request->proposal;
    r.immediate = request->immediate;
    r.requested_at = r.proposed_at = f.time;
    r.ack_deadline = request->ack_deadline;
    r.response_deadline = request->response_deadline;
    r.awaiting = r.responder;
    r.history.push_back(item);
    if (auto valid = check_body(body.value(), f.time); !valid.ok()) {
      r.anomalies.push_back(where + ": " + valid.error().message);
    }
    requests_.emplace(self, std::move(r));
    return;
  }
  const EntryRef ref = *request_of(body.value());
  auto it = requests_.find(ref);
  if (it == requests_.end()) {
    if (std::holds_alternative<AckBody>(body.value()) && ack_message(entry, ref, where)) {
      return;
    }
    anomalies_.push_back(where + ": a '" + f.kind + "' for request " + entry_id_text(ref) +
                         ", which is not in the record");
    return;
  }
  Request& r = it->second;
  if (std::holds_alternative<DeliveredBody>(body.value())) {
    if (f.author != r.responder) {
      r.anomalies.push_back(where +
                            ": 'delivered' not applied: only the responder's station "
                            "reports delivery");
    } else if (!r.delivered_at) {
      r.delivered_at = f.time;
      r.history.push_back(item);
    }
    return;
  }
  if (const auto* expired = std::get_if<ExpiredBody>(&body.value())) {
    if (f.author != r.awaiting || !undecided(r.state) || expired->deadline != r.response_deadline ||
        f.time < r.response_deadline) {
      r.anomalies.push_back(where +
                            ": 'expired' not applied: only the station of the party the "
                            "request awaits records its expiry, at or after the current "
                            "proposal's response deadline, before any decision");
      return;
    }
    r.state = RequestState::kExpired;
    r.history.push_back(item);
    return;
  }
  if (auto valid = check_body(body.value(), f.time); !valid.ok()) {
    r.anomalies.push_back(where + ": " + valid.error().message);
    return;
  }
  if (auto ok = allowed(r, *step_of(body.value()), f.author, f.time); !ok.ok()) {
    r.anomalies.push_back(where + ": '" + f.kind + "' not applied: " + ok.error().message);
    return;
  }
  take(r, body.value(), entry);
  r.history.push_back(item);
}

void RequestBook::apply_message(const record::SignedEntry& entry, const std::string& where) {
  auto message = decode_message(entry.fields.body);
  if (!message.ok()) {
    anomalies_.push_back(where + ": " + message.error().message);
    return;
  }
  if (!message->ack_deadline) {
    return;  // only messages that demand an acknowledgement are tracked
  }
  TrackedMessage tracked;
  tracked.id = {entry.fields.author, entry.fields.seq};
  tracked.sent_at = entry.fields.time;
  tracked.body = std::move(message).value();
  messages_.emplace(tracked.id, std::move(tracked));
}

bool RequestBook::ack_message(const record::SignedEntry& entry, const EntryRef& ref,
                              const std::string& where) {
  auto it = messages_.find(ref);
  if (it == messages_.end()) {
    return false;
  }
  TrackedMessage& m = it->second;
  if (entry.fields.author == m.id.author) {
    anomalies_.push_back(where +
                         ": 'ack' not applied: a station does not acknowledge its own "
                         "message " +
                         entry_id_text(ref));
  } else if (!m.ack) {
    m.ack = HistoryItem{"ack",
                        {entry.fields.author, entry.fields.seq},
                        entry.fields.time,
                        decode_signatories(entry.fields.body)};
    m.late = entry.fields.time >= *m.body.ack_deadline;
  }
  return true;
}

void RequestBook::apply_translation(const record::SignedEntry& entry, const std::string& where) {
  auto translation = decode_translation(entry.fields.body);
  if (!translation.ok()) {
    anomalies_.push_back(where + ": " + translation.error().message);
    return;
  }
  translations_[translation->entry].push_back({{entry.fields.author, entry.fields.seq},
                                               entry.fields.time,
                                               translation->language,
                                               translation->text,
                                               translation->by});
}

RequestState RequestBook::view(const Request& r, const SyncFacts& facts) const {
  RequestState state = r.state;
  if (state == RequestState::kSent) {
    // Held by the responder: it is ours and they receipted it (or their station said so in a
    // "delivered" entry), or it is theirs and we hold it.
    const bool held =
        r.requester == local_ ? facts.own_receipted >= r.id.seq || r.delivered_at : true;
    if (held) {
      state = RequestState::kDelivered;
    }
  }
  if (!undecided(state)) {
    return state;
  }
  if (r.awaiting == local_) {
    // Our own chain: we know we authored no decision, and the station refuses one now.
    return facts.now >= r.response_deadline ? RequestState::kExpired : state;
  }
  if (facts.peer_held_until >= r.response_deadline) {
    return RequestState::kExpired;  // we hold their chain past the deadline: no decision in it
  }
  return facts.now >= r.response_deadline ? RequestState::kExpiredUnconfirmed : state;
}

Result<void> RequestBook::check(const EntryRef& id, Step step, const record::PublicKey& actor,
                                Micros now) const {
  const Request* r = find(id);
  if (r == nullptr) {
    return make_error(Errc::kNotFound, "no request " + entry_id_text(id) + " on this line");
  }
  return allowed(*r, step, actor, now);
}

std::vector<Reminder> reminders(const Request& r) {
  std::vector<Reminder> out;
  if (!undecided(r.state)) {
    return out;
  }
  auto at = [](Micros from, Micros to, int percent) { return from + (to - from) * percent / 100; };
  if (!r.acknowledged && r.state != RequestState::kCountered) {
    out.push_back({Reminder::What::kAck50, at(r.requested_at, r.ack_deadline, 50)});
    out.push_back({Reminder::What::kAck90, at(r.requested_at, r.ack_deadline, 90)});
  }
  out.push_back({Reminder::What::kResponse50, at(r.proposed_at, r.response_deadline, 50)});
  out.push_back({Reminder::What::kResponse90, at(r.proposed_at, r.response_deadline, 90)});
  out.push_back({Reminder::What::kExpiry, r.response_deadline});
  return out;
}

}  // namespace hotline::procedure
