// station/json_log.h — structured logs: each record as one JSON object per line (`log_format =
// "json"` in hotline.toml), so that log collectors need no parsing rules of their own.
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace hotline::station {

// {"time": "2026-11-24T01:02:03.456789Z", "level": "warn", "logger": "", "thread": 1234,
//  "message": "…"}: the message escaped as JSON, whatever bytes it holds.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace hotline::station
