#include "cli/station_call.h"

#include <algorithm>
#include <iostream>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/duration.h"
#include "core/precedence.h"
#include "station/control_socket.h"
#include "station/station_dir.h"
#include "station/station_server.h"

namespace hotline::cli {

int report_control_failure(const Error& error, bool json) {
  if (json) {
    print_json({{"error", {{"kind", "unreachable"}, {"message", error.message}}}});
  } else {
    std::cerr << "hotline: " << error.message << "\n";
  }
  return kExitUnreachable;
}

Errc errc_for_status(int status) {
  if (status == 400 || status == 405 || status == 413) {
    return Errc::kInvalidArgument;
  }
  if (status == 404) {
    return Errc::kNotFound;
  }
  if (status == 409 || status == 403) {
    return Errc::kRefused;
  }
  if (status == 503) {
    return Errc::kUnavailable;
  }
  return Errc::kInternal;
}

std::optional<nlohmann::json> call_station(const std::string& dir, const std::string& method,
                                           const std::string& target, const std::string& body,
                                           bool json, int& exit_code,
                                           std::chrono::milliseconds timeout) {
  auto paths = station::open_station_dir(dir);
  if (!paths) {
    exit_code = report_error(paths.error(), json);
    return std::nullopt;
  }
  auto response = station::control_request(station::control_socket_path(paths->dir), method, target,
                                           body, timeout);
  if (!response) {
    exit_code = report_control_failure(response.error(), json);
    return std::nullopt;
  }
  auto document = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status / 100 != 2) {
    std::string message =
        document.is_object() && document.contains("error") && document["error"].is_string()
            ? document["error"].get<std::string>()
            : "the station answered HTTP " + std::to_string(response->status);
    exit_code = report_error(make_error(errc_for_status(response->status), message), json);
    return std::nullopt;
  }
  if (document.is_discarded()) {
    exit_code = report_error(make_error(Errc::kInternal, "the station's answer is not JSON"), json);
    return std::nullopt;
  }
  exit_code = kExitOk;
  return document;
}

std::optional<std::string> line_of_request(const std::string& dir_flag, const std::string& id,
                                           bool json, int& exit_code) {
  auto status = call_station(resolve_dir(dir_flag), "GET", "/v1/status", "", json, exit_code);
  if (!status) {
    return std::nullopt;
  }
  for (const nlohmann::json& r : array_field(*status, "requests")) {
    if (text_field(r, "id") == id) {
      return text_field(r, "line");
    }
  }
  exit_code = report_error(
      make_error(Errc::kNotFound, "no line of the station holds request '" + id + "'"), json);
  return std::nullopt;
}

int run_station_call(const std::string& dir_flag, const std::string& method,
                     const Result<std::string>& target, const Result<nlohmann::json>& body,
                     bool json, const std::function<void(const nlohmann::json&)>& print) {
  if (!target) {
    return report_error(target.error(), json);
  }
  if (!body) {
    return report_error(body.error(), json);
  }
  std::string text;
  try {
    text = body->is_null() ? "" : body->dump();
  } catch (const nlohmann::json::type_error&) {
    // nlohmann::json refuses to write invalid UTF-8; the only text in a body comes from flags.
    return report_error(make_error(Errc::kInvalidArgument, "a flag's text is not valid UTF-8"),
                        json);
  }
  int exit_code = kExitOk;
  auto answer = call_station(resolve_dir(dir_flag), method, *target, text, json, exit_code);
  if (!answer) {
    return exit_code;
  }
  if (json) {
    print_json(*answer);
  } else {
    print(*answer);
  }
  return exit_code;
}

namespace {

Error usage(std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); }

// Why `text` cannot be one segment of a target path, or "" if it can.
std::string segment_problem(std::string_view text) {
  if (text.empty()) {
    return "is empty";
  }
  if (text == "." || text == "..") {
    return "is not a name";
  }
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || c == '?' || c == '#' || c == '%' || c == ' ' || byte < 0x20 || byte == 0x7f) {
      return "contains a character that cannot be sent in a request path (/ ? # % space or a "
             "control character)";
    }
  }
  return "";
}

}  // namespace

Result<std::string> line_target(std::initializer_list<Segment> segments) {
  std::string target = "/v1/lines";
  for (const Segment& segment : segments) {
    if (const std::string problem = segment_problem(segment.text); !problem.empty()) {
      const std::string name = segment.flag.empty() ? "a path segment" : std::string(segment.flag);
      return usage(name + " '" + std::string(segment.text) + "' " + problem);
    }
    target += "/";
    target += segment.text;
  }
  return target;
}

Result<Window> parse_window(std::string_view text, std::string_view flag) {
  const std::string hint =
      " (write START/END, e.g. 2026-11-24T10:00Z/2026-11-24T11:00Z or +2h/+3h)";
  const std::string what = std::string(flag) + " '" + std::string(text) + "'";
  if (std::count(text.begin(), text.end(), '/') != 1) {
    return usage(what + " must contain exactly one '/'" + hint);
  }
  const std::size_t slash = text.find('/');
  Window window{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  if (window.start.empty() || window.end.empty()) {
    return usage(what + " needs both a start and an end" + hint);
  }
  return window;
}

nlohmann::json window_json(const Window& window) {
  return {{"start", window.start}, {"end", window.end}};
}

Result<void> check_duration_flag(std::string_view text, std::string_view flag) {
  if (auto parsed = parse_duration(text); !parsed.ok()) {
    return usage(std::string(flag) + ": " + parsed.error().message);
  }
  return success();
}

Result<std::string> precedence_flag(std::string_view text) {
  const std::optional<Precedence> precedence = parse_precedence(text);
  if (!precedence) {
    return usage("--precedence '" + std::string(text) +
                 "' must be FLASH, IMMEDIATE, PRIORITY or ROUTINE");
  }
  return std::string(precedence_name(*precedence));
}

namespace {

// Adds `value` under `key` unless it is empty.
void put_if_given(nlohmann::json& body, const char* key, const std::string& value) {
  if (!value.empty()) {
    body[key] = value;
  }
}

Result<nlohmann::json> windows_json(const std::vector<std::string>& windows) {
  nlohmann::json array = nlohmann::json::array();
  for (const std::string& text : windows) {
    HOTLINE_ASSIGN(Window window, parse_window(text, "--window"));
    array.push_back(window_json(window));
  }
  return array;
}

Result<void> check_kind(const std::string& kind) {
  if (kind != "call" && kind != "video" && kind != "written") {
    return usage("--kind '" + kind + "' must be call, video or written");
  }
  return success();
}

}  // namespace

Result<nlohmann::json> new_request_body(const NewRequestFlags& flags) {
  HOTLINE_TRY(check_kind(flags.kind));
  if (flags.topic.empty()) {
    return usage("--topic must not be empty");
  }
  nlohmann::json body = {{"as", flags.as}, {"kind", flags.kind}, {"topic", flags.topic}};
  put_if_given(body, "officials", flags.officials);
  put_if_given(body, "level", flags.level);
  if (!flags.windows.empty()) {
    HOTLINE_ASSIGN(body["windows"], windows_json(flags.windows));
  }
  if (!flags.precedence.empty()) {
    HOTLINE_ASSIGN(body["precedence"], precedence_flag(flags.precedence));
  }
  if (!flags.ack_within.empty()) {
    HOTLINE_TRY(check_duration_flag(flags.ack_within, "--ack-within"));
    body["ack_within"] = flags.ack_within;
  }
  if (!flags.respond_within.empty()) {
    HOTLINE_TRY(check_duration_flag(flags.respond_within, "--respond-within"));
    body["respond_within"] = flags.respond_within;
  }
  if (flags.immediate) {
    body["immediate"] = true;
  }
  return body;
}

Result<nlohmann::json> call_request_body(const std::string& as, const std::string& topic,
                                         const std::string& precedence,
                                         const std::string& officials) {
  NewRequestFlags flags;
  flags.as = as;
  flags.kind = "call";
  flags.topic = topic;
  flags.officials = officials;
  flags.precedence = precedence.empty() ? "FLASH" : precedence;
  flags.immediate = true;
  HOTLINE_ASSIGN(nlohmann::json body, new_request_body(flags));
  // Relative to the station's clock, which the station reads when it authors the request.
  body["windows"] = nlohmann::json::array({window_json({"+0m", "+1h"})});
  return body;
}

const std::vector<StepRule>& step_rules() {
  static const std::vector<StepRule> rules = {
      {"ack",
       "Acknowledge a request of the peer (we have it and will check), or with --message a FLASH "
       "message",
       {},
       ""},
      {"accept",
       "Accept the current proposal, optionally naming the window taken",
       {"--window"},
       ""},
      {"decline", "Decline the current proposal, with a reason", {"--reason"}, "--reason"},
      {"counter",
       "Answer with another proposal; an omitted field keeps the current one's value",
       {"--kind", "--topic", "--officials", "--level", "--window", "--reason", "--respond-within"},
       ""},
      {"refer", "Refer the request to another official; the deadline stands", {"--to"}, "--to"},
      {"withdraw", "Withdraw a request of ours", {"--reason"}, ""},
      {"schedule", "Schedule an accepted request for a window", {"--window"}, "--window"},
      {"begin", "Mark the start of the scheduled session", {}, ""},
      {"conclude", "Conclude an accepted or scheduled request", {"--summary"}, ""},
  };
  return rules;
}

namespace {

// Each flag of StepFlags by its name on the command line, and whether it was given.
std::vector<std::pair<std::string_view, bool>> given_flags(const StepFlags& flags) {
  return {{"--reason", !flags.reason.empty()},
          {"--window", !flags.window.empty() || !flags.windows.empty()},
          {"--to", !flags.to.empty()},
          {"--summary", !flags.summary.empty()},
          {"--kind", !flags.kind.empty()},
          {"--topic", !flags.topic.empty()},
          {"--officials", !flags.officials.empty()},
          {"--level", !flags.level.empty()},
          {"--respond-within", !flags.respond_within.empty()}};
}

Result<void> check_step_flags(const StepRule& rule, const StepFlags& flags) {
  for (const auto& [flag, given] : given_flags(flags)) {
    const bool taken = std::find(rule.takes.begin(), rule.takes.end(), flag) != rule.takes.end();
    if (given && !taken) {
      return usage(std::string(rule.step) + " does not take " + std::string(flag));
    }
    if (!given && flag == rule.required) {
      return usage(std::string(rule.step) + " needs " + std::string(flag));
    }
  }
  // One window for accept and schedule (the window taken); any number for counter.
  if (rule.step != "counter" && !flags.windows.empty()) {
    return usage(std::string(rule.step) + " takes a single --window");
  }
  if (rule.step == "counter" && !flags.window.empty()) {
    return usage("counter proposes its windows as a list (--window, repeated)");
  }
  return success();
}

}  // namespace

Result<nlohmann::json> step_body(std::string_view step, const StepFlags& flags) {
  const auto& rules = step_rules();
  const auto rule = std::find_if(rules.begin(), rules.end(),
                                 [step](const StepRule& r) { return r.step == step; });
  if (rule == rules.end()) {
    return usage("unknown step '" + std::string(step) + "'");
  }
  HOTLINE_TRY(check_step_flags(*rule, flags));
  nlohmann::json body = {{"as", flags.as}};
  if (!flags.window.empty()) {
    HOTLINE_ASSIGN(Window window, parse_window(flags.window, "--window"));
    body["window"] = window_json(window);
  }
  if (!flags.windows.empty()) {
    HOTLINE_ASSIGN(body["windows"], windows_json(flags.windows));
  }
  if (!flags.kind.empty()) {
    HOTLINE_TRY(check_kind(flags.kind));
    body["kind"] = flags.kind;
  }
  if (!flags.respond_within.empty()) {
    HOTLINE_TRY(check_duration_flag(flags.respond_within, "--respond-within"));
    body["respond_within"] = flags.respond_within;
  }
  put_if_given(body, "reason", flags.reason);
  put_if_given(body, "to", flags.to);
  put_if_given(body, "summary", flags.summary);
  put_if_given(body, "topic", flags.topic);
  put_if_given(body, "officials", flags.officials);
  put_if_given(body, "level", flags.level);
  return body;
}

nlohmann::json as_body(const std::string& as) { return {{"as", as}}; }

nlohmann::json discard_body(const std::string& as, const std::string& reason) {
  nlohmann::json body = as_body(as);
  put_if_given(body, "reason", reason);
  return body;
}

Result<nlohmann::json> translation_body(const std::string& as, const std::string& language,
                                        const std::string& text) {
  if (language.empty()) {
    return usage("--language must not be empty (a language tag such as ru or fr)");
  }
  if (text.empty()) {
    return usage("--text must not be empty");
  }
  return nlohmann::json{{"as", as}, {"language", language}, {"text", text}};
}

Result<nlohmann::json> clock_advance_body(const std::string& by) {
  HOTLINE_TRY(check_duration_flag(by, "--by"));
  return nlohmann::json{{"advance", by}};
}

std::string text_field(const nlohmann::json& document, const char* key) {
  if (!document.is_object()) {
    return "";
  }
  const auto it = document.find(key);
  if (it == document.end()) {
    return "";
  }
  if (it->is_string()) {
    return it->get<std::string>();
  }
  return it->is_number() ? it->dump() : "";
}

const nlohmann::json& field(const nlohmann::json& document, const char* key) {
  static const nlohmann::json kNull;
  if (!document.is_object()) {
    return kNull;
  }
  const auto it = document.find(key);
  return it != document.end() ? *it : kNull;
}

const nlohmann::json& array_field(const nlohmann::json& document, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json& value = field(document, key);
  return value.is_array() ? value : kEmpty;
}

bool bool_field(const nlohmann::json& document, const char* key) {
  const nlohmann::json& value = field(document, key);
  return value.is_boolean() && value.get<bool>();
}

std::string translation_text(const nlohmann::json& translation) {
  return "[" + text_field(translation, "language") + "] " + text_field(translation, "text") +
         " (translated by " + text_field(translation, "by") + ")";
}

}  // namespace hotline::cli
