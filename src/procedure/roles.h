// procedure/roles.h — who may do what (design.md §2, §6: "roles checked for every action, in one
// place").
//
// Every person at a station has one role. Every action a person takes through the CLI, the API or
// the console is checked here, by check_permitted, before anything else is done: the whole table
// of roles and actions is in roles.cc, so a reviewer reads one screen to know who can do what.
// A line's terms may restrict further which levels may use it; that is checked elsewhere, after
// the role.
#pragma once

#include <array>
#include <string_view>

#include "core/result.h"

namespace hotline::procedure {

enum class Role {
  // The duty officer at the desk: sends requests and immediate messages, acknowledges what
  // arrives, drafts decisions for a principal, schedules and concludes sessions.
  kOperator,
  // The official the line serves (or their delegate): decides, and confirms decisions drafted by
  // an operator where the line has the two-person rule. Can also do whatever an operator does.
  kPrincipal,
  // Attaches translations to entries, and reads the record to do so.
  kInterpreter,
  // Reads the record and the reports; changes nothing.
  kAuditor,
  // Manages the station's users and lines; takes no part in the procedure itself (an
  // administrator cannot decide, send or read the exchanges).
  kAdministrator,
};

inline constexpr std::array<Role, 5> kAllRoles = {
    Role::kOperator, Role::kPrincipal, Role::kInterpreter, Role::kAuditor, Role::kAdministrator};

// "operator", "principal", "interpreter", "auditor", "administrator": the names used on the command
// line, in the API and in the database.
std::string_view role_name(Role role);
// The role named `name` (exactly as role_name spells it); kInvalidArgument listing the valid
// names otherwise.
[[nodiscard]] Result<Role> parse_role(std::string_view name);

// What people do (design.md §2). Decisions are one action: accepting, declining, countering and
// referring a request are decided by the same people.
enum class Action {
  kSendRequest,        // ask the peer for a call, a video conference or a written exchange
  kAcknowledge,        // "we have it and will check"
  kDecide,             // accept, decline, counter or refer a request (for a principal)
  kConfirmDecision,    // confirm a decision drafted by an operator (two-person rule)
  kWithdraw,           // withdraw one's own request before it is decided
  kScheduleSession,    // turn an accepted request into a scheduled session
  kConcludeSession,    // conclude a session, optionally with a summary
  kSendImmediate,      // a message or immediate call outside the procedure (FLASH … ROUTINE)
  kAttachTranslation,  // attach a translation to an entry
  kReadRecord,         // read requests, messages and the record
  kReadReports,        // read the reports (time to acknowledge, to decide, outcomes)
  kManageUsers,        // add and disable users
  kManageLines,        // add and change lines and their terms
  kReadAudit,          // read the audit trail of local actions (who did what, from where)
};

inline constexpr std::size_t kActionCount = static_cast<std::size_t>(Action::kReadAudit) + 1;

// A stable name for logs and the API: "send-request", "confirm-decision", …
std::string_view action_name(Action action);

// Whether `role` may take `action`.
[[nodiscard]] bool permits(Role role, Action action);

// Success when `role` may take `action`; otherwise kRefused with a message naming both, e.g.
// "the auditor role may not send a request (send-request)".
[[nodiscard]] Result<void> check_permitted(Role role, Action action);

}  // namespace hotline::procedure
