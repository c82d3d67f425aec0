#include "cli/cli.h"

#include <cstdlib>
#include <iostream>
#include <vector>

#include "cli/commands.h"

namespace hotline::cli {

std::string resolve_dir(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
  if (const char* env = std::getenv("HOTLINE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return ".";
}

int run(int argc, char** argv) {
  CLI::App app{"Hotline: secure, accountable crisis hotlines between sovereign parties."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every command");
  std::vector<Command> commands = {
      add_init_command(app),   add_fingerprint_command(app), add_verify_command(app),
      add_export_command(app), add_demo_command(app),        add_line_command(app),
      add_serve_command(app),  add_send_command(app),        add_status_command(app),
      add_user_command(app),   add_request_command(app),     add_requests_command(app)};
  // The procedure's commands, in the order `hotline --help` lists them.
  auto append = [&commands](std::vector<Command> more) {
    commands.insert(commands.end(), more.begin(), more.end());
  };
  append(add_step_commands(app));
  append(add_decision_commands(app));
  append({add_call_command(app), add_messages_command(app), add_translate_command(app),
          add_notices_command(app), add_report_command(app), add_clock_command(app)});
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const Command& command : commands) {
    if (command.app->parsed()) {
      return command.run();
    }
  }
  return kExitUsage;
}

}  // namespace hotline::cli
