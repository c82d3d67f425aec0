#include "api/event_hub.h"

#include <sodium.h>

#include <charconv>

#include "core/bytes.h"

namespace hotline::api {

EventHub::EventHub(const Clock& clock, std::size_t capacity) : clock_(clock), capacity_(capacity) {
  Bytes epoch(8);
  randombytes_buf(epoch.data(), epoch.size());
  epoch_ = to_hex(epoch);
}

void EventHub::publish(std::string type, nlohmann::json data,
                       std::optional<procedure::Action> needs) {
  Event event{next_number_++, clock_.now(), std::move(type), needs, std::move(data)};
  kept_.push_back(event);
  while (kept_.size() > capacity_) {
    kept_.pop_front();
  }
  // A listener may unsubscribe (its connection failed) while being called: iterate over a copy.
  std::vector<Listener> listeners;
  listeners.reserve(listeners_.size());
  for (const auto& [token, listener] : listeners_) {
    listeners.push_back(listener);
  }
  for (const Listener& listener : listeners) {
    listener(event);
  }
}

std::optional<std::vector<Event>> EventHub::since(const std::string& after) const {
  const std::size_t dash = after.rfind('-');
  if (dash == std::string::npos || after.substr(0, dash) != epoch_) {
    return std::nullopt;
  }
  std::uint64_t number = 0;
  const char* first = after.data() + dash + 1;
  const char* last = after.data() + after.size();
  auto [end, ec] = std::from_chars(first, last, number);
  if (ec != std::errc() || end != last || first == last || number >= next_number_) {
    return std::nullopt;
  }
  // Resumable only if every event after `number` is still kept.
  const std::uint64_t oldest_kept = kept_.empty() ? next_number_ : kept_.front().number;
  if (number + 1 < oldest_kept) {
    return std::nullopt;
  }
  std::vector<Event> events;
  for (const Event& event : kept_) {
    if (event.number > number) {
      events.push_back(event);
    }
  }
  return events;
}

std::string EventHub::last_id() const { return epoch_ + "-" + std::to_string(next_number_ - 1); }

std::string EventHub::id_of(const Event& event) const {
  return epoch_ + "-" + std::to_string(event.number);
}

std::uint64_t EventHub::subscribe(Listener listener) {
  const std::uint64_t token = next_token_++;
  listeners_.emplace(token, std::move(listener));
  return token;
}

void EventHub::unsubscribe(std::uint64_t token) { listeners_.erase(token); }

nlohmann::json EventHub::to_json(const Event& event) const {
  return {{"id", id_of(event)},
          {"type", event.type},
          {"at", format_utc(event.at)},
          {"at_us", event.at},
          {"data", event.data}};
}

}  // namespace hotline::api
