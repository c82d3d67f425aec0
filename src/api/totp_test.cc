// TOTP: the codes an authenticator app shows are accepted once, within a step of the station's
// clock; anything else is refused; enrolment produces a URI and a QR code the apps can read.
#include "api/totp.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace hotline::api {
namespace {

// RFC 6238 Appendix B: the ASCII secret "12345678901234567890" in base32.
const std::string kRfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

Micros at_seconds(std::int64_t seconds) { return seconds * 1'000'000; }

// The step check_totp accepts `code` for at `seconds` past the epoch; nullopt if it refuses it.
std::optional<TotpStep> accepted_step(std::string_view code, std::int64_t seconds,
                                      std::optional<TotpStep> last_accepted_step = std::nullopt) {
  auto checked = check_totp(kRfcSecret, code, at_seconds(seconds), last_accepted_step);
  EXPECT_TRUE(checked.ok()) << checked.error().message;
  return checked.ok() ? *checked : std::nullopt;
}

// --- errors -------------------------------------------------------------------------------------

TEST(Totp, MalformedCodesAreRefusedNotErrors) {
  for (const char* code : {"", "12345", "1234567", "12a456", " 123456", "123456 ", "-12345",
                           "+12345", "１２３４５６"}) {
    EXPECT_EQ(accepted_step(code, 59), std::nullopt) << "code \"" << code << "\"";
  }
}

TEST(Totp, ADamagedSecretIsAnError) {
  auto not_base32 = check_totp("not base32!", "287082", at_seconds(59), std::nullopt);
  ASSERT_FALSE(not_base32.ok());
  EXPECT_EQ(not_base32.error().code, Errc::kInvalidArgument);

  auto too_short = check_totp("GEZDGNBVGY3TQOJQ", "287082", at_seconds(59), std::nullopt);
  ASSERT_FALSE(too_short.ok());
  EXPECT_EQ(too_short.error().code, Errc::kInvalidArgument);
  EXPECT_NE(too_short.error().message.find("too short"), std::string::npos);

  auto empty = check_totp("", "287082", at_seconds(59), std::nullopt);
  ASSERT_FALSE(empty.ok());
}

TEST(Totp, AWrongCodeIsRefused) {
  EXPECT_EQ(accepted_step("287083", 59), std::nullopt);
  EXPECT_EQ(accepted_step("000000", 59), std::nullopt);
}

TEST(Totp, TimesBeforeTheEpochAcceptNothing) {
  EXPECT_EQ(accepted_step("287082", -1), std::nullopt);
}

TEST(Totp, QrCodeRefusesEmptyTextNulBytesAndTextTooLong) {
  auto empty = qr_svg("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::kInvalidArgument);

  auto with_nul = qr_svg(std::string("otpauth://\0x", 12));
  ASSERT_FALSE(with_nul.ok());
  EXPECT_EQ(with_nul.error().code, Errc::kInvalidArgument);

  // A version 40 symbol at level M holds at most 2,331 bytes.
  auto too_long = qr_svg(std::string(3000, 'x'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, Errc::kInvalidArgument);
  EXPECT_NE(too_long.error().message.find("too long"), std::string::npos);
}

// --- RFC 6238 Appendix B, SHA-1, last 6 of the 8 digits -----------------------------------------

TEST(Totp, AcceptsTheRfc6238Vectors) {
  EXPECT_EQ(accepted_step("287082", 59), 1);
  EXPECT_EQ(accepted_step("081804", 1111111109), 37037036);
  EXPECT_EQ(accepted_step("050471", 1111111111), 37037037);
  EXPECT_EQ(accepted_step("005924", 1234567890), 41152263);
  EXPECT_EQ(accepted_step("279037", 2000000000), 66666666);
}

// --- clock skew ---------------------------------------------------------------------------------

// 1111111109 and 1111111111 fall in neighbouring steps, 37037036 and 37037037.
TEST(Totp, AcceptsTheCodeOfTheNextStep) {
  EXPECT_EQ(accepted_step("050471", 1111111109), 37037037);
}

TEST(Totp, AcceptsTheCodeOfThePreviousStep) {
  EXPECT_EQ(accepted_step("081804", 1111111111), 37037036);
}

TEST(Totp, RefusesACodeTwoStepsAway) {
  // Step 37037038: the code of step 37037036 is two steps old.
  EXPECT_EQ(accepted_step("081804", 1111111111 + 30), std::nullopt);
  // Step 37037035: the code of step 37037037 is two steps ahead.
  EXPECT_EQ(accepted_step("050471", 1111111109 - 30), std::nullopt);
}

// --- replay -------------------------------------------------------------------------------------

TEST(Totp, ACodeIsAcceptedOnlyOnce) {
  const auto first = accepted_step("050471", 1111111111);
  ASSERT_EQ(first, 37037037);
  EXPECT_EQ(accepted_step("050471", 1111111111, first), std::nullopt);
  EXPECT_EQ(accepted_step("050471", 1111111111 + 20, first), std::nullopt);
}

TEST(Totp, ACodeOlderThanTheLastAcceptedOneIsRefused) {
  // Someone logged in with the next step's code; the current one, seen earlier, is now spent.
  EXPECT_EQ(accepted_step("081804", 1111111109, 37037037), std::nullopt);
}

TEST(Totp, ANewerCodeIsAcceptedAfterAnOlderOne) {
  EXPECT_EQ(accepted_step("050471", 1111111111, 37037036), 37037037);
}

// --- secrets ------------------------------------------------------------------------------------

TEST(Totp, NewSecretsAre32Base32CharactersAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string secret = new_totp_secret();
    ASSERT_EQ(secret.size(), kTotpSecretCharacters);
    EXPECT_EQ(secret.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos)
        << secret;
    seen.insert(secret);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(Totp, ANewSecretIsUsableByCheckTotp) {
  auto checked = check_totp(new_totp_secret(), "123456", at_seconds(1700000000), std::nullopt);
  EXPECT_TRUE(checked.ok());
}

// --- enrolment ----------------------------------------------------------------------------------

TEST(Totp, UriHasTheParametersTheAppsExpect) {
  EXPECT_EQ(totp_uri("Hotline", "ana", kRfcSecret),
            "otpauth://totp/Hotline:ana?secret=" + kRfcSecret +
                "&issuer=Hotline&algorithm=SHA1&digits=6&period=30");
}

TEST(Totp, UriEscapesSpacesColonsAndAmpersands) {
  EXPECT_EQ(totp_uri("Station A: Hà Nội", "ana:ops&x@example.org", kRfcSecret),
            "otpauth://totp/Station%20A%3A%20H%C3%A0%20N%E1%BB%99i:ana%3Aops%26x%40example.org"
            "?secret=" +
                kRfcSecret +
                "&issuer=Station%20A%3A%20H%C3%A0%20N%E1%BB%99i&algorithm=SHA1&digits=6&period=30");
}

TEST(Totp, QrCodeIsAPlainSvgWithAQuietZone) {
  const std::string uri = totp_uri("Hotline", "ana", kRfcSecret);
  auto svg = qr_svg(uri);
  ASSERT_TRUE(svg.ok()) << svg.error().message;
  EXPECT_EQ(svg->rfind("<svg", 0), 0u);
  EXPECT_NE(svg->find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_EQ(svg->find("<script"), std::string::npos);
  EXPECT_EQ(svg->find("style"), std::string::npos);
  EXPECT_EQ(svg->find("href"), std::string::npos);
  // The top-left finder pattern's first row: 7 dark modules, after 4 light ones on each side.
  EXPECT_NE(svg->find("\"M4,4h7v1h-7z"), std::string::npos);
}

TEST(Totp, QrCodeGrowsWithTheText) {
  auto short_text = qr_svg("a");
  auto long_text = qr_svg(std::string(500, 'a'));
  ASSERT_TRUE(short_text.ok());
  ASSERT_TRUE(long_text.ok());
  // Version 1 is 21 modules wide, plus the quiet zone on both sides.
  EXPECT_NE(short_text->find("viewBox=\"0 0 29 29\""), std::string::npos);
  EXPECT_EQ(long_text->find("viewBox=\"0 0 29 29\""), std::string::npos);
}

}  // namespace
}  // namespace hotline::api
