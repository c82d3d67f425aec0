#include "core/cbor.h"

#include <gtest/gtest.h>

namespace hotline::cbor {
namespace {

Bytes hex(std::string_view h) { return from_hex(h).value(); }

void expect_rejected(std::string_view input, std::string_view why) {
  auto decoded = decode(hex(input));
  ASSERT_FALSE(decoded.ok()) << input << " was accepted";
  EXPECT_EQ(decoded.error().code, Errc::kMalformed);
  EXPECT_NE(decoded.error().message.find(why), std::string::npos)
      << "message: " << decoded.error().message;
}

TEST(CborDecode, RejectsNonShortestIntegers) {
  expect_rejected("1801", "shortest");
  expect_rejected("190017", "shortest");
  expect_rejected("1a0000ffff", "shortest");
  expect_rejected("1b00000000ffffffff", "shortest");
}

TEST(CborDecode, RejectsNonShortestLengths) { expect_rejected("580161", "shortest"); }

TEST(CborDecode, RejectsIndefiniteLengths) {
  expect_rejected("5f4101ff", "indefinite");
  expect_rejected("9f01ff", "indefinite");
  expect_rejected("bf0101ff", "indefinite");
}

TEST(CborDecode, RejectsTagsFloatsAndOtherSimpleValues) {
  expect_rejected("c11a514b67b0", "tags");
  expect_rejected("f93c00", "floats");
  expect_rejected("f7", "simple");  // undefined
  expect_rejected("f820", "simple");
}

TEST(CborDecode, RejectsNegativeIntegersBelowInt64) {
  expect_rejected("3b8000000000000000", "below -2^63");
  auto lowest = decode(hex("3b7fffffffffffffff"));
  ASSERT_TRUE(lowest.ok());
  EXPECT_EQ(*lowest, Value::integer(INT64_MIN));
}

TEST(CborDecode, RejectsTrailingBytes) { expect_rejected("0100", "trailing"); }

TEST(CborDecode, RejectsTruncatedInput) {
  expect_rejected("", "end of input");
  expect_rejected("19", "truncated");
  expect_rejected("4301", "runs past");
  expect_rejected("8201", "too long");  // two elements cannot fit in one byte
}

TEST(CborDecode, RejectsUnsortedAndDuplicateMapKeys) {
  expect_rejected("a202010101", "ascending");
  expect_rejected("a201010101", "duplicated");
  // Bytewise order of encodings: 0x18 0x18 (24) sorts after 0x17 (23), and "a" (0x61 0x61) after 1.
  EXPECT_TRUE(decode(hex("a21701181801")).ok());
  expect_rejected(
      "a2616101"
      "0101",
      "ascending");
}

TEST(CborDecode, RejectsInvalidUtf8) {
  expect_rejected("61ff", "UTF-8");
  expect_rejected("62c0af", "UTF-8");      // overlong
  expect_rejected("63eda080", "UTF-8");    // surrogate
  expect_rejected("64f4908080", "UTF-8");  // above U+10FFFF
}

TEST(CborDecode, RejectsExcessiveNesting) {
  std::string deep(2 * 20, '8');
  for (std::size_t i = 1; i < deep.size(); i += 2) {
    deep[i] = '1';
  }
  expect_rejected(deep + "00", "nesting");
}

TEST(CborDecode, RejectsLengthsBeyondInput) { expect_rejected("9bffffffffffffffff", "too long"); }

TEST(CborRoundTrip, EncodesDeterministically) {
  Value v = Value::map({{Value::uint(10), Value::text("x")},
                        {Value::uint(1), Value::integer(-500)},
                        {Value::uint(2), Value::array({Value::bytes(Bytes{1, 2}), Value::null(),
                                                       Value::boolean(true)})}});
  Bytes encoded = encode(v);
  EXPECT_EQ(to_hex(encoded), "a3013901f30283420102f6f50a6178");
  auto decoded = decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, v);
  EXPECT_EQ(encode(*decoded), encoded);
}

}  // namespace
}  // namespace hotline::cbor
