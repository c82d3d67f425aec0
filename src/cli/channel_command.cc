// `hotline messages`, `translate`, `notices`, `call`, `report` and `clock show|advance`: the line
// as a channel between the parties (messages, their acknowledgement and translations, the station's
// notices of deadlines), driven through a running station's control socket (docs/cli.md "The
// procedure").
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/station_call.h"
#include "core/clock.h"

namespace hotline::cli {
namespace {

using nlohmann::json;

constexpr const char* kDirHelp = "Data directory (default $HOTLINE_DIR or .)";
constexpr const char* kJsonHelp = "Print the station's answer as one JSON document";

// The flags every line command here has.
struct LineFlags {
  std::string dir;
  std::string line;
  bool json = false;
};

void add_line_flags(CLI::App* sub, LineFlags& flags) {
  sub->add_option("--dir", flags.dir, kDirHelp);
  sub->add_option("--line", flags.line, "The line's name")->required();
  sub->add_flag("--json", flags.json, kJsonHelp);
}

// Whether a FLASH message was acknowledged, and when; or when it must be.
void print_acknowledgement(const json& message) {
  const std::string at = text_field(message, "acknowledged_at");
  std::cout << "    ";
  if (!at.empty()) {
    std::cout << "acknowledged " << at << " by " << text_field(message, "acknowledged_by");
  } else if (!text_field(message, "ack_deadline").empty()) {
    std::cout << "NOT acknowledged (due " << text_field(message, "ack_deadline") << ")";
  } else {
    std::cout << "NOT acknowledged";
  }
  std::cout << (bool_field(message, "late") ? ", LATE" : "") << "\n";
}

void print_messages(const json& answer, const std::string& line) {
  const json& messages = array_field(answer, "messages");
  if (messages.empty()) {
    std::cout << "no messages on line " << line << "\n";
  }
  for (const json& m : messages) {
    std::cout << text_field(m, "sent_at") << "  " << text_field(m, "direction") << "  "
              << text_field(m, "precedence") << "  from " << text_field(m, "from") << "  (entry "
              << text_field(m, "id") << ")\n    " << text_field(m, "text") << "\n";
    if (text_field(m, "precedence") == "FLASH") {
      print_acknowledgement(m);
    }
    for (const json& t : array_field(m, "translations")) {
      std::cout << "      " << translation_text(t) << "\n";
    }
  }
}

void print_notices(const json& answer, const std::string& line) {
  const json& notices = array_field(answer, "notices");
  if (notices.empty()) {
    std::cout << "no notices on line " << line << "\n";
  }
  for (const json& n : notices) {
    std::cout << text_field(n, "raised_at") << "  " << text_field(n, "kind") << " of "
              << text_field(n, "subject") << " (at " << text_field(n, "at") << "), for "
              << text_field(n, "audience") << ": " << text_field(n, "message") << "\n";
  }
}

std::string offset_text(const json& answer) {
  const std::string offset = text_field(answer, "offset_s");
  return offset.empty() ? "" : ", offset " + offset + " s from real time";
}

struct ClockFlags {
  std::string dir;
  std::string by;  // advance only
  std::string to;  // set only
  bool json = false;
};

}  // namespace

Command add_clock_command(CLI::App& app) {
  CLI::App* sub =
      app.add_subcommand("clock", "Show the station's clock, or move its test clock forward");
  sub->require_subcommand(1);
  auto show = std::make_shared<ClockFlags>();
  CLI::App* show_cmd = sub->add_subcommand("show", "Show the station's clock");
  show_cmd->add_option("--dir", show->dir, kDirHelp);
  show_cmd->add_flag("--json", show->json, kJsonHelp);

  auto advance = std::make_shared<ClockFlags>();
  CLI::App* advance_cmd = sub->add_subcommand(
      "advance", "Move the station's test clock forward (only with `serve --test-clock`)");
  advance_cmd->add_option("--dir", advance->dir, kDirHelp);
  advance_cmd->add_option("--by,by", advance->by, "How far, e.g. 90m or 2d")->required();
  advance_cmd->add_flag("--json", advance->json, kJsonHelp);

  auto set = std::make_shared<ClockFlags>();
  CLI::App* set_cmd = sub->add_subcommand(
      "set", "Move the station's test clock forward to a time (only with `serve --test-clock`)");
  set_cmd->add_option("--dir", set->dir, kDirHelp);
  set_cmd->add_option("--to,to", set->to, "The time, UTC, e.g. 2027-01-15T08:00Z")->required();
  set_cmd->add_flag("--json", set->json, kJsonHelp);

  const auto print_moved = [](const json& answer) {
    std::cout << "station clock moved to " << text_field(answer, "now") << offset_text(answer)
              << "\n";
  };
  return {sub, [=] {
            const Result<std::string> target = std::string("/v1/clock");
            if (advance_cmd->parsed()) {
              return run_station_call(advance->dir, "POST", target, clock_advance_body(advance->by),
                                      advance->json, print_moved);
            }
            if (set_cmd->parsed()) {
              Result<json> body = json{{"set", set->to}};
              if (auto time = parse_utc(set->to); !time.ok()) {
                body = make_error(Errc::kInvalidArgument, "--to: " + time.error().message);
              }
              return run_station_call(set->dir, "POST", target, body, set->json, print_moved);
            }
            return run_station_call(show->dir, "GET", target, json(), show->json,
                                    [](const json& answer) {
                                      std::cout << "station clock: " << text_field(answer, "now")
                                                << (bool_field(answer, "test_clock")
                                                        ? " (test clock" + offset_text(answer) + ")"
                                                        : " (real)")
                                                << "\n";
                                    });
          }};
}

Command add_messages_command(CLI::App& app) {
  auto flags = std::make_shared<LineFlags>();
  CLI::App* sub =
      app.add_subcommand("messages",
                         "List a line's latest messages, both ways, with acknowledgements and "
                         "translations");
  add_line_flags(sub, *flags);
  return {sub, [flags] {
            return run_station_call(
                flags->dir, "GET", line_target({{flags->line, "--line"}, {"messages"}}), json(),
                flags->json, [&](const json& answer) { print_messages(answer, flags->line); });
          }};
}

Command add_translate_command(CLI::App& app) {
  struct Flags {
    LineFlags common;
    std::string entry;
    std::string as;
    std::string language;
    std::string text;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "translate", "Attach a translation to an entry (a message or a step of a request)");
  add_line_flags(sub, flags->common);
  sub->add_option("--entry", flags->entry, "The id of the entry translated")->required();
  sub->add_option("--as", flags->as, "The interpreter (`hotline user add`)")->required();
  sub->add_option("--language", flags->language, "The translation's language tag, e.g. ru")
      ->required();
  sub->add_option("--text", flags->text, "The translation")->required();
  return {sub, [flags] {
            const LineFlags& c = flags->common;
            auto target = line_target(
                {{c.line, "--line"}, {"entries"}, {flags->entry, "--entry"}, {"translations"}});
            return run_station_call(
                c.dir, "POST", target, translation_body(flags->as, flags->language, flags->text),
                c.json, [&](const json& answer) {
                  std::cout << "translation (" << flags->language << ") of entry " << flags->entry
                            << " on line " << c.line << " recorded as entry "
                            << text_field(answer, "entry") << "\n";
                });
          }};
}

Command add_notices_command(CLI::App& app) {
  auto flags = std::make_shared<LineFlags>();
  CLI::App* sub = app.add_subcommand(
      "notices", "List the station's notices on a line: deadlines near, passed or missed");
  add_line_flags(sub, *flags);
  return {sub, [flags] {
            return run_station_call(
                flags->dir, "GET", line_target({{flags->line, "--line"}, {"notices"}}), json(),
                flags->json, [&](const json& answer) { print_notices(answer, flags->line); });
          }};
}

Command add_call_command(CLI::App& app) {
  struct Flags {
    LineFlags common;
    std::string as;
    std::string topic;
    std::string precedence = "FLASH";
    std::string officials;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "call", "Request an immediate call of the peer (FLASH, within the next hour)");
  add_line_flags(sub, flags->common);
  sub->add_option("--as", flags->as, "The user acting (`hotline user add`)")->required();
  sub->add_option("--topic", flags->topic, "What it is about")->required();
  sub->add_option("--precedence", flags->precedence,
                  "FLASH (default), IMMEDIATE, PRIORITY or ROUTINE");
  sub->add_option("--officials", flags->officials, "Who is to take part");
  return {sub, [flags] {
            const LineFlags& c = flags->common;
            auto body =
                call_request_body(flags->as, flags->topic, flags->precedence, flags->officials);
            return run_station_call(
                c.dir, "POST", line_target({{c.line, "--line"}, {"requests"}}), body, c.json,
                [&](const json& answer) {
                  const json& request = field(answer, "request");
                  std::cout << "call requested: request " << text_field(request, "id")
                            << " on line " << c.line << ", " << text_field(request, "precedence")
                            << ", " << text_field(request, "state");
                  if (!text_field(request, "ack_deadline").empty()) {
                    std::cout << " (ack due " << text_field(request, "ack_deadline") << ")";
                  }
                  std::cout << "\n";
                });
          }};
}

Command add_report_command(CLI::App& app) {
  struct Flags {
    LineFlags common;
    std::string from;
    std::string to;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "report",
      "Per direction: how many requests, median and worst time to deliver, acknowledge and "
      "decide, and how they ended; computed from the record alone, so both stations agree");
  add_line_flags(sub, flags->common);
  sub->add_option("--from", flags->from,
                  "Only requests made at or after this time (UTC, e.g. 2026-11-01T00:00Z)");
  sub->add_option("--to", flags->to, "Only requests made before this time (UTC)");
  return {sub, [flags] {
            const LineFlags& c = flags->common;
            auto target = [&]() -> Result<std::string> {
              HOTLINE_ASSIGN(std::string path, line_target({{c.line, "--line"}, {"report"}}));
              std::string query;
              for (const auto& [value, name] :
                   {std::pair{flags->from, "from"}, std::pair{flags->to, "to"}}) {
                if (value.empty()) {
                  continue;
                }
                if (auto time = parse_utc(value); !time.ok()) {
                  return make_error(Errc::kInvalidArgument,
                                    std::string("--") + name + ": " + time.error().message);
                }
                query += (query.empty() ? "?" : "&") + std::string(name) + "=" + value;
              }
              return path + query;
            }();
            return run_station_call(c.dir, "GET", target, json(), c.json, [](const json& answer) {
              std::cout << text_field(answer, "text");
            });
          }};
}

}  // namespace hotline::cli
