// record/types.h — the small value types every part of the record shares.
//
// The record of a line is two chains, one per direction (design.md §3). These types name a line,
// a position in a chain, and the limits every record object obeys. Their byte-level form is in
// docs/record-format.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "crypto/hash.h"
#include "crypto/identity.h"

namespace hotline::record {

using crypto::Hash;
using crypto::PublicKey;

inline constexpr std::uint64_t kFormatVersion = 1;

// Limits, chosen so that one entry always fits in one link frame (docs/record-format.md §Limits).
inline constexpr std::size_t kMaxKindLength = 64;
inline constexpr std::size_t kMaxLineNameLength = 128;
inline constexpr std::size_t kMaxSignedItemSize = 256 * 1024;

// A line's identity: the first 16 bytes of SHA-256(lower key || higher key || UTF-8 name), so
// both stations derive it alone (design.md §3).
struct LineId {
  std::array<std::uint8_t, 16> bytes{};

  std::string hex() const;
  static Result<LineId> from_hex(std::string_view hex);
  auto operator<=>(const LineId&) const = default;
};

LineId derive_line_id(const PublicKey& a, const PublicKey& b, std::string_view name);

// A position in a chain: the sequence number of its last entry and that entry's hash. An empty
// chain is at sequence 0 with the all-zero hash.
struct ChainPosition {
  std::uint64_t seq = 0;
  Hash hash{};

  bool operator==(const ChainPosition&) const = default;
};

// Human-readable names for messages: "chain hl1:ab12…" etc.
std::string short_fingerprint(const PublicKey& key);

}  // namespace hotline::record
