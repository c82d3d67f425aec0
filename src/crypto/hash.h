// crypto/hash.h — SHA-256, the one hash of the record (design.md §3).
#pragma once

#include <array>
#include <cstdint>

#include "core/bytes.h"

namespace hotline::crypto {

using Hash = std::array<std::uint8_t, 32>;

Hash sha256(ByteView data);

// SHA-256 over the concatenation of several parts, without copying them together.
Hash sha256(std::initializer_list<ByteView> parts);

}  // namespace hotline::crypto
