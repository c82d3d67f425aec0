#include "link/protocol.h"

namespace hotline::link {

std::string_view frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::kHello:
      return "HELLO";
    case FrameType::kEntries:
      return "ENTRIES";
    case FrameType::kReceipt:
      return "RECEIPT";
    case FrameType::kCheckpoint:
      return "CHECKPOINT";
    case FrameType::kHeartbeat:
      return "HEARTBEAT";
    case FrameType::kHeartbeatAck:
      return "HEARTBEAT_ACK";
    case FrameType::kResendRequest:
      return "RESEND_REQUEST";
    case FrameType::kGoodbye:
      return "GOODBYE";
  }
  return "UNKNOWN";
}

std::optional<FrameType> frame_type_from_byte(std::uint8_t byte) {
  if (byte < static_cast<std::uint8_t>(FrameType::kHello) ||
      byte > static_cast<std::uint8_t>(FrameType::kGoodbye)) {
    return std::nullopt;
  }
  return static_cast<FrameType>(byte);
}

std::size_t max_payload_size(FrameType type) {
  switch (type) {
    case FrameType::kEntries:
      return kMaxEntriesPayload;
    case FrameType::kReceipt:
    case FrameType::kCheckpoint:
      return kMaxSignedItemPayload;
    case FrameType::kHello:
    case FrameType::kHeartbeat:
    case FrameType::kHeartbeatAck:
    case FrameType::kResendRequest:
    case FrameType::kGoodbye:
      return kMaxControlPayload;
  }
  return 0;  // not a type: nothing is acceptable
}

std::string_view goodbye_reason_name(GoodbyeReason reason) {
  switch (reason) {
    case GoodbyeReason::kClosing:
      return "closing";
    case GoodbyeReason::kMalformed:
      return "malformed";
    case GoodbyeReason::kUnexpectedMessage:
      return "unexpected-message";
    case GoodbyeReason::kBadSignature:
      return "bad-signature";
    case GoodbyeReason::kBrokenChain:
      return "broken-chain";
    case GoodbyeReason::kConflict:
      return "conflict";
    case GoodbyeReason::kWrongLine:
      return "wrong-line";
    case GoodbyeReason::kUnsupportedVersion:
      return "unsupported-version";
    case GoodbyeReason::kInternal:
      return "internal";
  }
  return "unknown";
}

GoodbyeReason goodbye_reason_for(Errc code) {
  switch (code) {
    case Errc::kMalformed:
      return GoodbyeReason::kMalformed;
    case Errc::kBadSignature:
      return GoodbyeReason::kBadSignature;
    case Errc::kBrokenChain:
      return GoodbyeReason::kBrokenChain;
    case Errc::kConflict:
      return GoodbyeReason::kConflict;
    case Errc::kRefused:
      return GoodbyeReason::kUnexpectedMessage;
    default:
      // Not-found, I/O, corruption and bugs are this station's own failures.
      return GoodbyeReason::kInternal;
  }
}

}  // namespace hotline::link
