#include "core/duration.h"

#include <gtest/gtest.h>

namespace hotline {
namespace {

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "48", "h", "5x", "1h 30m", "-5m", "0s", "99999999999999999999h"}) {
    auto parsed = parse_duration(text);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) {
      EXPECT_NE(parsed.error().message.find("duration"), std::string::npos);
    }
  }
}

TEST(Duration, ParsesUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("48h").value(), 48LL * 3600 * kMicrosPerSecond);
  EXPECT_EQ(parse_duration("15m").value(), 15LL * 60 * kMicrosPerSecond);
  EXPECT_EQ(parse_duration("1h30m").value(), 90LL * 60 * kMicrosPerSecond);
  EXPECT_EQ(parse_duration("250ms").value(), 250'000);
  EXPECT_EQ(parse_duration("2d").value(), 48LL * 3600 * kMicrosPerSecond);
}

TEST(Duration, FormatsTheShortestExactForm) {
  EXPECT_EQ(format_duration(48LL * 3600 * kMicrosPerSecond), "48h");
  EXPECT_EQ(format_duration(90LL * 60 * kMicrosPerSecond), "1h30m");
  EXPECT_EQ(format_duration(10 * kMicrosPerSecond), "10s");
  EXPECT_EQ(parse_duration(format_duration(3723 * kMicrosPerSecond)).value(),
            3723 * kMicrosPerSecond);
}

}  // namespace
}  // namespace hotline
