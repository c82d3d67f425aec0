// core/bytes.h — byte strings and their text forms (hex, base64).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hotline {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Lowercase hex, no separators.
std::string to_hex(ByteView bytes);
// Accepts upper- or lowercase hex of even length; anything else is an error naming the offset.
Result<Bytes> from_hex(std::string_view hex);

// Standard base64 (RFC 4648 §4) with padding.
std::string to_base64(ByteView bytes);
// Strict: rejects missing padding, whitespace and non-alphabet characters.
Result<Bytes> from_base64(std::string_view text);

}  // namespace hotline
