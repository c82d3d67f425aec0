// core/clock.h — the only source of time (style.md: no code outside core/ reads the clock).
//
// Times are integer microseconds since the Unix epoch, UTC (design.md §3).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

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

// `time` as people read it, in UTC to the second: "2027-01-15T08:00:00Z" (ISO 8601).
std::string format_utc(Micros time);

// A monotonic reading for measuring durations (benchmarks, timeouts), in nanoseconds.
std::int64_t monotonic_nanos();

}  // namespace hotline
