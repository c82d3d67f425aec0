#include "api/totp.h"

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>

#include "crypto/identity.h"

namespace hotline::api {
namespace {

constexpr Micros kMicrosPerStep = kTotpPeriodSeconds * 1'000'000;
// ISO/IEC 18004 asks for 4 light modules around the symbol; scanners fail more often without.
constexpr int kQuietZoneModules = 4;
constexpr int kPixelsPerModule = 4;

// liboath must be initialised (its crypto back end) before any other call; a function-local
// static runs oath_init exactly once, even when the first calls come from several threads.
void ensure_oath() {
  static const bool ready = [] {
    if (oath_init() != OATH_OK) {
      std::cerr << "hotline: liboath failed to initialise\n";
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

// A buffer that liboath allocated with malloc and that holds key material: wiped, then freed.
struct OathBufferDeleter {
  std::size_t size;
  void operator()(char* buffer) const {
    sodium_memzero(buffer, size);
    std::free(buffer);
  }
};
using OathBuffer = std::unique_ptr<char, OathBufferDeleter>;

struct QrCodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrCodePtr = std::unique_ptr<QRcode, QrCodeDeleter>;

// Exactly kTotpDigits ASCII digits. std::isdigit is not used: it depends on the locale.
bool is_well_formed_code(std::string_view code) {
  if (code.size() != kTotpDigits) {
    return false;
  }
  for (char c : code) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

Result<OathBuffer> decode_secret(const std::string& base32_secret) {
  char* key = nullptr;
  std::size_t key_size = 0;
  if (oath_base32_decode(base32_secret.data(), base32_secret.size(), &key, &key_size) != OATH_OK) {
    return make_error(Errc::kInvalidArgument, "the TOTP secret is not base32");
  }
  OathBuffer owned(key, OathBufferDeleter{key_size});
  if (key_size < kTotpMinSecretBytes) {
    return make_error(Errc::kInvalidArgument,
                      "the TOTP secret is too short: " + std::to_string(key_size) +
                          " bytes, at least " + std::to_string(kTotpMinSecretBytes) +
                          " are required");
  }
  return owned;
}

// Whether `code` is the one for `step`, compared in constant time so that the time taken does not
// tell how many leading digits were right.
bool code_matches_step(const OathBuffer& key, TotpStep step, std::string_view code) {
  std::array<char, kTotpDigits + 1> expected{};
  const auto step_start = static_cast<std::time_t>(step * kTotpPeriodSeconds);
  const int rc = oath_totp_generate2(key.get(), key.get_deleter().size, step_start,
                                     kTotpPeriodSeconds, OATH_TOTP_DEFAULT_START_TIME, kTotpDigits,
                                     0 /* HMAC-SHA-1 */, expected.data());
  const bool matches =
      rc == OATH_OK && sodium_memcmp(expected.data(), code.data(), kTotpDigits) == 0;
  sodium_memzero(expected.data(), expected.size());
  return matches;
}

// RFC 3986 percent-encoding: unreserved characters stay, every other byte becomes %XX.
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  return out;
}

// The dark modules as one path: each horizontal run of dark modules in a row is a 1-high
// rectangle, which keeps the document small (a version 7 code has about 1,200 dark modules).
std::string dark_modules_path(const QRcode& code) {
  std::string path;
  for (int y = 0; y < code.width; ++y) {
    const unsigned char* row = code.data + static_cast<std::ptrdiff_t>(y) * code.width;
    int x = 0;
    while (x < code.width) {
      // libqrencode: the lowest bit of each byte is 1 for a dark module.
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      const int run_start = x;
      while (x < code.width && (row[x] & 1) != 0) {
        ++x;
      }
      const std::string run = std::to_string(x - run_start);
      // Appended piece by piece: GCC 12 at -O3 warns wrongly (-Wrestrict, GCC bug 105329) about
      // `"M" + std::to_string(…)`.
      path.append("M")
          .append(std::to_string(run_start + kQuietZoneModules))
          .append(",")
          .append(std::to_string(y + kQuietZoneModules))
          .append("h")
          .append(run)
          .append("v1h-")
          .append(run)
          .append("z");
    }
  }
  return path;
}

}  // namespace

std::string new_totp_secret() {
  crypto::ensure_sodium();
  ensure_oath();
  std::array<char, kTotpSecretBytes> key{};
  randombytes_buf(key.data(), key.size());
  char* encoded = nullptr;
  std::size_t encoded_size = 0;
  const int rc = oath_base32_encode(key.data(), key.size(), &encoded, &encoded_size);
  sodium_memzero(key.data(), key.size());
  if (rc != OATH_OK) {
    std::cerr << "hotline: cannot encode a TOTP secret: " << oath_strerror(rc) << "\n";
    std::abort();
  }
  OathBuffer owned(encoded, OathBufferDeleter{encoded_size});
  // 20 bytes are 160 bits, exactly 32 base32 characters: liboath adds no padding.
  static_assert(kTotpSecretBytes * 8 == kTotpSecretCharacters * 5);
  return std::string(owned.get(), encoded_size);
}

Result<std::optional<TotpStep>> check_totp(const std::string& base32_secret, std::string_view code,
                                           Micros now, std::optional<TotpStep> last_accepted_step) {
  ensure_oath();
  HOTLINE_ASSIGN(OathBuffer key, decode_secret(base32_secret));
  std::optional<TotpStep> accepted;
  if (!is_well_formed_code(code) || now < 0) {
    return accepted;
  }
  const TotpStep current = now / kMicrosPerStep;
  // From the newest step down, so that a code which happens to be right for two steps (a one in
  // a million chance) moves last_accepted_step as far as possible and cannot be replayed.
  for (TotpStep step = current + kTotpSkewSteps; step >= current - kTotpSkewSteps; --step) {
    const bool replayed = last_accepted_step.has_value() && step <= *last_accepted_step;
    if (step < 0 || replayed) {
      break;
    }
    if (code_matches_step(key, step, code)) {
      accepted = step;
      break;
    }
  }
  return accepted;
}

std::string totp_uri(const std::string& issuer, const std::string& account,
                     const std::string& base32_secret) {
  // The ":" between issuer and account stays literal: it is how the apps split the label.
  return "otpauth://totp/" + percent_encode(issuer) + ":" + percent_encode(account) +
         "?secret=" + percent_encode(base32_secret) + "&issuer=" + percent_encode(issuer) +
         "&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) +
         "&period=" + std::to_string(kTotpPeriodSeconds);
}

Result<std::string> qr_svg(const std::string& text) {
  if (text.empty() || text.find('\0') != std::string::npos) {
    return make_error(Errc::kInvalidArgument,
                      "cannot make a QR code: the text is empty or contains a NUL byte");
  }
  // Version 0: the smallest symbol that holds the text. Case-sensitive, so that the base32
  // secret and the account name keep their case.
  errno = 0;
  QrCodePtr code(QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (code == nullptr) {
    if (errno == ENOMEM) {
      return make_error(Errc::kInternal, "cannot make a QR code: out of memory");
    }
    return make_error(Errc::kInvalidArgument, "cannot make a QR code: the text is " +
                                                  std::to_string(text.size()) +
                                                  " bytes, too long for a QR code");
  }
  const std::string side = std::to_string(code->width + 2 * kQuietZoneModules);
  const std::string pixels =
      std::to_string((code->width + 2 * kQuietZoneModules) * kPixelsPerModule);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + side + " " + side +
         "\" width=\"" + pixels + "\" height=\"" + pixels +
         "\" shape-rendering=\"crispEdges\">"
         "<rect width=\"" +
         side + "\" height=\"" + side + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" +
         dark_modules_path(*code) + "\"/></svg>\n";
}

}  // namespace hotline::api
