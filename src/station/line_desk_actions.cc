// What people do at a LineDesk (station/line_desk.h): requests, steps, the two-person rule's
// drafts, acknowledgements of FLASH messages and translations. Each checks the procedure's rules
// on this station's projection and clock before anything is signed.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/duration.h"
#include "station/line_desk.h"

namespace hotline::station {

using procedure::entry_id_text;
using procedure::EntryRef;
using procedure::Request;
using procedure::RequestState;
using procedure::Step;

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
