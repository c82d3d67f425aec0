// core/precedence.h — the military order of precedence (ACP 121), used by the link's queues and
// the procedure's deadlines. FLASH overtakes everything queued (design.md §4).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace hotline {

// Ordered from most to least urgent; the numeric value is the queue order.
enum class Precedence : int { kFlash = 0, kImmediate = 1, kPriority = 2, kRoutine = 3 };

inline constexpr std::array<Precedence, 4> kAllPrecedences = {
    Precedence::kFlash, Precedence::kImmediate, Precedence::kPriority, Precedence::kRoutine};

// "FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE".
std::string_view precedence_name(Precedence precedence);
// Case-insensitive; nullopt for anything else.
std::optional<Precedence> parse_precedence(std::string_view text);

}  // namespace hotline
