// The `hotline` binary: every command of design.md §6.
#include <exception>
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  try {
    return hotline::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hotline: internal error: " << e.what() << "\n";
    return hotline::cli::kExitInternal;
  }
}
