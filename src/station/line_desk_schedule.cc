// The LineDesk's scheduler: reminders, escalations, expiry, unanswered FLASH messages and link
// tests, each fired when the station's clock reaches it (station/line_desk.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "core/duration.h"
#include "station/line_desk.h"
#include "station/procedure_json.h"

namespace hotline::station {

namespace asio = link::asio;
using procedure::entry_id_text;
using procedure::Request;
using procedure::RequestState;

namespace {

constexpr Micros kNever = std::numeric_limits<Micros>::max();
// The scheduler looks again at least this often, so that a clock that jumps (NTP) is noticed.
constexpr Micros kLongestSleep = 30 * kMicrosPerSecond;

std::string reminder_label(procedure::Reminder::What what) {
  switch (what) {
    case procedure::Reminder::What::kAck50:
      return "ack-50";
    case procedure::Reminder::What::kAck90:
      return "ack-90";
    case procedure::Reminder::What::kResponse50:
      return "response-50";
    case procedure::Reminder::What::kResponse90:
      return "response-90";
    case procedure::Reminder::What::kExpiry:
      return "deadline";
  }
  return "reminder";
}

// Reminders at 90 % and the deadline itself escalate to the principals (design.md §2).
std::string audience_of(procedure::Reminder::What what) {
  return what == procedure::Reminder::What::kAck50 || what == procedure::Reminder::What::kResponse50
             ? "operators"
             : "principals";
}

}  // namespace

bool LineDesk::raised(const std::string& subject, const std::string& kind) const {
  return raised_.count({subject, kind}) != 0;
}

void LineDesk::raise(const std::string& subject, const std::string& kind,
                     const std::string& audience, Micros at, const std::string& message) {
  if (raised(subject, kind)) {
    return;
  }
  store::NoticeRow notice;
  notice.line = link_.parties().id;
  notice.subject = subject;
  notice.kind = kind;
  notice.audience = audience;
  notice.at = at;
  notice.raised_at = link_.clock().now();
  notice.message = message;
  auto added = store_.add_notice(notice);
  if (!added.ok()) {
    // Raised in this run regardless, so that it is not raised in a loop; logged either way.
    spdlog::error("line {}: cannot store a notice: {}", config_.name, added.error().message);
  }
  raised_.emplace(subject, kind);
  publish("notice", {{"notice", notice_json(notice)}});
  if (is_flag(kind)) {
    flags_[subject].push_back(notice);
  }
  if (audience == "principals") {
    spdlog::warn("ESCALATION line {} to the principals: {}", config_.name, message);
  } else {
    spdlog::info("NOTICE line {}: {}", config_.name, message);
  }
}

void LineDesk::tick() {
  if (stopped_) {
    return;
  }
  const Micros now = link_.clock().now();
  save_states();  // a deadline may have passed
  const Micros next = std::min({due_reminders(now), due_messages(now), due_tests(now)});
  const Micros sleep =
      std::clamp<Micros>(next == kNever ? kLongestSleep : next - now, 1000, kLongestSleep);
  timer_.expires_after(std::chrono::microseconds(sleep));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      tick();
    }
  });
}

// Fires the reminders that are due; returns when the next one is.
Micros LineDesk::due_reminders(Micros now) {
  Micros next = kNever;
  const procedure::SyncFacts facts = this->facts();
  for (const auto& [id, request] : book_.requests()) {
    const std::string subject = entry_id_text(id);
    const RequestState state = book_.view(request, facts);
    const bool ours = request.requester == local();
    if (state == RequestState::kExpired && request.state != RequestState::kExpired &&
        request.awaiting == local()) {
      // Ours to answer and we did not: our station records the expiry on our own chain, which
      // also shows the peer at once that our chain reaches past the deadline.
      author_automatic(
          "expired", procedure::encode_body(procedure::ExpiredBody{id, request.response_deadline}),
          "expired " + subject);
    }
    if (state == RequestState::kExpired) {
      raise(subject, "expired", "principals", request.response_deadline,
            "request " + subject + " expired: no decision was authored before " +
                format_utc(request.response_deadline));
    } else if (state == RequestState::kExpiredUnconfirmed) {
      raise(subject, "expired-unconfirmed", "principals", request.response_deadline,
            "request " + subject + ": the deadline " + format_utc(request.response_deadline) +
                " has passed; expired unless a decision authored in time is still on its way");
    }
    // A counter-proposal has reminders of its own.
    const auto counters =
        std::count_if(request.history.begin(), request.history.end(),
                      [](const procedure::HistoryItem& h) { return h.kind == "counter"; });
    for (const procedure::Reminder& reminder : procedure::reminders(request)) {
      std::string kind = reminder_label(reminder.what);
      const bool ack = reminder.what == procedure::Reminder::What::kAck50 ||
                       reminder.what == procedure::Reminder::What::kAck90;
      if (!ack && counters > 0) {
        kind.append("/").append(std::to_string(counters + 1));
      }
      if (reminder.at > now) {
        next = std::min(next, reminder.at);
        continue;
      }
      if (raised(subject, kind)) {
        continue;
      }
      const bool ours_to_answer = ack ? !ours : request.awaiting == local();
      const Micros deadline = ack ? request.ack_deadline : request.response_deadline;
      std::string message = "request " + subject + " (" + request.proposal.topic + "): ";
      if (reminder.what == procedure::Reminder::What::kExpiry) {
        message += "the response deadline " + format_utc(deadline) + " has passed";
      } else {
        message += std::string(ack ? "acknowledgement" : "decision") + " due " +
                   format_utc(deadline) + (ours_to_answer ? "; it is ours to give" : "; none yet") +
                   " (" + kind + " %)";
      }
      raise(subject, kind, audience_of(reminder.what), reminder.at, message);
    }
  }
  return next;
}

// FLASH messages not acknowledged in time escalate, at both stations.
Micros LineDesk::due_messages(Micros now) {
  Micros next = kNever;
  for (const auto& [id, message] : book_.messages()) {
    if (message.ack || !message.body.ack_deadline) {
      continue;
    }
    const Micros deadline = *message.body.ack_deadline;
    if (deadline > now) {
      next = std::min(next, deadline);
      continue;
    }
    const std::string subject = entry_id_text(id);
    raise(subject, "flash-unacknowledged", "principals", deadline,
          "FLASH message " + subject + (id.author == local() ? " sent by us" : " from the peer") +
              " was not acknowledged by " + format_utc(deadline));
  }
  return next;
}

// Sends the line's test when due, and raises the alarm for a test left unanswered.
Micros LineDesk::due_tests(Micros now) {
  const LineTerms& terms = config_.terms;
  Micros next = kNever;
  for (const auto& [seq, test] : own_tests_) {
    if (test.answered) {
      continue;
    }
    const Micros by = test.sent_at + terms.test_answer_within;
    if (by > now) {
      next = std::min(next, by);
      continue;
    }
    const std::string subject = "test-" + std::to_string(test.number);
    if (!raised(subject, "link-test-missed")) {
      ++tests_.missed;
      spdlog::critical("ALARM line {}: link test {} (entry {}) was not answered within {}",
                       config_.name, test.number, seq, format_duration(terms.test_answer_within));
      raise(subject, "link-test-missed", "principals", by,
            "link test " + std::to_string(test.number) + " was not answered within " +
                format_duration(terms.test_answer_within) + ": the peer station may be down");
    }
  }
  if (terms.test_interval <= 0 || !link_.own_chain_confirmed()) {
    return next;
  }
  if (!started_tests_at_) {
    started_tests_at_ = now;
  }
  const Micros due = tests_.last_sent_at ? *tests_.last_sent_at + terms.test_interval
                                         : *started_tests_at_ + terms.test_interval;
  if (due > now) {
    return std::min(next, due);
  }
  if (test_in_flight_) {
    return next;
  }
  test_in_flight_ = true;
  procedure::LinkTestBody body{tests_.sent + 1, tests_.last_round_trip};
  link_.author_now("test", procedure::encode_link_test(body), [this](Result<std::uint64_t> seq) {
    test_in_flight_ = false;
    if (!seq.ok()) {
      spdlog::warn("line {}: cannot send the link test: {}", config_.name, seq.error().message);
    }
  });
  return std::min(next, now + terms.test_interval);
}

}  // namespace hotline::station
