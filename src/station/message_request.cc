#include "station/message_request.h"

#include <nlohmann/json.hpp>

#include "station/people.h"

namespace hotline::station {

using nlohmann::json;

Result<MessageRequest> parse_message_request(const std::string& body, store::RecordStore& store) {
  json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) {
    return make_error(Errc::kInvalidArgument,
                      "the body must be a JSON object {\"precedence\", \"text\"}");
  }
  if (!request.contains("text") || !request["text"].is_string() ||
      request["text"].get<std::string>().empty()) {
    return make_error(Errc::kInvalidArgument, "field 'text' must be a non-empty string");
  }
  MessageRequest message;
  message.text = request["text"].get<std::string>();
  if (message.text.size() > kMaxMessageText) {
    return make_error(Errc::kInvalidArgument,
                      "field 'text' is longer than " + std::to_string(kMaxMessageText) + " bytes");
  }
  if (request.contains("precedence")) {
    if (!request["precedence"].is_string()) {
      return make_error(Errc::kInvalidArgument, "field 'precedence' must be a string");
    }
    auto parsed = parse_precedence(request["precedence"].get<std::string>());
    if (!parsed) {
      return make_error(Errc::kInvalidArgument,
                        "field 'precedence' must be FLASH, IMMEDIATE, PRIORITY or ROUTINE");
    }
    message.precedence = *parsed;
  }
  if (request.contains("wait")) {
    if (!request["wait"].is_number() || request["wait"].get<double>() < 0 ||
        request["wait"].get<double>() > kMaxReceiptWaitSeconds) {
      return make_error(Errc::kInvalidArgument,
                        "field 'wait' must be a number of seconds from 0 to " +
                            std::to_string(static_cast<int>(kMaxReceiptWaitSeconds)));
    }
    message.wait =
        std::chrono::milliseconds(static_cast<long>(request["wait"].get<double>() * 1000));
  }
  if (request.contains("as")) {
    if (!request["as"].is_string()) {
      return make_error(Errc::kInvalidArgument, "field 'as' must be a user name");
    }
    message.as = request["as"].get<std::string>();
    HOTLINE_TRY(actor_for(store, message.as, procedure::Action::kSendImmediate));
  }
  return message;
}

}  // namespace hotline::station
