#include "station/config.h"

#include <gtest/gtest.h>

#include "testing/fixtures.h"

namespace hotline::station {
namespace {

const std::string kPeer = testing::key_from_byte(2).public_key().fingerprint();

std::string with_line(const std::string& line_body) {
  return "[station]\nname = \"alpha\"\n\n[[line]]\n" + line_body;
}

void expect_error(const std::string& text, const std::string& key, int line) {
  auto parsed = parse_config(text, "hotline.toml");
  ASSERT_FALSE(parsed.ok()) << text;
  const std::string& message = parsed.error().message;
  EXPECT_NE(message.find(key), std::string::npos) << message;
  const std::string where = line > 0 ? "hotline.toml:" + std::to_string(line) : "hotline.toml";
  EXPECT_NE(message.find(where), std::string::npos) << message;
}

TEST(Config, SyntaxErrorsNameTheLine) { expect_error("[station]\nname = \n", "", 2); }

TEST(Config, UnknownKeysAreErrorsNotDefaults) {
  expect_error("[station]\nname = \"a\"\nlisten_port = 7\n", "station.listen_port", 3);
  expect_error(
      with_line("name = \"l\"\npeer = \"" + kPeer + "\"\nroutes = [\"h:1\"]\nrespons = \"1h\"\n"),
      "line.respons", 8);
}

TEST(Config, BadValuesNameTheKeyAndLine) {
  expect_error("[station]\nname = \"a\"\nlisten = \"nowhere\"\n", "station.listen", 3);
  expect_error("[station]\nname = 5\n", "station.name", 2);
  expect_error(with_line("name = \"l\"\npeer = \"hl1:zz\"\nroutes = [\"h:1\"]\n"), "line.peer", 6);
  expect_error(with_line("name = \"l\"\npeer = \"" + kPeer +
                         "\"\nroutes = [\"h:1\"]\nresponse_deadline = \"soon\"\n"),
               "line.response_deadline", 8);
  expect_error(with_line("name = \"l\"\npeer = \"" + kPeer +
                         "\"\nroutes = [\"h:1\"]\nack_deadline = { urgent = \"1m\" }\n"),
               "line.ack_deadline.urgent", 8);
}

TEST(Config, MissingRequiredPartsAreNamed) {
  expect_error("[station]\nlisten = \"0.0.0.0:1\"\n", "station.name", 0);
  expect_error(with_line("name = \"l\"\nroutes = [\"h:1\"]\n"), "peer", 4);
}

TEST(Config, ALineWithoutRoutesWaitsToBeDialled) {
  auto parsed = parse_config(with_line("name = \"l\"\npeer = \"" + kPeer + "\"\n"), "t.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->lines.at(0).routes.empty());
}

TEST(Config, DuplicateLineNamesAreRefused) {
  std::string line = "name = \"l\"\npeer = \"" + kPeer + "\"\nroutes = [\"h:1\"]\n";
  expect_error(with_line(line) + "\n[[line]]\n" + line, "defined twice", 9);
}

TEST(Config, DefaultsFollowTheDesign) {
  auto parsed = parse_config(with_line("name = \"l\"\npeer = \"" + kPeer +
                                       "\"\nroutes = [\"10.0.0.1:7400\", \"[::1]:7401\"]\n"),
                             "hotline.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const LineConfig& line = parsed->lines.at(0);
  EXPECT_EQ(line.terms.response_deadline, parse_duration("48h").value());
  EXPECT_EQ(line.terms.ack_deadline[0], parse_duration("10m").value());
  EXPECT_EQ(line.terms.ack_deadline[3], parse_duration("6h").value());
  EXPECT_EQ(line.terms.test_interval, parse_duration("1h").value());
  EXPECT_EQ(line.routes.at(1).host, "::1");
  EXPECT_EQ(parsed->listen.port, 7400);
}

TEST(Config, RendersAndParsesBackTheSame) {
  StationConfig config;
  config.name = "alpha";
  LineConfig line;
  line.name = "ministers";
  line.peer = testing::key_from_byte(2).public_key();
  line.routes = {{"127.0.0.1", 7401}, {"127.0.0.2", 7401}};
  line.terms.response_deadline = parse_duration("72h").value();
  line.terms.ack_deadline[1] = parse_duration("20m").value();
  line.terms.languages = {"en", "vi"};
  config.lines.push_back(line);
  auto parsed = parse_config(render_config(config), "rendered");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << render_config(config);
  EXPECT_EQ(parsed->name, "alpha");
  ASSERT_EQ(parsed->lines.size(), 1u);
  EXPECT_EQ(parsed->lines[0], line);
}

TEST(Config, ANewLineMustNotBeThisStationOrADuplicate) {
  StationConfig config;
  config.name = "alpha";
  LineConfig line{"l", testing::key_from_byte(1).public_key(), {{"h", 1}}, {}};
  EXPECT_FALSE(validate_new_line(config, line, testing::key_from_byte(1).public_key()).ok());
  line.peer = testing::key_from_byte(2).public_key();
  EXPECT_TRUE(validate_new_line(config, line, testing::key_from_byte(1).public_key()).ok());
  config.lines.push_back(line);
  EXPECT_EQ(validate_new_line(config, line, testing::key_from_byte(1).public_key()).error().code,
            Errc::kRefused);
}

TEST(Config, TheTestClockIsRefusedInAProductionConfiguration) {
  auto local = parse_config(
      "[station]\nname = \"a\"\nlisten = \"127.0.0.2:7400\"\n\n[[line]]\n"
      "name = \"l\"\npeer = \"" +
          kPeer + "\"\nroutes = [\"127.0.0.1:7401\", \"[::1]:7402\"]\n",
      "hotline.toml");
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_TRUE(check_test_configuration(*local, "hotline.toml").ok());

  StationConfig dialling_out = *local;
  dialling_out.lines[0].routes.push_back(Endpoint::parse("203.0.113.5:7400").value());
  auto refused = check_test_configuration(dialling_out, "hotline.toml");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kRefused);
  EXPECT_NE(refused.error().message.find("203.0.113.5:7400"), std::string::npos);

  StationConfig listening = *local;
  listening.listen = Endpoint::parse("0.0.0.0:7400").value();
  EXPECT_FALSE(check_test_configuration(listening, "hotline.toml").ok());
}

TEST(Config, LogFormatIsTextOrJson) {
  auto json = parse_config("[station]\nname = \"a\"\nlog_format = \"json\"\n", "hotline.toml");
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_EQ(json->log_format, "json");
  EXPECT_EQ(parse_config("[station]\nname = \"a\"\n", "hotline.toml")->log_format, "text");
  expect_error("[station]\nname = \"a\"\nlog_format = \"xml\"\n", "station.log_format", 3);
}

}  // namespace
}  // namespace hotline::station
