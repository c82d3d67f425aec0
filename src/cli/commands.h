// cli/commands.h — registration of each command with CLI11. One file per command.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace hotline::cli {

// Each registers a subcommand on `app` and returns it with the function that runs it and gives
// the exit code.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_init_command(CLI::App& app);
Command add_fingerprint_command(CLI::App& app);
Command add_verify_command(CLI::App& app);
Command add_export_command(CLI::App& app);
Command add_demo_command(CLI::App& app);
Command add_line_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_send_command(CLI::App& app);
Command add_status_command(CLI::App& app);
Command add_user_command(CLI::App& app);

// The procedure, through a running station (request_command.cc, channel_command.cc).
Command add_request_command(CLI::App& app);
Command add_requests_command(CLI::App& app);
// ack accept decline counter refer withdraw schedule begin conclude: one command per step.
std::vector<Command> add_step_commands(CLI::App& app);
// confirm, discard and decisions: the two-person rule's drafts.
std::vector<Command> add_decision_commands(CLI::App& app);
Command add_call_command(CLI::App& app);
Command add_messages_command(CLI::App& app);
Command add_translate_command(CLI::App& app);
Command add_notices_command(CLI::App& app);
Command add_clock_command(CLI::App& app);
Command add_report_command(CLI::App& app);

// The data directory: --dir, else $HOTLINE_DIR, else "." (design.md §6).
std::string resolve_dir(const std::string& flag);

}  // namespace hotline::cli
