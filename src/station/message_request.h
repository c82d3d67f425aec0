// station/message_request.h — what POST /v1/lines/{line}/messages asks for (docs/cli.md, `send`;
// docs/api.yaml), read and checked before anything is sent.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "core/precedence.h"
#include "core/result.h"
#include "store/record_store.h"

namespace hotline::station {

// A message is one entry; the entry's limit (docs/record-format.md §2) leaves room for this.
inline constexpr std::size_t kMaxMessageText = 64 * 1024;
inline constexpr double kMaxReceiptWaitSeconds = 300;

struct MessageRequest {
  Precedence precedence = Precedence::kRoutine;
  std::string text;
  std::chrono::milliseconds wait{0};  // for the peer's receipt; 0: answer once durable here
  std::string as;                     // the user it is sent for (empty: the station's owner)
};

// The body {"text", "precedence"?, "wait"?, "as"?} as a MessageRequest; kInvalidArgument naming the
// field that is wrong, or kRefused if `as` names a user who may not send (people.h).
[[nodiscard]] Result<MessageRequest> parse_message_request(const std::string& body,
                                                           store::RecordStore& store);

}  // namespace hotline::station
