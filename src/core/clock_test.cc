// Times as people read them.
#include "core/clock.h"

#include <gtest/gtest.h>

namespace hotline {
namespace {

TEST(FormatUtc, IsIso8601ToTheSecondInUtc) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(1'800'000'000'999'999), "2027-01-15T08:00:00Z");
  EXPECT_EQ(format_utc(-1), "1969-12-31T23:59:59Z");
}

TEST(ParseUtc, ReadsWhatFormatUtcWritesWithOrWithoutSeconds) {
  EXPECT_EQ(parse_utc("2027-01-15T08:00:00Z").value(), 1'800'000'000'000'000);
  EXPECT_EQ(parse_utc("2027-01-15T08:00Z").value(), 1'800'000'000'000'000);
  EXPECT_EQ(parse_utc(format_utc(1'234'567'890'000'000)).value(), 1'234'567'890'000'000);
  EXPECT_EQ(parse_utc("1970-01-01T00:00:00Z").value(), 0);
}

TEST(ParseUtc, RefusesAnythingElseNamingTheText) {
  for (const char* bad : {"", "yesterday", "2027-01-15", "2027-01-15T08:00:00", "2027-13-01T00:00Z",
                          "2027-01-15T25:00Z", "2027-01-15T08:00:00+02:00", "2027-01-15 08:00Z"}) {
    auto parsed = parse_utc(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidArgument) << bad;
    EXPECT_NE(parsed.error().message.find(bad), std::string::npos) << parsed.error().message;
  }
}

TEST(ShiftedClock, RunsAheadOfTheRealClockByWhatItWasAdvanced) {
  SystemClock real;
  ShiftedClock shifted;
  EXPECT_EQ(shifted.offset(), 0);
  shifted.advance(3'600'000'000);
  shifted.advance(60'000'000);
  EXPECT_EQ(shifted.offset(), 3'660'000'000);
  const Micros before = real.now();
  const Micros moved = shifted.now();
  const Micros after = real.now();
  EXPECT_GE(moved, before + 3'660'000'000);
  EXPECT_LE(moved, after + 3'660'000'000);
}

}  // namespace
}  // namespace hotline
