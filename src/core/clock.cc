#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace hotline {

Micros ShiftedClock::now() const { return system_.now() + offset_.load(); }

Result<Micros> parse_utc(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char tail[2] = {0, 0};
  const std::string copy(text);
  const bool with_seconds = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%1s", &year, &month,
                                        &day, &hour, &minute, &second, tail) == 7;
  const bool without_seconds =
      !with_seconds && std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d%1s", &year, &month, &day,
                                   &hour, &minute, tail) == 6;
  if ((!with_seconds && !without_seconds) || tail[0] != 'Z' ||
      copy.size() != (with_seconds ? 20u : 17u) || month < 1 || month > 12 || day < 1 || day > 31 ||
      hour > 23 || minute > 59 || second > 60) {
    return make_error(
        Errc::kInvalidArgument,
        "'" + copy + "' is not a UTC time like 2027-01-15T08:00:00Z or 2027-01-15T08:00Z");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (tm.tm_mday != day) {
    return make_error(Errc::kInvalidArgument, "'" + copy + "' names a day that does not exist");
  }
  return static_cast<Micros>(t) * 1'000'000;
}

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
