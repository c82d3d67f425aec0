#include "core/clock.h"

#include <chrono>
#include <ctime>

namespace hotline {

Micros SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_utc(Micros time) {
  // Floor, not truncation, so that a time before 1970 names the second it falls in.
  std::time_t seconds = static_cast<std::time_t>(time / 1'000'000 - (time % 1'000'000 < 0 ? 1 : 0));
  std::tm utc{};
  char text[32];
  if (::gmtime_r(&seconds, &utc) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
    return std::to_string(time) + "us";  // beyond what the calendar functions handle
  }
  return text;
}

std::int64_t monotonic_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hotline
