// integration/hotline_process.h — runs the real `hotline` binary and captures what it prints.
#pragma once

#include <string>
#include <vector>

namespace hotline::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `hotline` (the binary under test) with `args`, feeding `input` on standard input.
CommandResult run_hotline(const std::vector<std::string>& args, const std::string& input = "");

}  // namespace hotline::testing
