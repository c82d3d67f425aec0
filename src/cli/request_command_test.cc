// What the procedure's commands send to the station, checked without a station: the targets and
// bodies built from parsed flags (cli/station_call.h), and the flag checks that fail with exit 2
// before the station is contacted.
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/station_call.h"

namespace hotline::cli {
namespace {

using nlohmann::json;

// The message of a failed result, or a note that it did not fail.
template <class T>
std::string failure(const Result<T>& result) {
  if (result.ok()) {
    return "(it did not fail)";
  }
  EXPECT_EQ(result.error().code, Errc::kInvalidArgument) << result.error().message;
  EXPECT_EQ(exit_code_for(result.error().code), kExitUsage);
  return result.error().message;
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The flags of a step by pavel, as `change` sets them. (Designated initializers would read
// better, but GCC 12 warns about every member they leave out.)
template <class Change>
StepFlags pavel(Change change) {
  StepFlags flags;
  flags.as = "pavel";
  change(flags);
  return flags;
}
StepFlags pavel() {
  return pavel([](StepFlags&) {});
}

NewRequestFlags request_by_olga(const std::string& kind, const std::string& topic) {
  NewRequestFlags flags;
  flags.as = "olga";
  flags.kind = kind;
  flags.topic = topic;
  return flags;
}

TEST(Window, RefusesAnythingButOneSlashBetweenTwoBounds) {
  for (const char* text : {"", "+2h", "+2h+3h", "+2h/+3h/+4h", "a//b", "/+3h", "+2h/", "/"}) {
    EXPECT_TRUE(mentions(failure(parse_window(text, "--window")), "--window")) << text;
  }
  EXPECT_TRUE(mentions(failure(parse_window("+2h", "--window")), "exactly one '/'"));
  EXPECT_TRUE(mentions(failure(parse_window("+2h/", "--window")), "both a start and an end"));
}

TEST(Window, PassesBothBoundsThroughUnchanged) {
  auto window = parse_window("2026-11-24T10:00Z/2026-11-24T11:00:30Z", "--window");
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window_json(*window),
            json({{"start", "2026-11-24T10:00Z"}, {"end", "2026-11-24T11:00:30Z"}}));
  EXPECT_EQ(window_json(parse_window("+2h/+1d", "--window").value()),
            json({{"start", "+2h"}, {"end", "+1d"}}));
}

TEST(DurationFlag, RefusesWhatCoreDurationRefusesNamingTheFlag) {
  for (const char* text : {"", "30", "m", "-5m", "0m", "1h 30m", "+30m"}) {
    EXPECT_TRUE(mentions(failure(check_duration_flag(text, "--ack-within")), "--ack-within"))
        << text;
  }
  EXPECT_TRUE(check_duration_flag("1h30m", "--respond-within").ok());
  EXPECT_TRUE(check_duration_flag("2d", "--by").ok());
}

TEST(LineTarget, RefusesSegmentsThatWouldChangeThePath) {
  for (const char* id : {"", ".", "..", "a/b", "a?b", "a#b", "a%2fb", "a b", "a\nb"}) {
    const std::string message =
        failure(line_target({{"hq", "--line"}, {"requests"}, {id, "--request"}}));
    EXPECT_TRUE(mentions(message, "--request")) << id;
  }
  EXPECT_TRUE(mentions(failure(line_target({{"../clock", "--line"}})), "--line"));
}

TEST(LineTarget, JoinsTheSegments) {
  EXPECT_EQ(line_target({{"moscow-washington", "--line"}, {"requests"}}).value(),
            "/v1/lines/moscow-washington/requests");
  EXPECT_EQ(
      line_target({{"hq", "--line"}, {"requests"}, {"3fa9c2d1-12", "--request"}, {"ack"}}).value(),
      "/v1/lines/hq/requests/3fa9c2d1-12/ack");
}

TEST(NewRequest, RefusesBadFlagsBeforeContactingTheStation) {
  const NewRequestFlags flags = request_by_olga("call", "border incident");
  auto with = [flags](auto change) {
    NewRequestFlags changed = flags;
    change(changed);
    return failure(new_request_body(changed));
  };
  EXPECT_TRUE(mentions(with([](auto& f) { f.kind = "telegram"; }), "--kind"));
  EXPECT_TRUE(mentions(with([](auto& f) { f.topic = ""; }), "--topic"));
  EXPECT_TRUE(mentions(with([](auto& f) { f.windows = {"+1h/+2h", "+3h"}; }), "exactly one"));
  EXPECT_TRUE(mentions(with([](auto& f) { f.precedence = "URGENT"; }), "--precedence"));
  EXPECT_TRUE(mentions(with([](auto& f) { f.ack_within = "soon"; }), "--ack-within"));
  EXPECT_TRUE(mentions(with([](auto& f) { f.respond_within = "48"; }), "--respond-within"));
}

TEST(NewRequest, SendsOnlyTheFieldsGiven) {
  EXPECT_EQ(new_request_body(request_by_olga("written", "fishing rights")).value(),
            json({{"as", "olga"}, {"kind", "written"}, {"topic", "fishing rights"}}));
}

TEST(NewRequest, SendsEveryFlag) {
  NewRequestFlags flags = request_by_olga("video", "border incident");
  flags.officials = "foreign ministers";
  flags.level = "ministerial";
  flags.windows = {"2026-11-24T10:00Z/2026-11-24T11:00Z", "+2d/+2d1h"};
  flags.precedence = "immediate";
  flags.ack_within = "30m";
  flags.respond_within = "48h";
  flags.immediate = true;
  EXPECT_EQ(
      new_request_body(flags).value(),
      json({{"as", "olga"},
            {"kind", "video"},
            {"topic", "border incident"},
            {"officials", "foreign ministers"},
            {"level", "ministerial"},
            {"windows", json::array({{{"start", "2026-11-24T10:00Z"}, {"end", "2026-11-24T11:00Z"}},
                                     {{"start", "+2d"}, {"end", "+2d1h"}}})},
            {"precedence", "IMMEDIATE"},
            {"ack_within", "30m"},
            {"respond_within", "48h"},
            {"immediate", true}}));
}

TEST(Call, IsAnImmediateFlashCallForTheNextHour) {
  EXPECT_EQ(call_request_body("olga", "missile alert", "", "").value(),
            json({{"as", "olga"},
                  {"kind", "call"},
                  {"topic", "missile alert"},
                  {"precedence", "FLASH"},
                  {"immediate", true},
                  {"windows", json::array({{{"start", "+0m"}, {"end", "+1h"}}})}}));
  json body = call_request_body("olga", "talks", "priority", "heads of state").value();
  EXPECT_EQ(body["precedence"], "PRIORITY");
  EXPECT_EQ(body["officials"], "heads of state");
  EXPECT_TRUE(mentions(failure(call_request_body("olga", "talks", "SOON", "")), "--precedence"));
}

TEST(Step, RefusesMissingRequiredAndForeignFlags) {
  EXPECT_TRUE(mentions(failure(step_body("decline", pavel())), "--reason"));
  EXPECT_TRUE(mentions(failure(step_body("refer", pavel())), "--to"));
  EXPECT_TRUE(mentions(failure(step_body("schedule", pavel())), "--window"));
  EXPECT_TRUE(
      mentions(failure(step_body("ack", pavel([](StepFlags& f) { f.reason = "x"; }))), "--reason"));
  EXPECT_TRUE(
      mentions(failure(step_body("begin", pavel([](StepFlags& f) { f.to = "x"; }))), "--to"));
  EXPECT_TRUE(
      mentions(failure(step_body("accept", pavel([](StepFlags& f) { f.windows = {"+1h/+2h"}; }))),
               "single"));
  EXPECT_TRUE(mentions(failure(step_body("hangup", pavel())), "unknown step"));
}

TEST(Step, RefusesABadWindowOrDuration) {
  EXPECT_TRUE(
      mentions(failure(step_body("schedule", pavel([](StepFlags& f) { f.window = "+1h-+2h"; }))),
               "exactly one '/'"));
  EXPECT_TRUE(mentions(failure(step_body("counter", pavel([](StepFlags& f) {
                                           f.windows = {"+1h/+2h", "+3h/"};
                                         }))),
                       "--window"));
  EXPECT_TRUE(mentions(
      failure(step_body("counter", pavel([](StepFlags& f) { f.respond_within = "1 day"; }))),
      "--respond-within"));
  EXPECT_TRUE(mentions(failure(step_body("counter", pavel([](StepFlags& f) { f.kind = "fax"; }))),
                       "--kind"));
}

TEST(Step, BuildsEachStepsBody) {
  EXPECT_EQ(step_body("ack", pavel()).value(), json({{"as", "pavel"}}));
  EXPECT_EQ(step_body("begin", pavel()).value(), json({{"as", "pavel"}}));
  EXPECT_EQ(step_body("accept", pavel()).value(), json({{"as", "pavel"}}));
  EXPECT_EQ(step_body("accept", pavel([](StepFlags& f) { f.window = "+1h/+2h"; })).value(),
            json({{"as", "pavel"}, {"window", {{"start", "+1h"}, {"end", "+2h"}}}}));
  EXPECT_EQ(step_body("decline", pavel([](StepFlags& f) { f.reason = "no time"; })).value(),
            json({{"as", "pavel"}, {"reason", "no time"}}));
  EXPECT_EQ(step_body("refer", pavel([](StepFlags& f) { f.to = "deputy minister"; })).value(),
            json({{"as", "pavel"}, {"to", "deputy minister"}}));
  EXPECT_EQ(step_body("withdraw", pavel()).value(), json({{"as", "pavel"}}));
  EXPECT_EQ(step_body("schedule", pavel([](StepFlags& f) { f.window = "2026-11-24T10:00Z/+1d"; }))
                .value(),
            json({{"as", "pavel"}, {"window", {{"start", "2026-11-24T10:00Z"}, {"end", "+1d"}}}}));
  EXPECT_EQ(step_body("conclude", pavel([](StepFlags& f) { f.summary = "agreed"; })).value(),
            json({{"as", "pavel"}, {"summary", "agreed"}}));
}

TEST(Step, CounterSendsOnlyWhatChanges) {
  EXPECT_EQ(step_body("counter", pavel([](StepFlags& f) { f.level = "deputies"; })).value(),
            json({{"as", "pavel"}, {"level", "deputies"}}));
  const StepFlags all = pavel([](StepFlags& f) {
    f.reason = "later";
    f.kind = "written";
    f.topic = "t";
    f.officials = "o";
    f.level = "l";
    f.windows = {"+1d/+1d1h", "+2d/+2d1h"};
    f.respond_within = "24h";
  });
  EXPECT_EQ(step_body("counter", all).value(),
            json({{"as", "pavel"},
                  {"reason", "later"},
                  {"kind", "written"},
                  {"topic", "t"},
                  {"officials", "o"},
                  {"level", "l"},
                  {"windows", json::array({{{"start", "+1d"}, {"end", "+1d1h"}},
                                           {{"start", "+2d"}, {"end", "+2d1h"}}})},
                  {"respond_within", "24h"}}));
}

TEST(Step, RulesCoverEveryStepOfTheApi) {
  std::vector<std::string> names;
  for (const StepRule& rule : step_rules()) {
    names.emplace_back(rule.step);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ack", "accept", "decline", "counter", "refer",
                                             "withdraw", "schedule", "begin", "conclude"}));
}

TEST(OtherBodies, TranslationDiscardAndClock) {
  EXPECT_TRUE(mentions(failure(translation_body("ivan", "", "text")), "--language"));
  EXPECT_TRUE(mentions(failure(translation_body("ivan", "ru", "")), "--text"));
  EXPECT_EQ(translation_body("ivan", "ru", "привет").value(),
            json({{"as", "ivan"}, {"language", "ru"}, {"text", "привет"}}));
  EXPECT_EQ(discard_body("olga", "").dump(), json({{"as", "olga"}}).dump());
  EXPECT_EQ(discard_body("olga", "wrong window"),
            json({{"as", "olga"}, {"reason", "wrong window"}}));
  EXPECT_EQ(as_body("olga"), json({{"as", "olga"}}));
  EXPECT_TRUE(mentions(failure(clock_advance_body("an hour")), "--by"));
  EXPECT_EQ(clock_advance_body("90m").value(), json({{"advance", "90m"}}));
}

TEST(StationStatus, MapsToTheDocumentedExitCodes) {
  EXPECT_EQ(exit_code_for(errc_for_status(400)), kExitUsage);
  EXPECT_EQ(exit_code_for(errc_for_status(404)), kExitUsage);
  EXPECT_EQ(exit_code_for(errc_for_status(409)), kExitRefused);
  EXPECT_EQ(exit_code_for(errc_for_status(403)), kExitRefused);
  EXPECT_EQ(exit_code_for(errc_for_status(503)), kExitUnreachable);
  EXPECT_EQ(exit_code_for(errc_for_status(500)), kExitInternal);
}

TEST(Answers, MissingOrNullFieldsReadAsNothing) {
  const json answer = {{"id", 7}, {"line", nullptr}, {"list", "not an array"}, {"ok", true}};
  EXPECT_EQ(text_field(answer, "id"), "7");
  EXPECT_EQ(text_field(answer, "line"), "");
  EXPECT_EQ(text_field(answer, "absent"), "");
  EXPECT_EQ(text_field(json::array(), "id"), "");
  EXPECT_TRUE(array_field(answer, "list").empty());
  EXPECT_TRUE(field(answer, "absent").is_null());
  EXPECT_TRUE(bool_field(answer, "ok"));
  EXPECT_FALSE(bool_field(answer, "id"));
  EXPECT_EQ(translation_text(
                {{"entry", "7be01c44-5"}, {"language", "ru"}, {"text", "срочно"}, {"by", "ivan"}}),
            "[ru] срочно (translated by ivan)");
}

}  // namespace
}  // namespace hotline::cli
