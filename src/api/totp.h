// api/totp.h — the console's optional second login factor: time-based one-time passwords
// (RFC 6238; design.md §6, "Console security").
//
// The parameters are the ones every authenticator app accepts without asking: HMAC-SHA-1,
// 6 digits, 30-second steps counted from the Unix epoch. A secret is 20 random bytes, written in
// base32 without padding, which is how the apps and the otpauth:// URI carry it.
//
// Enrolment: new_totp_secret, then show qr_svg(totp_uri(...)) to the person and store the secret
// once they have typed one code that check_totp accepts. Login: check_totp with the step it
// accepted last time; store the step it returns, so that each code logs in at most once.
//
// Time is passed in, never read here, so that tests choose it (style.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace hotline::api {

// RFC 4226 §4 asks for at least 128 bits and recommends 160 (SHA-1's output size); 160 bits
// encode to exactly kTotpSecretCharacters base32 characters, with no padding.
inline constexpr std::size_t kTotpSecretBytes = 20;
inline constexpr std::size_t kTotpSecretCharacters = 32;
// The shortest secret check_totp accepts: RFC 4226 §4's 128 bits.
inline constexpr std::size_t kTotpMinSecretBytes = 16;
inline constexpr std::size_t kTotpDigits = 6;
inline constexpr std::int64_t kTotpPeriodSeconds = 30;
// Steps accepted on each side of the current one, for a phone whose clock is a little off and for
// the seconds it takes to type the code (RFC 6238 §5.2 recommends at most one).
inline constexpr std::int64_t kTotpSkewSteps = 1;

// A TOTP time step: whole kTotpPeriodSeconds periods since the Unix epoch (RFC 6238's T), the
// counter a code is computed from. Never negative.
using TotpStep = std::int64_t;

// A fresh secret: kTotpSecretBytes from libsodium's random generator, in base32 (RFC 4648,
// upper-case, no padding), kTotpSecretCharacters long. The caller stores it; it is as sensitive as
// a password. Aborts with a message if liboath cannot start or allocate a few bytes.
[[nodiscard]] std::string new_totp_secret();

// The step `code` was made for, when it is right for `base32_secret` at `now` and newer than
// `last_accepted_step`. Codes of the step containing `now` and of kTotpSkewSteps steps on each
// side are accepted; steps at or before `last_accepted_step` are refused, so that a code seen over
// someone's shoulder cannot be used again, nor an older one. The caller stores the returned step
// as its next `last_accepted_step` (nullopt: no code was ever accepted).
//
// nullopt, never an error, when the code is wrong, replayed, too old or too new, or not exactly
// kTotpDigits ASCII digits (spaces, signs and other scripts' digits included), and for a `now`
// before the epoch. Fails with kInvalidArgument only when `base32_secret` is not base32 or is
// shorter than kTotpMinSecretBytes: a damaged stored secret, which the caller should report.
[[nodiscard]] Result<std::optional<TotpStep>> check_totp(
    const std::string& base32_secret, std::string_view code, Micros now,
    std::optional<TotpStep> last_accepted_step);

// The otpauth:// URI that authenticator apps read from a QR code (Google Authenticator's "Key Uri
// Format"): otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&
// period=30. `issuer` (the station's name) and `account` (the person's login) are percent-encoded
// (RFC 3986: everything but letters, digits and "-._~"), so spaces, colons, "&" and non-ASCII
// names survive.
[[nodiscard]] std::string totp_uri(const std::string& issuer, const std::string& account,
                                   const std::string& base32_secret);

// `text` as a QR code (error correction level M, 8-bit mode) in a standalone SVG document: black
// modules as one <path> on a white square, a 4-module quiet zone (ISO/IEC 18004), a viewBox so it
// scales to any size, 4 px per module by default. No scripts, styles or external references, so
// the console can show it under its Content-Security-Policy. Fails with kInvalidArgument when
// `text` is empty, contains a NUL byte or is too long for a QR code, kInternal if libqrencode
// cannot allocate memory.
[[nodiscard]] Result<std::string> qr_svg(const std::string& text);

}  // namespace hotline::api
