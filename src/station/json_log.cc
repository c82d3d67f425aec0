#include "station/json_log.h"

#include <spdlog/common.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "core/clock.h"

namespace hotline::station {

void JsonLogFormatter::format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(message.time.time_since_epoch())
          .count();
  // format_utc gives the second; the fraction keeps the order of records within it.
  std::string time = format_utc(micros);
  const std::string fraction = std::to_string(1'000'000 + micros % 1'000'000).substr(1);
  time.insert(time.size() - 1, "." + fraction);
  const auto level = spdlog::level::to_string_view(message.level);
  const nlohmann::json record = {
      {"time", time},
      {"level", std::string(level.data(), level.size())},
      {"logger", std::string(message.logger_name.data(), message.logger_name.size())},
      {"thread", message.thread_id},
      {"message", std::string(message.payload.data(), message.payload.size())}};
  // Invalid UTF-8 in a message (a peer's bytes) is replaced, never a reason to lose the record.
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.append(line.data(), line.data() + line.size());
  out.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace hotline::station
