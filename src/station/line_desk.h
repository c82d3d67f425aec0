// station/line_desk.h — the procedure at one line of a running station (design.md §2).
//
// A LineDesk is where the people of a station act on one line: it authors the procedure's entries
// (requests, acknowledgements, decisions, translations), keeps every request's state as a
// projection of the line's record (procedure/request_book.h), and runs what the station does by
// itself: a "delivered" entry as soon as it holds a peer's request, the answer to the peer's link
// tests and its own tests on the terms' interval, and the notices (reminders at 50 % and 90 %,
// escalations to principals, expiry, unanswered FLASH messages, missed link tests) when their time
// comes by the station's clock.
//
// The record is the only truth. The desk keeps the entries of both chains that matter to the
// procedure in memory and projects them again whenever one is stored, so that two steps that
// crossed on the link are ordered as at the peer (docs/procedure.md §3). What it shows is also
// written to the store's request_states table for tools to read; that table is rebuilt from the
// record at every start. Notices are kept in the store, so a reminder is raised once, and one
// that fell due while the station was down is raised when it starts.
//
// Everything runs on the station's io thread.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "line/line_link.h"
#include "link/asio.h"
#include "procedure/request_book.h"
#include "procedure/roles.h"
#include "station/config.h"
#include "store/record_store.h"

namespace hotline::station {

// A person acting at this station: their user name and role (already checked to exist, be enabled
// and permit the action, see people.h).
struct Actor {
  std::string name;
  procedure::Role role = procedure::Role::kOperator;
};

// What a new request asks for, as the station received it (times resolved).
struct NewRequest {
  procedure::Proposal proposal;
  Precedence precedence = Precedence::kRoutine;
  std::optional<Micros> ack_within;      // default: the terms' for the precedence
  std::optional<Micros> respond_within;  // default: the terms' response deadline
  bool immediate = false;
};

// What a step carries besides its request (only the fields of its kind are read).
struct StepInput {
  std::string reason;
  std::optional<procedure::TimeWindow> window;
  std::string to;
  std::string summary;
  std::optional<procedure::Proposal> counter;  // the counter-proposal, complete
  std::optional<Micros> respond_within;        // for a counter
};

// What became of a step: authored as an entry, or (two-person rule) held as a draft.
struct StepOutcome {
  std::optional<procedure::EntryRef> entry;
  std::optional<store::DecisionDraft> draft;
};

struct LinkTestStatus {
  std::uint64_t sent = 0;      // tests this station sent
  std::uint64_t answered = 0;  // of which the peer answered
  std::optional<Micros> last_round_trip;
  std::optional<Micros> last_sent_at;
  std::uint64_t missed = 0;  // alarms raised for unanswered tests
  std::uint64_t answered_for_peer = 0;
};

// Whether notices of `kind` are warnings about one entry, shown with its request ("flags").
bool is_flag(const std::string& kind);

class LineDesk {
 public:
  LineDesk(link::asio::io_context& io, line::LineLink& link, store::RecordStore& store,
           LineConfig config);
  LineDesk(const LineDesk&) = delete;
  LineDesk& operator=(const LineDesk&) = delete;

  // Loads both chains' procedure entries from the store, projects them, rewrites the
  // request_states table and arms the scheduler. Call before the io thread runs.
  Result<void> open();
  void stop();
  // The station's clock jumped (serve --test-clock): look again at what is due.
  void clock_changed();

  const LineConfig& config() const { return config_; }
  const procedure::RequestBook& book() const { return book_; }
  procedure::SyncFacts facts() const;
  procedure::RequestState state_of(const procedure::Request& request) const {
    return book_.view(request, facts());
  }
  const record::PublicKey& local() const { return link_.parties().local; }
  const record::PublicKey& peer() const { return link_.parties().peer; }
  const LinkTestStatus& link_tests() const { return tests_; }
  const record::LineId& link_id() const { return link_.parties().id; }
  Micros now() const { return link_.clock().now(); }
  // The latest author time of an entry of each party's chain held here (0 for none): what the
  // report (procedure/report.h) is computed up to.
  Micros own_entries_until() const { return own_until_; }
  Micros peer_entries_until() const { return peer_entries_until_; }
  // The latest messages of both chains (up to 50 of each), oldest first, with their translations
  // and acknowledgements.
  nlohmann::json recent_messages_json() const;
  // Notices about `subject` (flags such as an implausible decision time included).
  std::vector<store::NoticeRow> notices_about(const std::string& subject) const;

  using Done = std::function<void(Result<procedure::EntryRef>)>;

  void create_request(const NewRequest& request, const Actor& actor, Done done);
  void take_step(const procedure::EntryRef& id, procedure::Step step, const StepInput& input,
                 const Actor& actor, std::function<void(Result<StepOutcome>)> done);
  void confirm_draft(std::uint64_t draft, const Actor& actor,
                     std::function<void(Result<StepOutcome>)> done);
  Result<store::DecisionDraft> discard_draft(std::uint64_t draft, const Actor& actor,
                                             const std::string& reason);
  void ack_message(const procedure::EntryRef& id, const Actor& actor, Done done);
  void translate(const procedure::EntryRef& entry, const std::string& language,
                 const std::string& text, const Actor& actor, Done done);
  // The acknowledgement deadline a FLASH message sent now gets (none for other precedences).
  std::optional<Micros> message_ack_deadline(Precedence precedence) const;

  // Where the desk reports what a console shows live (api/event_hub.h): "entry" for every entry
  // stored on either chain, "receipt" when the peer's receipt covers more of our chain, "request"
  // for a request whose state or steps changed, "notice" for every notice raised.
  using EventSink = std::function<void(const std::string& type, nlohmann::json data)>;
  void set_event_sink(EventSink sink) { events_ = std::move(sink); }

 private:
  void on_stored(Result<std::vector<record::SignedEntry>> entries);
  void on_peer_checkpoint(const record::SignedCheckpoint& checkpoint, bool holds_head);
  void on_opened();
  bool keep(const record::SignedEntry& entry) const;
  bool take_in(const record::SignedEntry& entry);
  void reproject();
  // Writes the request_states table if `record_changed` or a state changed since it was written.
  void save_states(bool record_changed = false);
  void publish_requests(const std::vector<store::RequestStateRow>& rows);
  void publish(const std::string& type, nlohmann::json data);
  void react(const std::vector<record::SignedEntry>& fresh);
  void flag_outside_terms(const record::SignedEntry& entry);
  void author_automatic(std::string kind, cbor::Value body, std::string what);
  void author_step(const procedure::EntryRef& id, procedure::Step step, cbor::Value body,
                   std::function<void(Result<procedure::EntryRef>)> done);
  Result<cbor::Value> step_body(const procedure::EntryRef& id, procedure::Step step,
                                const StepInput& input, const procedure::Signatories& who) const;
  void answer_peer_tests();
  void deliver_peer_requests();

  // The scheduler.
  void arm();
  void tick();
  void raise(const std::string& subject, const std::string& kind, const std::string& audience,
             Micros at, const std::string& message);
  bool raised(const std::string& subject, const std::string& kind) const;
  Micros due_reminders(Micros now);
  Micros due_messages(Micros now);
  Micros due_tests(Micros now);

  link::asio::io_context& io_;
  line::LineLink& link_;
  store::RecordStore& store_;
  LineConfig config_;
  link::asio::steady_timer timer_;
  bool stopped_ = false;
  EventSink events_;
  // Each request as last published to the event sink, to publish only what changed.
  std::map<procedure::EntryRef, std::string> published_;

  // The entries of each chain that the procedure reads, in seq order.
  std::vector<record::SignedEntry> own_entries_;
  std::vector<record::SignedEntry> peer_entries_;
  procedure::RequestBook book_;
  Micros own_until_ = 0;   // author time of the latest own entry stored
  Micros peer_until_ = 0;  // of the latest peer entry stored, or a peer checkpoint whose head
                           // this station holds
  Micros peer_entries_until_ = 0;  // of the latest peer entry stored
  // What the request_states table holds (request id → state), once written this run.
  std::optional<std::map<procedure::EntryRef, procedure::RequestState>> saved_;
  std::set<std::pair<std::string, std::string>> raised_;        // notices: (subject, kind)
  std::map<std::string, std::vector<store::NoticeRow>> flags_;  // by subject, this run

  // Link tests: own tests by seq (author time, answered?), and the peer's awaiting an answer.
  struct OwnTest {
    std::uint64_t number = 0;
    Micros sent_at = 0;
    bool answered = false;
  };
  std::map<std::uint64_t, OwnTest> own_tests_;
  std::set<std::uint64_t> peer_tests_unanswered_;
  std::set<procedure::EntryRef> delivered_pending_;  // peer requests without our "delivered"
  LinkTestStatus tests_;
  bool test_in_flight_ = false;             // a test entry is being authored
  std::optional<Micros> started_tests_at_;  // the first test is due an interval after this
  std::set<std::string> authoring_;         // automatic entries being authored (no duplicates)
};

}  // namespace hotline::station
