// cli/cli.h — the `hotline` command line (design.md §6; flags and JSON in docs/cli.md).
#pragma once

namespace hotline::cli {

// Exit codes: the contract scripts rely on (design.md §6).
enum ExitCode : int {
  kExitOk = 0,
  kExitBad = 1,          // the thing checked is bad (verify)
  kExitUsage = 2,        // usage error
  kExitUnreachable = 3,  // station not running or unreachable
  kExitRefused = 4,      // refused: role, deadline, state, permissions
  kExitInternal = 5,     // I/O or internal error
};

int run(int argc, char** argv);

}  // namespace hotline::cli
