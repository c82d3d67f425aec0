#include "core/duration.h"

#include <cctype>
#include <limits>

namespace hotline {
namespace {

struct DurationUnit {
  std::string_view name;
  Micros micros;
};

// Longest names first, so that "ms" is not read as "m".
constexpr DurationUnit kUnits[] = {{"ms", 1'000},
                                   {"d", 86'400 * kMicrosPerSecond},
                                   {"h", 3'600 * kMicrosPerSecond},
                                   {"m", 60 * kMicrosPerSecond},
                                   {"s", kMicrosPerSecond}};

Error bad(std::string_view text, const std::string& why) {
  return make_error(Errc::kInvalidArgument, "duration '" + std::string(text) + "': " + why +
                                                " (write e.g. 48h, 15m, 90s or 1h30m)");
}

}  // namespace

Result<Micros> parse_duration(std::string_view text) {
  if (text.empty()) {
    return bad(text, "is empty");
  }
  Micros total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return bad(text, "expected a number at position " + std::to_string(i + 1));
    }
    Micros number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number > (std::numeric_limits<Micros>::max() - 9) / 10) {
        return bad(text, "is too large");
      }
      number = number * 10 + (text[i++] - '0');
    }
    const DurationUnit* unit = nullptr;
    for (const DurationUnit& u : kUnits) {
      if (text.substr(i).starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return bad(text, "missing or unknown unit at position " + std::to_string(i + 1));
    }
    i += unit->name.size();
    if (number > (std::numeric_limits<Micros>::max() - total) / unit->micros) {
      return bad(text, "is too large");
    }
    total += number * unit->micros;
  }
  if (total == 0) {
    return bad(text, "must be longer than zero");
  }
  return total;
}

std::string format_duration(Micros duration) {
  if (duration <= 0) {
    return "0s";
  }
  std::string out;
  Micros rest = duration;
  // Hours, not days: deadlines are thought of in hours ("48h", design.md §1).
  for (const DurationUnit& u : {kUnits[2], kUnits[3], kUnits[4], kUnits[0]}) {
    if (rest >= u.micros) {
      out += std::to_string(rest / u.micros) + std::string(u.name);
      rest %= u.micros;
    }
  }
  if (rest > 0) {
    out += std::to_string(rest) + "us";
  }
  return out;
}

}  // namespace hotline
