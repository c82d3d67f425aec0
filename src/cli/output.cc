#include "cli/output.h"

#include <iostream>

#include "cli/cli.h"

namespace hotline::cli {

int exit_code_for(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
    case Errc::kNotFound:
      return kExitUsage;
    case Errc::kPermission:
    case Errc::kRefused:
      return kExitRefused;
    case Errc::kMalformed:
    case Errc::kBadSignature:
    case Errc::kBrokenChain:
    case Errc::kConflict:
    case Errc::kCorrupt:
    case Errc::kIo:
    case Errc::kInternal:
      return kExitInternal;
    case Errc::kUnavailable:
      return kExitUnreachable;
  }
  return kExitInternal;
}

int report_error(const Error& error, bool json) {
  if (json) {
    print_json({{"error", {{"kind", errc_name(error.code)}, {"message", error.message}}}});
  } else {
    std::cerr << "hotline: " << error.message << "\n";
  }
  return exit_code_for(error.code);
}

void print_json(const nlohmann::json& document) {
  std::cout << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace hotline::cli
