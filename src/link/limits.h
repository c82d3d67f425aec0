// link/limits.h — every limit of the link, in one place, with the reason for its value.
//
// The wire limits bound what a peer can make this station buffer, allocate or decode before the
// connection is closed; FrameReader and decode_message enforce them, encode_message refuses to
// exceed them, so a station never sends what its peer would reject. docs/protocol.md §Limits
// restates them for implementers in other languages.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/clock.h"
#include "record/types.h"

namespace hotline::link {

// --- Frames ---------------------------------------------------------------------------------

// The length prefix: a big-endian u32.
inline constexpr std::size_t kLengthPrefixSize = 4;
// A frame's length counts at least its version and type bytes.
inline constexpr std::size_t kMinFrameLength = 2;

// One ENTRIES frame carries at most this many signed entries. Entries are small (a few hundred
// bytes), so batching many per frame is what reaches ≥ 20,000 entries/s (issue 4); a thousand
// keeps the receiver's verify-then-store batch, and the time before its receipt, short.
inline constexpr std::size_t kMaxEntriesPerFrame = 1024;
// The signed bytes of one ENTRIES frame add up to at most 1 MiB: four entries of the largest size
// (record::kMaxSignedItemSize), or a thousand ordinary ones. This bounds what one frame makes the
// receiver buffer and decode.
inline constexpr std::size_t kMaxEntriesBytes = std::size_t{1} << 20;
static_assert(record::kMaxSignedItemSize <= kMaxEntriesBytes,
              "the largest entry must fit in one ENTRIES frame (docs/record-format.md §2)");

// CBOR framing around the items: map head, key, array head (≤ 8 bytes together) and one byte
// string head per item (≤ 5 bytes each, since an item is < 2^32 bytes).
inline constexpr std::size_t kMaxEntriesPayload = kMaxEntriesBytes + 8 + 5 * kMaxEntriesPerFrame;
// RECEIPT and CHECKPOINT carry one signed item: map head, key and byte string head (≤ 7 bytes).
inline constexpr std::size_t kMaxSignedItemPayload = record::kMaxSignedItemSize + 8;
// HELLO, HEARTBEAT, HEARTBEAT_ACK, RESEND_REQUEST and GOODBYE are a few fixed-size fields; the
// largest (GOODBYE with its text, HELLO with two keys and two hashes) is under 300 bytes. A tight
// bound means a peer cannot make the station decode a megabyte to read a heartbeat.
inline constexpr std::size_t kMaxControlPayload = 512;

// The largest frame of all (an ENTRIES frame), as its length field counts it. The reader refuses
// a larger length as soon as it has read the prefix, before buffering any of the body.
inline constexpr std::size_t kMaxFrameLength = 2 + kMaxEntriesPayload;
static_assert(kMaxFrameLength <= 0xFFFFFFFFu, "the length prefix is a u32");

// GOODBYE's text is for a log line, not a document.
inline constexpr std::size_t kMaxGoodbyeText = 256;

// --- Timing (used by the link's session, not by the codec) ----------------------------------

// A heartbeat every half second lets a dead route be noticed "within seconds" (design.md §4)
// while costing a few dozen bytes a second.
inline constexpr Micros kHeartbeatInterval = 500'000;
// A route is declared dead after this many intervals without any frame from the peer: three
// tolerates one lost or late heartbeat plus jitter and still declares the route dead after 1.5 s,
// leaving time to dial the backup within issue 4's target of 3 s to first delivery on it.
inline constexpr int kMissedHeartbeatsBeforeDead = 3;

}  // namespace hotline::link
