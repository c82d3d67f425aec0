#include "core/precedence.h"

#include <cctype>

namespace hotline {

std::string_view precedence_name(Precedence precedence) {
  switch (precedence) {
    case Precedence::kFlash:
      return "FLASH";
    case Precedence::kImmediate:
      return "IMMEDIATE";
    case Precedence::kPriority:
      return "PRIORITY";
    case Precedence::kRoutine:
      return "ROUTINE";
  }
  return "ROUTINE";
}

std::optional<Precedence> parse_precedence(std::string_view text) {
  for (Precedence p : kAllPrecedences) {
    std::string_view name = precedence_name(p);
    if (name.size() == text.size() &&
        std::equal(name.begin(), name.end(), text.begin(), [](char a, char b) {
          return a == std::toupper(static_cast<unsigned char>(b));
        })) {
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace hotline
