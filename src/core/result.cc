#include "core/result.h"

namespace hotline {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid argument";
    case Errc::kMalformed:
      return "malformed";
    case Errc::kBadSignature:
      return "bad signature";
    case Errc::kBrokenChain:
      return "broken chain";
    case Errc::kConflict:
      return "conflict";
    case Errc::kNotFound:
      return "not found";
    case Errc::kPermission:
      return "permission";
    case Errc::kRefused:
      return "refused";
    case Errc::kIo:
      return "i/o";
    case Errc::kCorrupt:
      return "corrupt";
    case Errc::kInternal:
      return "internal";
    case Errc::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

}  // namespace hotline
