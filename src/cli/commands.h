// cli/commands.h — registration of each command with CLI11. One file per command.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

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

// The data directory: --dir, else $HOTLINE_DIR, else "." (design.md §6).
std::string resolve_dir(const std::string& flag);

}  // namespace hotline::cli
