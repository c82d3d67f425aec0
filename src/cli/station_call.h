// cli/station_call.h — how commands talk to a running station over its control socket
// (DIR/control.sock, docs/cli.md "The control socket"): the call itself, the exit code of each
// failure, and the pure pieces that turn parsed flags into the procedure's request targets and
// JSON bodies (the API is described in docs/cli.md "The procedure").
//
// Everything here except call_station is pure: no I/O, so that what a command would send can be
// tested without a station. Every check that can fail before the station is contacted fails with
// Errc::kInvalidArgument (exit 2), naming the flag.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hotline::cli {

// Reports a failure to reach the station (exit 3): printed as {"error": {"kind": "unreachable",
// …}} with `json`, else on stderr.
int report_control_failure(const Error& error, bool json);

// The error category of an HTTP status the station answered with: 400, 405 and 413 are the
// caller's mistake, 404 an unknown line, id or endpoint (all exit 2); 403 and 409 a refusal
// (exit 4); 503 "not possible now" (exit 3: e.g. the line has not connected since the station
// started); anything else is internal (exit 5).
Errc errc_for_status(int status);

// Sends one request to the station serving from `dir`; the response body as JSON if the status is
// 2xx, else the station's error, already reported (as JSON with `json`, else on stderr). Sets
// `exit_code` for the caller to return: kExitOk on success.
std::optional<nlohmann::json> call_station(
    const std::string& dir, const std::string& method, const std::string& target,
    const std::string& body, bool json, int& exit_code,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs a command that makes one call to the station serving from `dir_flag` (resolved as
// resolve_dir does): exit 2 if `target` or `body` failed, before contacting the station; else the
// call, with `body` sent unless it is null (a GET), and its answer printed: as the station's JSON
// with `json`, else by `print`. Returns the exit code.
// The name of the line of the running station that holds request `id` (from its status), for the
// commands whose --line may be left out. Reports the failure and sets `exit_code` otherwise: exit
// 2 if no line holds it.
std::optional<std::string> line_of_request(const std::string& dir_flag, const std::string& id,
                                           bool json, int& exit_code);

int run_station_call(const std::string& dir_flag, const std::string& method,
                     const Result<std::string>& target, const Result<nlohmann::json>& body,
                     bool json, const std::function<void(const nlohmann::json&)>& print);

// ---- Targets ----

// One segment of a target path, and the flag it came from (empty for a fixed segment such as
// "requests").
struct Segment {
  std::string_view text;
  std::string_view flag = {};
};

// "/v1/lines/" followed by `segments` joined with '/', the first being the line's name, e.g.
// {{line, "--line"}, {"requests"}, {id, "--request"}}. Each must be a non-empty segment: not "."
// or "..", no '/', '?', '#', '%', space or control character (the station matches paths
// literally, without decoding them). The error names the flag.
[[nodiscard]] Result<std::string> line_target(std::initializer_list<Segment> segments);

// ---- Flag checks ----

// A time window as written on the command line: "START/END". The bounds are passed through to
// the station unchanged (ISO 8601 UTC or relative "+2h"; the station parses them).
struct Window {
  std::string start;
  std::string end;
};

// Parses "START/END": exactly one '/', neither side empty. `flag` names the flag in the error.
[[nodiscard]] Result<Window> parse_window(std::string_view text, std::string_view flag);

// {"start": START, "end": END}.
nlohmann::json window_json(const Window& window);

// Checks that `text` is a duration as core/duration.h reads it ("30m", "48h", "1h30m"), so that a
// typo is a usage error here rather than a round trip to the station, which parses it again.
[[nodiscard]] Result<void> check_duration_flag(std::string_view text, std::string_view flag);

// The canonical name ("FLASH", …) of a precedence written in any case.
[[nodiscard]] Result<std::string> precedence_flag(std::string_view text);

// ---- Bodies of the procedure's endpoints ----

// `hotline request`: POST /v1/lines/L/requests. Empty strings and an empty `windows` are omitted
// from the body (the station applies the line's terms); `immediate` is sent only when set.
struct NewRequestFlags {
  std::string as;
  std::string kind;  // "call", "video" or "written"
  std::string topic;
  std::string officials;
  std::string level;
  std::vector<std::string> windows;  // each "START/END"
  std::string precedence;            // any case; empty: the station's default, ROUTINE
  std::string ack_within;            // a duration, e.g. "30m"
  std::string respond_within;        // a duration, e.g. "48h"
  bool immediate = false;
};
[[nodiscard]] Result<nlohmann::json> new_request_body(const NewRequestFlags& flags);

// `hotline call`: an immediate call request, FLASH unless `precedence` says otherwise, for the
// window from now to one hour from now (on the station's clock).
[[nodiscard]] Result<nlohmann::json> call_request_body(const std::string& as,
                                                       const std::string& topic,
                                                       const std::string& precedence,
                                                       const std::string& officials);

// A step of a request (docs/procedure.md §1), as POST /v1/lines/L/requests/ID/STEP takes it.
struct StepRule {
  std::string_view step;                // "ack", "accept", …: the endpoint and the command
  std::string_view description;         // what it does, for the command's help
  std::vector<std::string_view> takes;  // its flags beside --line, --request and --as
  std::string_view required;            // the one of `takes` it cannot do without, or empty
};

// Every step, in the order of docs/procedure.md §1: ack accept decline counter refer withdraw
// schedule begin conclude.
const std::vector<StepRule>& step_rules();

// The flags of every step. A step takes only those step_rules() lists for it (the others must be
// empty); an omitted optional flag is left out of the body (for counter: it keeps the current
// proposal's value). `window` is the single --window of accept and schedule, `windows` the
// repeated --window of counter.
struct StepFlags {
  std::string as;
  std::string reason;
  std::string window;  // "START/END"
  std::string to;
  std::string summary;
  std::string kind;
  std::string topic;
  std::string officials;
  std::string level;
  std::vector<std::string> windows;  // each "START/END"
  std::string respond_within;        // a duration
};
// Fails with kInvalidArgument for an unknown step, a missing required flag, a flag the step does
// not take, or a bad window or duration.
[[nodiscard]] Result<nlohmann::json> step_body(std::string_view step, const StepFlags& flags);

// {"as": AS}, for acknowledging a message and confirming a draft.
nlohmann::json as_body(const std::string& as);

// `hotline discard`: {"as", "reason"?}.
nlohmann::json discard_body(const std::string& as, const std::string& reason);

// `hotline translate`: {"as", "language", "text"}; the language tag and text must not be empty.
[[nodiscard]] Result<nlohmann::json> translation_body(const std::string& as,
                                                      const std::string& language,
                                                      const std::string& text);

// `hotline clock advance`: {"advance": DURATION}.
[[nodiscard]] Result<nlohmann::json> clock_advance_body(const std::string& by);

// ---- Reading answers ----

// The string at `key` of an object, or a number there in decimal, or "" if `document` is not an
// object, the key is missing or its value is neither (null, for instance). Answers are read with
// this, so that a missing field prints as nothing rather than aborting the command.
std::string text_field(const nlohmann::json& document, const char* key);

// The value at `key` of an object, or null if `document` is not an object or has no such key.
const nlohmann::json& field(const nlohmann::json& document, const char* key);

// The array at `key` of an object, or an empty array if there is none.
const nlohmann::json& array_field(const nlohmann::json& document, const char* key);

// True only if the value at `key` of an object is the boolean true.
bool bool_field(const nlohmann::json& document, const char* key);

// A translation {"entry", "language", "text", "by"} as commands print it under the entry it
// translates: "[ru] текст (translated by ivan)".
std::string translation_text(const nlohmann::json& translation);

}  // namespace hotline::cli
