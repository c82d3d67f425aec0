#include "station/line_desk.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "core/duration.h"
#include "station/procedure_json.h"

namespace hotline::station {

namespace asio = link::asio;
using procedure::entry_id_text;
using procedure::EntryRef;
using procedure::Request;
using procedure::RequestState;
using procedure::Step;

namespace {

constexpr std::size_t kReadPage = 1000;

bool is_step_of_a_person(const std::string& kind) {
  return procedure::is_procedure_kind(kind) && kind != "delivered" && kind != "expired";
}

}  // namespace

LineDesk::LineDesk(asio::io_context& io, line::LineLink& link, store::RecordStore& store,
                   LineConfig config)
    : io_(io),
      link_(link),
      store_(store),
      config_(std::move(config)),
      timer_(io),
      book_(link.parties().local, link.parties().peer) {
  line::LinkObserver observer;
  observer.stored = [this](Result<std::vector<record::SignedEntry>> entries) {
    on_stored(std::move(entries));
  };
  observer.peer_checkpoint = [this](const record::SignedCheckpoint& c, bool holds_head) {
    on_peer_checkpoint(c, holds_head);
  };
  observer.opened = [this] { on_opened(); };
  observer.receipted = [this](std::uint64_t) { save_states(); };
  link_.set_observer(std::move(observer));
}

Result<void> LineDesk::open() {
  const store::LineParties& line = link_.parties();
  for (const record::PublicKey* author : {&line.local, &line.peer}) {
    for (std::uint64_t from = 1;;) {
      HOTLINE_ASSIGN(auto page, store_.read_entries(line.id, *author, from, kReadPage));
      for (const record::SignedEntry& entry : page) {
        take_in(entry);
      }
      from += page.size();
      if (page.size() < kReadPage) {
        break;
      }
    }
  }
  HOTLINE_ASSIGN(auto head, store_.chain_head(line.id, line.peer));
  HOTLINE_ASSIGN(auto checkpoints, store_.checkpoints(line.id));
  for (const record::SignedCheckpoint& c : checkpoints) {
    if (c.fields.signer == line.peer && c.fields.own.seq <= head.position.seq) {
      peer_until_ = std::max(peer_until_, c.fields.time);
    }
  }
  HOTLINE_ASSIGN(auto notices, store_.notices(line.id, 0, std::numeric_limits<std::size_t>::max()));
  for (const store::NoticeRow& n : notices) {
    raised_.emplace(n.subject, n.kind);
    if (n.kind == "implausible-time") {
      flags_[n.subject].push_back(n);
    }
  }
  reproject();
  for (const auto& [id, request] : book_.requests()) {
    if (request.requester == line.peer && !request.delivered_at) {
      delivered_pending_.insert(id);
    }
  }
  save_states(true);  // the table is rebuilt from the record, never trusted
  tick();
  return success();
}

void LineDesk::stop() {
  stopped_ = true;
  timer_.cancel();
}

void LineDesk::clock_changed() { tick(); }

procedure::SyncFacts LineDesk::facts() const {
  return {link_.clock().now(), link_.receipted_seq(), peer_until_};
}

std::vector<store::NoticeRow> LineDesk::notices_about(const std::string& subject) const {
  auto it = flags_.find(subject);
  return it == flags_.end() ? std::vector<store::NoticeRow>{} : it->second;
}

std::optional<Micros> LineDesk::message_ack_deadline(Precedence precedence) const {
  if (precedence != Precedence::kFlash) {
    return std::nullopt;
  }
  return link_.clock().now() + config_.terms.ack_deadline[static_cast<int>(Precedence::kFlash)];
}

// --- what the record brings ---------------------------------------------------------------------

bool LineDesk::keep(const record::SignedEntry& entry) const {
  const std::string& kind = entry.fields.kind;
  if (procedure::is_procedure_kind(kind) || kind == "translation") {
    return true;
  }
  // Only messages that demand an acknowledgement take part in the procedure.
  return kind == "message" && entry.fields.body.is_map() && entry.fields.body.find(5) != nullptr;
}

// Bookkeeping for one stored entry of either chain (at open, and as entries are stored).
void LineDesk::take_in(const record::SignedEntry& entry) {
  const record::EntryFields& f = entry.fields;
  const bool own = f.author == link_.parties().local;
  (own ? own_until_ : peer_until_) = std::max(own ? own_until_ : peer_until_, f.time);
  if (!own) {
    peer_entries_until_ = std::max(peer_entries_until_, f.time);
  }
  if (keep(entry)) {
    (own ? own_entries_ : peer_entries_).push_back(entry);
  }
  if (f.kind == "test") {
    if (own) {
      auto test = procedure::decode_link_test(f.body);
      own_tests_[f.seq] = {test.ok() ? test->number : 0, f.time, false};
      tests_.sent = std::max<std::uint64_t>(tests_.sent, test.ok() ? test->number : 0);
      tests_.last_sent_at = f.time;
      if (test.ok() && test->previous_round_trip) {
        tests_.last_round_trip = test->previous_round_trip;
      }
    } else {
      peer_tests_unanswered_.insert(f.seq);
    }
  } else if (f.kind == "test-reply") {
    auto reply = procedure::decode_link_test_reply(f.body);
    if (!reply.ok()) {
      return;
    }
    if (own) {
      peer_tests_unanswered_.erase(reply->test.seq);
      ++tests_.answered_for_peer;
    } else if (auto it = own_tests_.find(reply->test.seq);
               it != own_tests_.end() && !it->second.answered) {
      it->second.answered = true;
      ++tests_.answered;
    }
  }
}

void LineDesk::on_stored(Result<std::vector<record::SignedEntry>> entries) {
  if (!entries.ok()) {
    spdlog::error(
        "line {}: cannot read back entries just stored: {}; the procedure's states "
        "are rebuilt at the next start",
        config_.name, entries.error().message);
    return;
  }
  bool procedure_changed = false;
  for (const record::SignedEntry& entry : entries.value()) {
    take_in(entry);
    procedure_changed = procedure_changed || keep(entry);
  }
  if (procedure_changed) {
    reproject();
    save_states(true);
  }
  react(entries.value());
  tick();
}

void LineDesk::on_peer_checkpoint(const record::SignedCheckpoint& checkpoint, bool holds_head) {
  if (holds_head && checkpoint.fields.time > peer_until_) {
    peer_until_ = checkpoint.fields.time;
    save_states();
    tick();
  }
}

void LineDesk::on_opened() {
  deliver_peer_requests();
  answer_peer_tests();
  tick();
}

void LineDesk::reproject() {
  auto book = procedure::RequestBook::project(local(), peer(), own_entries_, peer_entries_);
  if (book.ok()) {
    book_ = std::move(book).value();
  }
}

void LineDesk::save_states(bool record_changed) {
  std::map<std::string, std::string> states;
  const procedure::SyncFacts now = facts();
  for (const auto& [id, request] : book_.requests()) {
    states.emplace(entry_id_text(id), procedure::state_name(book_.view(request, now)));
  }
  // Receipts, checkpoints, messages and the clock come often and rarely change a request: the
  // table is written (a durable commit on this thread) only when the record brought a step or a
  // state changed.
  if (!record_changed && saved_ && states == *saved_) {
    return;
  }
  std::vector<store::RequestStateRow> rows;
  for (const auto& [id, request] : book_.requests()) {
    rows.push_back({entry_id_text(id), states[entry_id_text(id)],
                    request_json(*this, request).dump(), now.now});
  }
  if (auto saved = store_.replace_request_states(link_.parties().id, rows); !saved.ok()) {
    spdlog::warn("line {}: cannot save the requests' states: {}", config_.name,
                 saved.error().message);
    return;
  }
  saved_ = std::move(states);
}

// What the station does by itself when the peer's entries arrive.
void LineDesk::react(const std::vector<record::SignedEntry>& fresh) {
  const Micros now = link_.clock().now();
  for (const record::SignedEntry& entry : fresh) {
    const record::EntryFields& f = entry.fields;
    if (f.author != peer()) {
      continue;
    }
    const std::string id = entry_id_text({f.author, f.seq});
    if (f.kind == "request") {
      delivered_pending_.insert({f.author, f.seq});
    } else if (f.kind == "test-reply") {
      auto reply = procedure::decode_link_test_reply(f.body);
      if (reply.ok()) {
        if (auto it = own_tests_.find(reply->test.seq); it != own_tests_.end()) {
          tests_.last_round_trip = now - it->second.sent_at;
          spdlog::info("line {}: link test {} answered; round trip {}", config_.name,
                       it->second.number,
                       format_duration(std::max<Micros>(1, now - it->second.sent_at)));
        }
      }
    }
    // Design §2: a decision whose author time is ahead of this station's clock by more than the
    // terms allow is flagged: it may have been stamped to beat a deadline.
    if (is_step_of_a_person(f.kind) && f.time > now + config_.terms.clock_tolerance) {
      const std::string message = "entry " + id + " (" + f.kind + ") is stamped " +
                                  format_utc(f.time) + ", " + format_duration(f.time - now) +
                                  " ahead of this station's clock: implausible";
      spdlog::warn("SECURITY line {}: {}", config_.name, message);
      raise(id, "implausible-time", "principals", f.time, message);
    }
  }
  deliver_peer_requests();
  answer_peer_tests();
}

void LineDesk::author_automatic(std::string kind, cbor::Value body, std::string what) {
  if (authoring_.count(what) != 0 || !link_.own_chain_confirmed()) {
    return;  // on its way already, or after the line opens (on_opened)
  }
  authoring_.insert(what);
  link_.author_now(std::move(kind), std::move(body), [this, what](Result<std::uint64_t> seq) {
    authoring_.erase(what);
    if (!seq.ok()) {
      spdlog::warn("line {}: could not author {}: {}", config_.name, what, seq.error().message);
    }
  });
}

void LineDesk::deliver_peer_requests() {
  for (auto it = delivered_pending_.begin(); it != delivered_pending_.end();) {
    const Request* r = book_.find(*it);
    if (r == nullptr || r->delivered_at) {
      it = delivered_pending_.erase(it);
      continue;
    }
    author_automatic("delivered", procedure::encode_body(procedure::DeliveredBody{*it}),
                     "delivered " + entry_id_text(*it));
    ++it;
  }
}

void LineDesk::answer_peer_tests() {
  for (std::uint64_t seq : peer_tests_unanswered_) {
    author_automatic("test-reply", procedure::encode_link_test_reply({EntryRef{peer(), seq}}),
                     "test-reply " + std::to_string(seq));
  }
}

// --- what people do --------------------------------------------------------------------------

void LineDesk::create_request(const NewRequest& request, const Actor& actor, Done done) {
  const LineTerms& terms = config_.terms;
  if (!terms.levels.empty() && std::find(terms.levels.begin(), terms.levels.end(),
                                         request.proposal.level) == terms.levels.end()) {
    done(make_error(
        Errc::kRefused, "line " + config_.name + " serves the levels " + [&] {
          std::string all;
          for (const auto& l : terms.levels) {
            all += (all.empty() ? "" : ", ") + l;
          }
          return all;
        }() + "; the request must name one as its level"));
    return;
  }
  const Micros ack_limit = terms.ack_deadline[static_cast<int>(request.precedence)];
  const Micros ack_within = request.ack_within.value_or(ack_limit);
  const Micros respond_within = request.respond_within.value_or(terms.response_deadline);
  if (ack_within > ack_limit) {
    done(make_error(Errc::kInvalidArgument, "the acknowledgement deadline may be at most " +
                                                format_duration(ack_limit) + " for " +
                                                std::string(precedence_name(request.precedence)) +
                                                " on line " + config_.name + " (its terms)"));
    return;
  }
  if (respond_within > terms.response_deadline) {
    done(make_error(Errc::kInvalidArgument, "the response deadline may be at most " +
                                                format_duration(terms.response_deadline) +
                                                " on line " + config_.name + " (its terms)"));
    return;
  }
  const Micros now = link_.clock().now();
  procedure::RequestBody body{request.proposal, request.precedence,
                              now + std::min(ack_within, respond_within), now + respond_within,
                              request.immediate};
  if (auto valid = procedure::check_body(body, now); !valid.ok()) {
    done(valid.error());
    return;
  }
  link_.author_now("request", procedure::encode_body(body, {actor.name, ""}),
                   [this, done](Result<std::uint64_t> seq) {
                     if (!seq.ok()) {
                       done(seq.error());
                     } else {
                       done(EntryRef{local(), seq.value()});
                     }
                   });
}

Result<cbor::Value> LineDesk::step_body(const EntryRef& id, Step step, const StepInput& in,
                                        const procedure::Signatories& who) const {
  using namespace procedure;
  const Micros now = link_.clock().now();
  ProcedureBody body;
  switch (step) {
    case Step::kAck:
      body = AckBody{id};
      break;
    case Step::kAccept:
      body = AcceptBody{id, in.window};
      break;
    case Step::kDecline:
      body = DeclineBody{id, in.reason};
      break;
    case Step::kCounter: {
      const Request* r = book_.find(id);
      const Micros within = in.respond_within.value_or(config_.terms.response_deadline);
      if (within > config_.terms.response_deadline) {
        return make_error(Errc::kInvalidArgument,
                          "the response deadline may be at most " +
                              format_duration(config_.terms.response_deadline) + " on line " +
                              config_.name);
      }
      body = CounterBody{id, in.counter.value_or(r != nullptr ? r->proposal : Proposal{}),
                         in.reason, now + within};
      break;
    }
    case Step::kRefer:
      body = ReferBody{id, in.to};
      break;
    case Step::kWithdraw:
      body = WithdrawBody{id, in.reason};
      break;
    case Step::kSchedule:
      if (!in.window) {
        return make_error(Errc::kInvalidArgument, "a 'schedule' needs a window");
      }
      body = ScheduleBody{id, *in.window};
      break;
    case Step::kConclude:
      body = ConcludeBody{id, in.summary};
      break;
    case Step::kBegin:
      body = BeginBody{id};
      break;
  }
  HOTLINE_TRY(check_body(body, now));
  return encode_body(body, who);
}

void LineDesk::author_step(const EntryRef& id, Step step, cbor::Value body,
                           std::function<void(Result<EntryRef>)> done) {
  // Checked again at the moment of signing: a draft confirmed late, a deadline just passed.
  if (auto allowed = book_.check(id, step, local(), link_.clock().now()); !allowed.ok()) {
    done(allowed.error());
    return;
  }
  link_.author_now(std::string(procedure::step_name(step)), std::move(body),
                   [this, done](Result<std::uint64_t> seq) {
                     if (!seq.ok()) {
                       done(seq.error());
                     } else {
                       done(EntryRef{local(), seq.value()});
                     }
                   });
}

void LineDesk::take_step(const EntryRef& id, Step step, const StepInput& input, const Actor& actor,
                         std::function<void(Result<StepOutcome>)> done) {
  if (auto allowed = book_.check(id, step, local(), link_.clock().now()); !allowed.ok()) {
    done(allowed.error());
    return;
  }
  const bool needs_confirmation = procedure::is_decision(step) && config_.terms.two_person_rule &&
                                  actor.role != procedure::Role::kPrincipal;
  auto body = step_body(id, step, input, {actor.name, ""});
  if (!body.ok()) {
    done(body.error());
    return;
  }
  if (needs_confirmation) {
    // Two-person rule: the operator's decision waits, recorded here, for a principal.
    store::DecisionDraft draft;
    draft.line = link_.parties().id;
    draft.request = entry_id_text(id);
    draft.step = std::string(procedure::step_name(step));
    draft.body = cbor::encode(body.value());
    draft.drafted_by = actor.name;
    draft.drafted_at = link_.clock().now();
    auto stored = store_.add_decision_draft(draft);
    if (!stored.ok()) {
      done(stored.error());
      return;
    }
    draft.id = stored.value();
    spdlog::info(
        "line {}: {} drafted a decision ({}) on request {} as draft {}; a principal must "
        "confirm it",
        config_.name, actor.name, draft.step, draft.request, draft.id);
    raise("draft-" + std::to_string(draft.id), "decision-to-confirm", "principals",
          draft.drafted_at,
          actor.name + " drafted '" + draft.step + "' on request " + draft.request +
              "; confirm it with hotline confirm --draft " + std::to_string(draft.id));
    done(StepOutcome{std::nullopt, draft});
    return;
  }
  author_step(id, step, std::move(body).value(), [done](Result<EntryRef> entry) {
    if (!entry.ok()) {
      done(entry.error());
    } else {
      done(StepOutcome{entry.value(), std::nullopt});
    }
  });
}

void LineDesk::confirm_draft(std::uint64_t id, const Actor& actor,
                             std::function<void(Result<StepOutcome>)> done) {
  auto draft = store_.decision_draft(id);
  if (!draft.ok()) {
    done(draft.error());
    return;
  }
  if (draft->line != link_.parties().id) {
    done(make_error(Errc::kNotFound,
                    "draft " + std::to_string(id) + " is not of line " + config_.name));
    return;
  }
  if (draft->status != "pending") {
    done(
        make_error(Errc::kRefused, "draft " + std::to_string(id) + " is already " + draft->status));
    return;
  }
  if (draft->drafted_by == actor.name) {
    done(make_error(Errc::kRefused, "the two-person rule needs a second person: " + actor.name +
                                        " drafted draft " + std::to_string(id)));
    return;
  }
  auto request = procedure::parse_entry_id(draft->request, local(), peer());
  auto step = procedure::parse_step(draft->step);
  auto decoded = cbor::decode(draft->body);
  if (!request.ok() || !step || !decoded.ok()) {
    done(make_error(Errc::kCorrupt, "draft " + std::to_string(id) + " cannot be read back"));
    return;
  }
  // The entry names both: who drafted, who confirmed.
  cbor::Map fields = decoded->as_map();
  std::erase_if(
      fields, [](const cbor::MapEntry& e) { return e.first.is_uint() && e.first.as_uint() == 21; });
  fields.emplace_back(cbor::Value::uint(21), cbor::Value::text(actor.name));
  cbor::Value body = cbor::Value::map(std::move(fields));
  const std::string name = actor.name;
  author_step(
      request.value(), *step, std::move(body), [this, id, name, done](Result<EntryRef> entry) {
        if (!entry.ok()) {
          done(entry.error());
          return;
        }
        auto settled = store_.settle_decision_draft(id, "confirmed", name, link_.clock().now(),
                                                    entry->seq, "");
        if (!settled.ok()) {
          spdlog::error(
              "line {}: draft {} was authored as entry {} but cannot be marked "
              "confirmed: {}",
              config_.name, id, entry_id_text(entry.value()), settled.error().message);
        }
        auto after = store_.decision_draft(id);
        done(StepOutcome{entry.value(), after.ok() ? std::optional(after.value()) : std::nullopt});
      });
}

Result<store::DecisionDraft> LineDesk::discard_draft(std::uint64_t id, const Actor& actor,
                                                     const std::string& reason) {
  HOTLINE_ASSIGN(auto draft, store_.decision_draft(id));
  if (draft.line != link_.parties().id) {
    return make_error(Errc::kNotFound,
                      "draft " + std::to_string(id) + " is not of line " + config_.name);
  }
  if (actor.name != draft.drafted_by && actor.role != procedure::Role::kPrincipal) {
    return make_error(Errc::kRefused, "draft " + std::to_string(id) + " was drafted by " +
                                          draft.drafted_by +
                                          ": only they or a principal may discard it");
  }
  HOTLINE_TRY(store_.settle_decision_draft(id, "discarded", actor.name, link_.clock().now(),
                                           std::nullopt, reason));
  return store_.decision_draft(id);
}

void LineDesk::ack_message(const EntryRef& id, const Actor& actor, Done done) {
  auto it = book_.messages().find(id);
  if (it == book_.messages().end()) {
    done(make_error(Errc::kNotFound, "no FLASH message " + entry_id_text(id) + " on line " +
                                         config_.name + " awaits an acknowledgement"));
    return;
  }
  if (id.author == local()) {
    done(make_error(Errc::kRefused, "message " + entry_id_text(id) + " is this station's own"));
    return;
  }
  if (it->second.ack) {
    done(make_error(Errc::kRefused, "message " + entry_id_text(id) + " is already acknowledged"));
    return;
  }
  link_.author_now("ack", procedure::encode_body(procedure::AckBody{id}, {actor.name, ""}),
                   [this, done](Result<std::uint64_t> seq) {
                     if (!seq.ok()) {
                       done(seq.error());
                     } else {
                       done(EntryRef{local(), seq.value()});
                     }
                   });
}

void LineDesk::translate(const EntryRef& entry, const std::string& language,
                         const std::string& text, const Actor& actor, Done done) {
  const std::uint64_t held =
      entry.author == local() ? link_.status().own.seq : link_.status().peer.seq;
  if (entry.seq > held) {
    done(make_error(Errc::kNotFound,
                    "entry " + entry_id_text(entry) + " is not in this station's record"));
    return;
  }
  if (language.empty() || text.empty()) {
    done(make_error(Errc::kInvalidArgument, "a translation needs a language and a text"));
    return;
  }
  link_.author_now("translation",
                   procedure::encode_translation({entry, language, text, actor.name}),
                   [this, done](Result<std::uint64_t> seq) {
                     if (!seq.ok()) {
                       done(seq.error());
                     } else {
                       done(EntryRef{local(), seq.value()});
                     }
                   });
}

}  // namespace hotline::station
