#include "station/request_fields.h"

#include <gtest/gtest.h>

namespace hotline::station {
namespace {

constexpr Micros kNow = 1'800'000'000'000'000;  // 2027-01-15T08:00:00Z
constexpr Micros kHour = 3'600'000'000;

TEST(ReportPeriod, DefaultsToEverythingAndReadsFromAndTo) {
  auto all = report_period("/v1/lines/l/report");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->first, 0);
  EXPECT_EQ(format_utc(all->second), "9999-12-31T23:59:59Z");
  auto some = report_period("/v1/lines/l/report?from=2027-01-15T08:00Z&to=2027-01-15T09%3A00Z");
  ASSERT_TRUE(some.ok()) << some.error().message;
  EXPECT_EQ(some->first, kNow);
  EXPECT_EQ(some->second, kNow + kHour);
}

TEST(ReportPeriod, RefusesUnknownParametersBadTimesAndEmptyPeriodsNamingThem) {
  auto unknown = report_period("/r?since=2027-01-15T08:00Z");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("since"), std::string::npos);
  auto bad_time = report_period("/r?from=yesterday");
  ASSERT_FALSE(bad_time.ok());
  EXPECT_NE(bad_time.error().message.find("from"), std::string::npos);
  EXPECT_FALSE(report_period("/r?from=2027-01-15T08:00Z&to=2027-01-15T08:00Z").ok());
}

TEST(Fields, ReadTimesRelativeToTheStationsClockAndNameTheFieldInErrors) {
  auto fields = Fields::parse(
      R"({"window": {"start": "+1h", "end": "2027-01-15T10:00Z"}, "windows": [{"start": "now",
          "end": "+30m"}], "ack_within": "30m", "precedence": "FLASH", "immediate": true})");
  ASSERT_TRUE(fields.ok());
  auto window = fields->window("window", kNow);
  ASSERT_TRUE(window.ok()) << window.error().message;
  EXPECT_EQ(window.value()->start, kNow + kHour);
  EXPECT_EQ(window.value()->end, kNow + 2 * kHour);
  auto windows = fields->windows("windows", kNow);
  ASSERT_TRUE(windows.ok());
  ASSERT_EQ(windows->size(), 1u);
  EXPECT_EQ((*windows)[0].end, kNow + kHour / 2);
  EXPECT_EQ(fields->duration("ack_within").value(), kHour / 2);
  EXPECT_EQ(fields->precedence().value(), Precedence::kFlash);
  EXPECT_TRUE(fields->flag("immediate").value());
  EXPECT_FALSE(fields->flag("absent").value());

  auto backwards = Fields::parse(R"({"window": {"start": "+2h", "end": "+1h"}})");
  auto refused = backwards->window("window", kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("'window'"), std::string::npos);
  auto wrong_type = Fields::parse(R"({"topic": 3})")->text("topic", true);
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message.find("'topic'"), std::string::npos);
  EXPECT_FALSE(Fields::parse("[1, 2]").ok());
  EXPECT_FALSE(Fields::parse("{not json").ok());
  EXPECT_FALSE(Fields::parse(R"({"precedence": "URGENT"})")->precedence().ok());
  EXPECT_FALSE(Fields::parse(R"({"kind": "fax"})")->kind("").ok());
}

}  // namespace
}  // namespace hotline::station
