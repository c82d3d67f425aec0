#include "station/json_log.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>

namespace hotline::station {
namespace {

nlohmann::json formatted(spdlog::level::level_enum level, std::string_view text) {
  const auto time = std::chrono::system_clock::time_point(
      std::chrono::microseconds(1'800'000'000'000'042));  // 2027-01-15T08:00:00.000042Z
  spdlog::details::log_msg message(time, spdlog::source_loc{}, "station", level, text);
  spdlog::memory_buf_t out;
  JsonLogFormatter().format(message, out);
  const std::string line(out.data(), out.size());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one record, one line";
  return nlohmann::json::parse(line);
}

TEST(JsonLogFormatter, WritesOneObjectPerRecordWithTimeLevelAndMessage) {
  const auto record = formatted(spdlog::level::warn, "SECURITY line l: \"quoted\"\nand a newline");
  EXPECT_EQ(record["time"], "2027-01-15T08:00:00.000042Z");
  EXPECT_EQ(record["level"], "warning");
  EXPECT_EQ(record["logger"], "station");
  EXPECT_TRUE(record["thread"].is_number());
  EXPECT_EQ(record["message"], "SECURITY line l: \"quoted\"\nand a newline");
}

TEST(JsonLogFormatter, KeepsARecordWhoseMessageIsNotUtf8) {
  const auto record = formatted(spdlog::level::info, std::string_view("peer sent \xff\xfe", 12));
  EXPECT_EQ(record["level"], "info");
  EXPECT_NE(record["message"].get<std::string>().find("peer sent"), std::string::npos);
}

}  // namespace
}  // namespace hotline::station
