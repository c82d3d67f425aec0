// `hotline request`, `requests`, one command per step of a request (`ack` … `conclude`), and the
// two-person rule's drafts (`confirm`, `discard`, `decisions`): the procedure (docs/procedure.md)
// driven through a running station's control socket (docs/cli.md "The procedure").
//
// The commands check their flags and build their bodies (cli/station_call.h) before contacting
// the station; the station decides everything else (roles, states, deadlines) and its refusal is
// exit 4.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/station_call.h"

namespace hotline::cli {
namespace {

using nlohmann::json;

constexpr const char* kDirHelp = "Data directory (default $HOTLINE_DIR or .)";
constexpr const char* kAsHelp =
    "The user acting (`hotline user add`); refused (exit 4) if unknown, disabled or their role "
    "may not do this";
constexpr const char* kWindowHelp =
    "START/END, each ISO 8601 UTC (2026-11-24T10:00Z) or relative to the station's clock (+2h)";

// The flags every command here has.
struct CommonFlags {
  std::string dir;
  std::string line;
  bool json = false;
};

// `line_optional`: for the commands that name a request, whose line the station can tell.
void add_common(CLI::App* sub, CommonFlags& flags, bool line_optional = false) {
  sub->add_option("--dir", flags.dir, kDirHelp);
  CLI::Option* line =
      sub->add_option("--line", flags.line,
                      line_optional ? "The line's name (default: the line that holds the request)"
                                    : "The line's name");
  if (!line_optional) {
    line->required();
  }
  sub->add_flag("--json", flags.json, "Print the station's answer as one JSON document");
}

// Fills in --line from the request's id when it was left out; false (with `exit_code` set) if it
// cannot be found.
bool resolve_line(CommonFlags& flags, const std::string& request, int& exit_code) {
  if (!flags.line.empty() || request.empty()) {
    return true;
  }
  auto line = line_of_request(flags.dir, request, flags.json, exit_code);
  if (line) {
    flags.line = *line;
  }
  return line.has_value();
}

// ", " between the parts that are not empty.
std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (!part.empty()) {
      out += (out.empty() ? "" : ", ") + part;
    }
  }
  return out;
}

std::string window_text(const json& window) {
  return text_field(window, "start") + " to " + text_field(window, "end");
}

// "request 3fa9c2d1-12 on line L: acknowledged (awaiting peer, response due …)"; `line` names
// the line if the request does not.
std::string request_summary(const json& request, const std::string& line) {
  const std::string state = text_field(request, "state");
  const std::string awaiting = text_field(request, "awaiting");
  std::vector<std::string> parts;
  if (!awaiting.empty()) {
    parts.push_back("awaiting " + awaiting);
  }
  if (!bool_field(request, "acknowledged") && (state == "sent" || state == "delivered") &&
      !text_field(request, "ack_deadline").empty()) {
    parts.push_back("ack due " + text_field(request, "ack_deadline"));
  }
  if (!awaiting.empty() && !text_field(request, "response_deadline").empty()) {
    parts.push_back("response due " + text_field(request, "response_deadline"));
  }
  if (!text_field(request, "referred_to").empty()) {
    parts.push_back("referred to " + text_field(request, "referred_to"));
  }
  if (field(request, "scheduled").is_object()) {
    parts.push_back("scheduled " + window_text(field(request, "scheduled")));
  }
  const std::string details = join(parts);
  const std::string named = text_field(request, "line");
  return "request " + text_field(request, "id") + " on line " + (named.empty() ? line : named) +
         ": " + state + (details.empty() ? "" : " (" + details + ")");
}

// What a held decision prints: who must confirm it, and how.
void print_drafted(const json& draft, const std::string& line) {
  const std::string id = text_field(draft, "id");
  std::cout << "decision drafted as draft " << id
            << ": a principal must confirm it (hotline confirm --line " << line << " --draft " << id
            << " --as PRINCIPAL)\n";
}

// The answer of a step: 201 {"request", "entry"} when authored, 202 {"draft"} when held for a
// principal's confirmation (both exit 0).
void print_step_answer(const json& answer, const std::string& line) {
  if (field(answer, "request").is_object()) {
    std::cout << request_summary(field(answer, "request"), line) << "\n";
  } else if (field(answer, "draft").is_object()) {
    print_drafted(field(answer, "draft"), line);
  } else {
    std::cout << "done on line " << line << "\n";
  }
}

// The columns of `hotline requests`, the free-text topic last so the others stay aligned.
void print_request_table(const json& answer, const std::string& line) {
  const json& requests = array_field(answer, "requests");
  if (requests.empty()) {
    std::cout << "no requests on line " << line << "\n";
    return;
  }
  const std::vector<const char*> keys = {"id",    "direction",  "kind",
                                         "state", "precedence", "response_deadline"};
  std::vector<std::string> headers = {"ID",    "DIRECTION",  "KIND",
                                      "STATE", "PRECEDENCE", "RESPONSE DUE"};
  std::vector<std::size_t> widths;
  for (std::size_t c = 0; c < keys.size(); ++c) {
    widths.push_back(headers[c].size());
    for (const json& request : requests) {
      widths[c] = std::max(widths[c], text_field(request, keys[c]).size());
    }
  }
  auto row = [&](const std::vector<std::string>& cells, const std::string& topic) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      std::cout << std::left << std::setw(static_cast<int>(widths[c])) << cells[c] << "  ";
    }
    std::cout << topic << "\n";
  };
  row(headers, "TOPIC");
  for (const json& request : requests) {
    std::vector<std::string> cells;
    for (const char* key : keys) {
      const std::string cell = text_field(request, key);
      cells.push_back(cell.empty() ? "-" : cell);
    }
    row(cells, text_field(request, "topic"));
  }
}

// Prints each translation in `translations` of `entry`, indented under it.
void print_translations(const json& translations, const std::string& entry) {
  for (const json& t : translations) {
    if (text_field(t, "entry") == entry) {
      std::cout << "      " << translation_text(t) << "\n";
    }
  }
}

void print_history(const json& request) {
  const json& history = array_field(request, "history");
  const json& translations = array_field(request, "translations");
  std::cout << "  history:\n";
  std::vector<std::string> shown;
  for (const json& step : history) {
    // "delivered" and "expired" are written by the station itself, not by a person.
    const std::string by = text_field(step, "by");
    std::cout << "    " << text_field(step, "time") << "  " << text_field(step, "kind") << " by "
              << (by.empty() ? "the station" : by);
    if (!text_field(step, "confirmed_by").empty()) {
      std::cout << ", confirmed by " << text_field(step, "confirmed_by");
    }
    std::cout << "  (entry " << text_field(step, "entry") << ")\n";
    // The station lists each step's translations with the step; the request's own at the top.
    const json& of_step = array_field(step, "translations");
    print_translations(of_step.empty() ? translations : of_step, text_field(step, "entry"));
    shown.push_back(text_field(step, "entry"));
  }
  for (const json& t : translations) {
    if (std::find(shown.begin(), shown.end(), text_field(t, "entry")) == shown.end()) {
      std::cout << "    translation of entry " << text_field(t, "entry") << ":\n";
      print_translations(json::array({t}), text_field(t, "entry"));
    }
  }
}

// The request's text fields shown by `requests --request`, when not empty, and their labels.
struct DetailLine {
  const char* key;
  const char* label;
};
constexpr DetailLine kDetailLines[] = {{"topic", "topic"},
                                       {"officials", "officials"},
                                       {"level", "level"},
                                       {"reason", "reason"},
                                       {"requested_at", "requested"},
                                       {"delivered_at", "delivered"},
                                       {"ack_deadline", "ack due"},
                                       {"response_deadline", "response due"}};

void print_request_detail(const json& answer, const std::string& line) {
  const json& request = field(answer, "request");
  std::cout << request_summary(request, line) << "\n  " << text_field(request, "direction") << " "
            << text_field(request, "kind")
            << (bool_field(request, "immediate") ? " (immediate)" : "") << ", "
            << text_field(request, "precedence") << "\n";
  for (const DetailLine& detail : kDetailLines) {
    if (!text_field(request, detail.key).empty()) {
      std::cout << "  " << detail.label << ": " << text_field(request, detail.key) << "\n";
    }
  }
  std::cout << "  acknowledged: " << (bool_field(request, "acknowledged") ? "yes" : "no") << "\n";
  for (const json& window : array_field(request, "windows")) {
    std::cout << "  proposed window: " << window_text(window) << "\n";
  }
  for (const json& anomaly : array_field(request, "anomalies")) {
    std::cout << "  ANOMALY: "
              << (anomaly.is_string() ? anomaly.get<std::string>() : anomaly.dump()) << "\n";
  }
  print_history(request);
}

void print_drafts(const json& answer, const std::string& line) {
  const json& drafts = array_field(answer, "decisions");
  if (drafts.empty()) {
    std::cout << "no drafted decisions on line " << line << "\n";
  }
  for (const json& d : drafts) {
    const std::string status = text_field(d, "status");
    constexpr int kStatusWidth = 9;  // "confirmed", "discarded"
    std::cout << "draft " << text_field(d, "id") << "  " << std::left << std::setw(kStatusWidth)
              << status << "  " << text_field(d, "step") << " of request "
              << text_field(d, "request") << "  drafted by " << text_field(d, "drafted_by")
              << " at " << text_field(d, "drafted_at") << "\n";
    if (!text_field(d, "decided_by").empty()) {
      std::cout << "  " << status << " by " << text_field(d, "decided_by") << " at "
                << text_field(d, "decided_at");
      if (!text_field(d, "entry").empty()) {
        std::cout << " (entry " << text_field(d, "entry") << ")";
      }
      std::cout << "\n";
    }
    if (!text_field(d, "note").empty()) {
      std::cout << "  note: " << text_field(d, "note") << "\n";
    }
  }
}

// The text flags a step may take (StepRule::takes), beside --window.
struct StepOption {
  std::string_view flag;
  std::string StepFlags::*member;
  const char* help;
};
constexpr StepOption kStepOptions[] = {
    {"--reason", &StepFlags::reason, "Why"},
    {"--to", &StepFlags::to, "The official it is referred to"},
    {"--summary", &StepFlags::summary, "How it ended"},
    {"--kind", &StepFlags::kind, "call, video or written"},
    {"--topic", &StepFlags::topic, "What it is about"},
    {"--officials", &StepFlags::officials, "Who takes part"},
    {"--level", &StepFlags::level, "The level of the talks"},
    {"--respond-within", &StepFlags::respond_within, "The deadline for the answer, e.g. 24h"},
};

struct StepCommandFlags {
  CommonFlags common;
  std::string request;
  std::string message;  // ack only
  StepFlags step;
};

void add_step_option(CLI::App* sub, const StepRule& rule, std::string_view flag, StepFlags& step) {
  CLI::Option* option = nullptr;
  if (flag == "--window" && rule.step == "counter") {
    option = sub->add_option("--window", step.windows, std::string(kWindowHelp) + "; repeat");
  } else if (flag == "--window") {
    option = sub->add_option("--window", step.window, kWindowHelp);
  }
  for (const StepOption& known : kStepOptions) {
    if (known.flag == flag) {
      option = sub->add_option(std::string(flag), step.*known.member, known.help);
    }
  }
  if (option != nullptr && flag == rule.required) {
    option->required();
  }
}

int run_step(StepCommandFlags& flags, const std::string& step) {
  int exit_code = kExitOk;
  if (!resolve_line(flags.common, flags.request, exit_code)) {
    return exit_code;
  }
  const CommonFlags& c = flags.common;
  if (!flags.message.empty()) {
    auto target =
        line_target({{c.line, "--line"}, {"messages"}, {flags.message, "--message"}, {"ack"}});
    return run_station_call(
        c.dir, "POST", target, as_body(flags.step.as), c.json, [&](const json& answer) {
          std::cout << "message " << flags.message << " on line " << c.line
                    << ": acknowledged (entry " << text_field(answer, "entry") << ")\n";
        });
  }
  if (flags.request.empty()) {
    return report_error(make_error(Errc::kInvalidArgument, "ack needs --request or --message"),
                        c.json);
  }
  auto target =
      line_target({{c.line, "--line"}, {"requests"}, {flags.request, "--request"}, {step}});
  return run_station_call(c.dir, "POST", target, step_body(step, flags.step), c.json,
                          [&c](const json& answer) { print_step_answer(answer, c.line); });
}

// One step command (step_rules()): `--line L --request ID --as USER` and the step's own flags.
// `ack` also takes `--message ID` instead of `--request`, to acknowledge a FLASH message.
Command add_step_command(CLI::App& app, const StepRule& rule) {
  auto flags = std::make_shared<StepCommandFlags>();
  const std::string step(rule.step);
  CLI::App* sub = app.add_subcommand(step, std::string(rule.description));
  add_common(sub, flags->common, true);
  CLI::Option* request = sub->add_option("--request", flags->request, "The request's id");
  sub->add_option("--as", flags->step.as, kAsHelp)->required();
  if (step == "ack") {
    sub->add_option("--message", flags->message, "Acknowledge this FLASH message of the peer")
        ->excludes(request);
  } else {
    request->required();
  }
  for (std::string_view flag : rule.takes) {
    add_step_option(sub, rule, flag, flags->step);
  }
  return {sub, [flags, step] { return run_step(*flags, step); }};
}

}  // namespace

Command add_request_command(CLI::App& app) {
  struct Flags {
    CommonFlags common;
    NewRequestFlags request;
  };
  auto flags = std::make_shared<Flags>();
  NewRequestFlags& r = flags->request;
  CLI::App* sub = app.add_subcommand("request",
                                     "Request a call, video conference or written "
                                     "exchange of the peer, on the record");
  add_common(sub, flags->common);
  sub->add_option("--as", r.as, kAsHelp)->required();
  sub->add_option("--kind", r.kind, "call, video or written")->required();
  sub->add_option("--topic", r.topic, "What it is about")->required();
  sub->add_option("--officials", r.officials, "Who is to take part");
  sub->add_option("--level", r.level, "The level of the talks");
  sub->add_option("--window", r.windows, std::string(kWindowHelp) + "; repeat, preferred first");
  sub->add_option("--precedence", r.precedence, "FLASH, IMMEDIATE, PRIORITY or ROUTINE (default)");
  sub->add_option("--ack-within", r.ack_within,
                  "Acknowledgement deadline, e.g. 30m (default: the line's terms)");
  sub->add_option("--respond-within", r.respond_within,
                  "Response deadline, e.g. 48h (default: the line's terms)");
  sub->add_flag("--immediate", r.immediate, "Ask for it to happen now");
  return {sub, [flags] {
            const CommonFlags& c = flags->common;
            return run_station_call(
                c.dir, "POST", line_target({{c.line, "--line"}, {"requests"}}),
                new_request_body(flags->request), c.json,
                [&c](const json& answer) { print_step_answer(answer, c.line); });
          }};
}

Command add_requests_command(CLI::App& app) {
  struct Flags {
    CommonFlags common;
    std::string request;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "requests", "List a line's requests, or show one with its history and translations");
  add_common(sub, flags->common, true);
  sub->add_option("--request", flags->request, "Show this request only");
  return {sub, [flags] {
            int exit_code = kExitOk;
            if (!resolve_line(flags->common, flags->request, exit_code)) {
              return exit_code;
            }
            const CommonFlags& c = flags->common;
            if (flags->request.empty()) {
              return run_station_call(
                  c.dir, "GET", line_target({{c.line, "--line"}, {"requests"}}), json(), c.json,
                  [&c](const json& answer) { print_request_table(answer, c.line); });
            }
            return run_station_call(
                c.dir, "GET",
                line_target({{c.line, "--line"}, {"requests"}, {flags->request, "--request"}}),
                json(), c.json, [&c](const json& answer) { print_request_detail(answer, c.line); });
          }};
}

std::vector<Command> add_step_commands(CLI::App& app) {
  std::vector<Command> commands;
  for (const StepRule& rule : step_rules()) {
    commands.push_back(add_step_command(app, rule));
  }
  return commands;
}

std::vector<Command> add_decision_commands(CLI::App& app) {
  struct Flags {
    CommonFlags common;
    std::uint64_t draft = 0;
    std::string as;
    std::string reason;
  };
  auto confirm = std::make_shared<Flags>();
  CLI::App* confirm_cmd = app.add_subcommand(
      "confirm", "Confirm an operator's drafted decision (the two-person rule): it is authored");
  add_common(confirm_cmd, confirm->common);
  confirm_cmd->add_option("--draft", confirm->draft, "The draft's number")->required();
  confirm_cmd->add_option("--as", confirm->as, "The principal confirming")->required();

  auto discard = std::make_shared<Flags>();
  CLI::App* discard_cmd =
      app.add_subcommand("discard", "Discard a drafted decision: it is never authored");
  add_common(discard_cmd, discard->common);
  discard_cmd->add_option("--draft", discard->draft, "The draft's number")->required();
  discard_cmd->add_option("--as", discard->as, kAsHelp)->required();
  discard_cmd->add_option("--reason", discard->reason, "Why");

  auto list = std::make_shared<Flags>();
  CLI::App* list_cmd =
      app.add_subcommand("decisions", "List a line's drafted decisions, pending and settled");
  add_common(list_cmd, list->common);

  auto draft_target = [](const Flags& f, const char* action) {
    return line_target(
        {{f.common.line, "--line"}, {"decisions"}, {std::to_string(f.draft), "--draft"}, {action}});
  };
  return {{confirm_cmd,
           [confirm, draft_target] {
             const CommonFlags& c = confirm->common;
             return run_station_call(
                 c.dir, "POST", draft_target(*confirm, "confirm"), as_body(confirm->as), c.json,
                 [&](const json& answer) {
                   std::cout << "draft " << confirm->draft << " confirmed by " << confirm->as
                             << " and recorded as entry " << text_field(answer, "entry") << "\n";
                   if (field(answer, "request").is_object()) {
                     std::cout << request_summary(field(answer, "request"), c.line) << "\n";
                   }
                 });
           }},
          {discard_cmd,
           [discard, draft_target] {
             const CommonFlags& c = discard->common;
             return run_station_call(
                 c.dir, "POST", draft_target(*discard, "discard"),
                 discard_body(discard->as, discard->reason), c.json, [&](const json&) {
                   std::cout << "draft " << discard->draft << " on line " << c.line
                             << " discarded by " << discard->as << ": it will not be authored\n";
                 });
           }},
          {list_cmd, [list] {
             const CommonFlags& c = list->common;
             return run_station_call(c.dir, "GET", line_target({{c.line, "--line"}, {"decisions"}}),
                                     json(), c.json,
                                     [&c](const json& answer) { print_drafts(answer, c.line); });
           }}};
}

}  // namespace hotline::cli
