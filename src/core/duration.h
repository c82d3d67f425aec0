// core/duration.h — durations as people write them in configuration and flags: "48h", "15m",
// "90s", "1h30m", "250ms". Microseconds inside, like every time in Hotline.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace hotline {

inline constexpr Micros kMicrosPerSecond = 1'000'000;

// Parses one or more <number><unit> parts (units: d, h, m, s, ms), e.g. "1h30m". Rejects an empty
// string, a missing unit, a zero total and overflow, naming what was wrong.
[[nodiscard]] Result<Micros> parse_duration(std::string_view text);

// The shortest exact form: 172800000000 → "48h", 5400000000 → "1h30m".
std::string format_duration(Micros duration);

}  // namespace hotline
