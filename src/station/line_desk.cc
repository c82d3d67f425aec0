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

bool is_flag(const std::string& kind) {
  return kind == "implausible-time" || kind == "outside-terms";
}

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
  observer.receipted = [this](std::uint64_t seq) {
    publish("receipt", {{"seq", seq}});
    save_states();
  };
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
    if (is_flag(n.kind)) {
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

// Bookkeeping for one stored entry of either chain (at open, and as entries are stored); true if
// the procedure keeps it.
bool LineDesk::take_in(const record::SignedEntry& entry) {
  const record::EntryFields& f = entry.fields;
  const bool own = f.author == link_.parties().local;
  (own ? own_until_ : peer_until_) = std::max(own ? own_until_ : peer_until_, f.time);
  if (!own) {
    peer_entries_until_ = std::max(peer_entries_until_, f.time);
  }
  const bool kept = keep(entry);
  if (kept) {
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
      return kept;
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
  return kept;
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
    procedure_changed = take_in(entry) || procedure_changed;
    const record::EntryFields& f = entry.fields;
    publish("entry", {{"id", entry_id_text({f.author, f.seq})},
                      {"chain", f.author == local() ? "own" : "peer"},
                      {"seq", f.seq},
                      {"kind", f.kind},
                      {"time", format_utc(f.time)}});
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
  std::map<EntryRef, RequestState> states;
  const procedure::SyncFacts now = facts();
  for (const auto& [id, request] : book_.requests()) {
    states.emplace(id, book_.view(request, now));
  }
  // Receipts, checkpoints, messages and the clock come often and rarely change a request: the
  // table is written (a durable commit on this thread) only when the record brought a step or a
  // state changed.
  if (!record_changed && saved_ && states == *saved_) {
    return;
  }
  std::vector<store::RequestStateRow> rows;
  for (const auto& [id, request] : book_.requests()) {
    rows.push_back({entry_id_text(id), std::string(procedure::state_name(states[id])),
                    request_json(*this, request).dump(), now.now});
  }
  if (auto saved = store_.replace_request_states(link_.parties().id, rows); !saved.ok()) {
    spdlog::warn("line {}: cannot save the requests' states: {}", config_.name,
                 saved.error().message);
    return;
  }
  saved_ = std::move(states);
  publish_requests(rows);
}

void LineDesk::publish_requests(const std::vector<store::RequestStateRow>& rows) {
  if (!events_) {
    return;
  }
  // `rows` were made from book_.requests(), in its order.
  std::size_t i = 0;
  for (const auto& [id, request] : book_.requests()) {
    if (i >= rows.size()) {
      break;
    }
    std::string& last = published_[id];
    if (last != rows[i].detail) {
      last = rows[i].detail;
      publish("request", {{"request", request_summary_json(*this, request)}});
    }
    ++i;
  }
}

void LineDesk::publish(const std::string& type, nlohmann::json data) {
  if (events_) {
    data["line"] = config_.name;
    events_(type, std::move(data));
  }
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
      flag_outside_terms(entry);
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

// The terms are the standing agreement of both parties, and a request may only shorten its
// deadlines (docs/configuration.md). The record keeps whatever the peer signed, so a request that
// gives itself more time than our terms, or names a level they do not serve, is flagged here.
void LineDesk::flag_outside_terms(const record::SignedEntry& entry) {
  const record::EntryFields& f = entry.fields;
  auto body = procedure::decode_body(f.kind, f.body);
  const auto* request = body.ok() ? std::get_if<procedure::RequestBody>(&body.value()) : nullptr;
  if (request == nullptr) {
    return;  // an anomaly of the projection already
  }
  const LineTerms& terms = config_.terms;
  const Micros slack = terms.clock_tolerance;
  // To the second: the peer computes its deadlines from a clock read a moment before signing.
  const auto seconds = [](Micros d) {
    return format_duration((d + kMicrosPerSecond / 2) / kMicrosPerSecond * kMicrosPerSecond);
  };
  const Micros ack_limit = terms.ack_deadline[static_cast<int>(request->precedence)];
  std::vector<std::string> why;
  if (request->ack_deadline - f.time > ack_limit + slack) {
    why.push_back("an acknowledgement deadline " + seconds(request->ack_deadline - f.time) +
                  " after it (our terms: " + format_duration(ack_limit) + ")");
  }
  if (request->response_deadline - f.time > terms.response_deadline + slack) {
    why.push_back("a response deadline " + seconds(request->response_deadline - f.time) +
                  " after it (our terms: " + format_duration(terms.response_deadline) + ")");
  }
  if (!terms.levels.empty() && std::find(terms.levels.begin(), terms.levels.end(),
                                         request->proposal.level) == terms.levels.end()) {
    why.push_back("the level '" + request->proposal.level + "', which the line does not serve");
  }
  if (why.empty()) {
    return;
  }
  const std::string id = entry_id_text({f.author, f.seq});
  std::string message = "request " + id + " from the peer is outside this line's terms: it gives ";
  for (std::size_t i = 0; i < why.size(); ++i) {
    message += (i == 0 ? "" : "; and ") + why[i];
  }
  spdlog::warn("line {}: {}", config_.name, message);
  raise(id, "outside-terms", "principals", f.time, message);
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

}  // namespace hotline::station
