#include "core/bytes.h"

#include <gtest/gtest.h>

namespace hotline {
namespace {

TEST(Hex, RejectsOddLengthAndBadDigits) {
  EXPECT_EQ(from_hex("abc").error().code, Errc::kInvalidArgument);
  auto bad = from_hex("zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("offset"), std::string::npos);
}

TEST(Hex, RoundTrips) {
  Bytes b{0x00, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "00abff");
  EXPECT_EQ(from_hex("00ABff").value(), b);
}

TEST(Base64, RejectsGarbageAndMissingPadding) {
  EXPECT_FALSE(from_base64("AAA").ok());
  EXPECT_FALSE(from_base64("A$==").ok());
  EXPECT_FALSE(from_base64("AA==\n").ok());
}

TEST(Base64, RoundTrips) {
  Bytes b{1, 2, 3, 4, 5};
  EXPECT_EQ(to_base64(b), "AQIDBAU=");
  EXPECT_EQ(from_base64("AQIDBAU=").value(), b);
}

}  // namespace
}  // namespace hotline
