// link/protocol.h — the wire format of a line's link, on one screen (docs/protocol.md).
//
// The link carries frames over a mutually authenticated TLS 1.3 connection (design.md §4):
//
//   frame   = length:u32 big-endian | version:u8 (= 1) | type:u8 | payload
//             length counts version + type + payload; 2 <= length <= kMaxFrameLength, and the
//             payload is at most max_payload_size(type) (link/limits.h)
//   payload = one deterministic CBOR map (RFC 8949 §4.2.1, as in docs/record-format.md §1) with
//             exactly the small unsigned keys listed below for its type; anything else (a missing
//             or extra key, a wrong type or size, a trailing byte) is a protocol error.
//
// Signed items (entries, receipts, checkpoints) travel as their exact signed bytes inside byte
// strings; the link never re-encodes them. Frames are parsed in exactly one place: FrameReader
// (link/frame.h); payloads are decoded in exactly one place: decode_message (link/messages.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.h"
#include "link/limits.h"

namespace hotline::link {

// The frame version this code speaks. A frame with any other version closes the connection.
inline constexpr std::uint8_t kProtocolVersion = 1;

enum class FrameType : std::uint8_t {
  kHello = 1,          // HelloKey: who I am, which line, both chains' heads as I hold them
  kEntries = 2,        // EntriesKey: signed entries of one chain, in sequence order
  kReceipt = 3,        // SignedItemKey: the sender's signed cumulative receipt
  kCheckpoint = 4,     // SignedItemKey: the sender's signed checkpoint of both heads
  kHeartbeat = 5,      // HeartbeatKey: liveness probe, answered at once
  kHeartbeatAck = 6,   // HeartbeatAckKey: the answer
  kResendRequest = 7,  // ResendRequestKey: "send me this chain's entries from seq n"
  kGoodbye = 8,        // GoodbyeKey: why the sender is about to close the connection
};

enum class HelloKey : std::uint64_t {
  kVersion = 1,   // uint >= 1: the highest protocol version the sender speaks
  kLine = 2,      // bstr(16): the line id (docs/record-format.md §6)
  kSender = 3,    // bstr(32): the sender's public key; must be the key pinned by TLS
  kOwnSeq = 4,    // uint: head of the sender's own chain, as the sender holds it
  kOwnHash = 5,   // bstr(32): its hash (zeros when the seq is 0)
  kPeerSeq = 6,   // uint: head of the receiver's chain, as the sender holds it
  kPeerHash = 7,  // bstr(32): its hash (zeros when the seq is 0)
};
enum class EntriesKey : std::uint64_t {
  kItems = 1,  // array of 1..kMaxEntriesPerFrame bstr, each 1..kMaxSignedItemSize bytes, together
               // at most kMaxEntriesBytes
};
enum class SignedItemKey : std::uint64_t {
  kItem = 1,  // bstr of 1..kMaxSignedItemSize bytes: one signed receipt or checkpoint
};
enum class HeartbeatKey : std::uint64_t {
  kSeq = 1,   // uint: the sender's heartbeat counter
  kTime = 2,  // uint <= 2^63-1: the sender's clock, µs since the epoch (for latency reports)
};
enum class HeartbeatAckKey : std::uint64_t {
  kSeq = 1,  // uint: the counter of the heartbeat answered
};
enum class ResendRequestKey : std::uint64_t {
  kChainAuthor = 1,  // bstr(32): whose chain is asked for
  kFromSeq = 2,      // uint >= 1: the first sequence number wanted
};
enum class GoodbyeKey : std::uint64_t {
  kReason = 1,  // uint <= 255: a GoodbyeReason (unknown values are kept, shown as "unknown")
  kText = 2,    // tstr of at most kMaxGoodbyeText bytes, no control characters
};

// Why a connection is being closed. Every code but kClosing means the receiver broke a rule and
// is logged as a security event by the sender (design.md §4).
enum class GoodbyeReason : std::uint8_t {
  kClosing = 0,            // orderly shutdown or route change; no fault
  kMalformed = 1,          // a frame or payload did not parse
  kUnexpectedMessage = 2,  // a valid message at the wrong time (e.g. ENTRIES before HELLO)
  kBadSignature = 3,       // a signed item does not verify
  kBrokenChain = 4,        // out of sequence, wrong prev hash, replay
  kConflict = 5,           // equivocation or divergence: evidence is kept, the line alarms
  kWrongLine = 6,          // HELLO names another line or a key other than the pinned one
  kUnsupportedVersion = 7,
  kInternal = 8,  // the sender failed (e.g. its store); not the receiver's fault
};

// "HELLO", "ENTRIES", …; "UNKNOWN" for values outside the enum.
std::string_view frame_type_name(FrameType type);
// The type named by a frame's type byte, or nullopt if no such type exists.
std::optional<FrameType> frame_type_from_byte(std::uint8_t byte);
// The largest payload a frame of `type` may carry (link/limits.h).
std::size_t max_payload_size(FrameType type);

// "closing", "malformed", …; "unknown" for values outside the enum.
std::string_view goodbye_reason_name(GoodbyeReason reason);
// The reason to send when a peer's input failed with `code` (a decode or verification error).
GoodbyeReason goodbye_reason_for(Errc code);

}  // namespace hotline::link
