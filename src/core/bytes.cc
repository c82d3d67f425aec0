#include "core/bytes.h"

#include <sodium.h>

namespace hotline {

std::string to_hex(ByteView bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return make_error(Errc::kInvalidArgument,
                      "hex string has odd length " + std::to_string(hex.size()));
  }
  Bytes out(hex.size() / 2);
  if (out.empty()) {
    return out;
  }
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) !=
          0 ||
      written != out.size()) {
    size_t offset = end != nullptr ? static_cast<size_t>(end - hex.data()) : 0;
    return make_error(Errc::kInvalidArgument,
                      "invalid hex character at offset " + std::to_string(offset));
  }
  return out;
}

std::string to_base64(ByteView bytes) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.pop_back();  // the terminating NUL
  return out;
}

Result<Bytes> from_base64(std::string_view text) {
  Bytes out(text.size() / 4 * 3 + 3);
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &written, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return make_error(Errc::kMalformed, "invalid base64");
  }
  out.resize(written);
  return out;
}

}  // namespace hotline
