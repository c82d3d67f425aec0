// api/event_hub.h — the live event stream behind GET /api/v1/events (design.md §6).
//
// Everything a console must show as it happens is published here as an event: an entry stored on
// a line, a request's state changing, a notice (reminder, deadline, alarm), a line's health
// changing. Each event gets the next id. The hub keeps the last `capacity` events, so that a
// console that lost its connection resumes from the last id it saw and misses nothing. Ids carry
// the hub's epoch (random per station start): an id from an earlier start, or one older than what
// the hub still holds, cannot be resumed, and the console is told to reload instead ("reset")
// rather than silently missing events.
//
// Not thread-safe: publish and subscribe on the station's io thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "procedure/roles.h"

namespace hotline::api {

struct Event {
  std::uint64_t number = 0;  // 1, 2, 3, … within the epoch
  Micros at = 0;
  std::string type;  // "entry", "receipt", "request", "notice", "line", "alarm", "security"
  // Who may see it: events about the exchanges need kReadRecord; line health is for everyone.
  std::optional<procedure::Action> needs;
  nlohmann::json data;
};

class EventHub {
 public:
  using Listener = std::function<void(const Event&)>;

  EventHub(const Clock& clock, std::size_t capacity);

  // Publishes an event to every listener, and keeps it for resuming.
  void publish(std::string type, nlohmann::json data, std::optional<procedure::Action> needs);

  // The events after the one whose id is `after` (as id_of writes it), oldest first; nullopt if
  // that id cannot be resumed from (another epoch, malformed, or older than the oldest kept).
  std::optional<std::vector<Event>> since(const std::string& after) const;
  // The id of the newest event ("<epoch>-0" before any).
  std::string last_id() const;
  // "<epoch>-<number>": what the stream sends as an event's id.
  std::string id_of(const Event& event) const;

  // Calls `listener` for every event published from now on, until unsubscribe(token).
  std::uint64_t subscribe(Listener listener);
  void unsubscribe(std::uint64_t token);

  // The event as the stream sends it: {"id", "type", "at", "data"}.
  nlohmann::json to_json(const Event& event) const;

 private:
  const Clock& clock_;
  std::size_t capacity_;
  std::string epoch_;
  std::uint64_t next_number_ = 1;
  std::deque<Event> kept_;
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, Listener> listeners_;
};

}  // namespace hotline::api
