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

}  // namespace
}  // namespace hotline
