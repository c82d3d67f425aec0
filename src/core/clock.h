// core/clock.h — the only source of time (style.md: no code outside core/ reads the clock).
//
// Times are integer microseconds since the Unix epoch, UTC (design.md §3).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotline {

using Micros = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual Micros now() const = 0;
};

// The operating system's real-time clock.
class SystemClock final : public Clock {
 public:
  Micros now() const override;
};

// A clock that moves only when told; for tests and `serve --test-clock`. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros start) : now_(start) {}
  Micros now() const override { return now_.load(); }
  void set(Micros t) { now_.store(t); }
  void advance(Micros delta) { now_.fetch_add(delta); }

 private:
  std::atomic<Micros> now_;
};

// The real clock moved by an offset that only ever grows: `serve --test-clock`, so that tests can
// make hours pass (deadlines, reminders) without sleeping, while the link's timers run on real
// time. Thread-safe.
class ShiftedClock final : public Clock {
 public:
  explicit ShiftedClock(Micros offset = 0) : offset_(offset) {}
  Micros now() const override;
  Micros offset() const { return offset_.load(); }
  void advance(Micros delta) { offset_.fetch_add(delta); }

 private:
  SystemClock system_;
  std::atomic<Micros> offset_;
};

// `time` as people read it, in UTC to the second: "2027-01-15T08:00:00Z" (ISO 8601).
std::string format_utc(Micros time);
// Parses "2027-01-15T08:00:00Z" or "2027-01-15T08:00Z" (UTC, as format_utc writes it, seconds
// optional); kInvalidArgument naming the text otherwise.
[[nodiscard]] Result<Micros> parse_utc(std::string_view text);

// A monotonic reading for measuring durations (benchmarks, timeouts), in nanoseconds.
std::int64_t monotonic_nanos();

}  // namespace hotline
