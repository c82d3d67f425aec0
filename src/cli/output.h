// cli/output.h — how commands report: human text or one JSON document, and exit codes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"

namespace hotline::cli {

// The exit code for an error category (design.md §6).
int exit_code_for(Errc code);

// Prints `error` to stderr (or as {"error": …} on stdout with --json) and returns its exit code.
int report_error(const Error& error, bool json);

void print_json(const nlohmann::json& document);

}  // namespace hotline::cli
