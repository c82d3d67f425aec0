#include "procedure/roles.h"

#include <cstdlib>
#include <iostream>
#include <string>

namespace hotline::procedure {
namespace {

constexpr std::size_t kRoleCount = kAllRoles.size();

std::size_t index_of(Role role) { return static_cast<std::size_t>(role); }
std::size_t index_of(Action action) { return static_cast<std::size_t>(action); }

constexpr std::array<std::string_view, kRoleCount> kRoleNames = {
    "operator", "principal", "interpreter", "auditor", "administrator"};

struct Permission {
  // Who may: operator, principal, interpreter, auditor, administrator (the order of Role).
  std::array<bool, kRoleCount> allowed;
  Action action;
  std::string_view name;         // stable, for logs and the API
  std::string_view description;  // completes "the <role> role may not …"
};

// THE table of who may do what. One row per action, in the order of Action; columns in the order
// of Role. Why each role has what it has is written at Role (roles.h). In short: operators and
// principals run the procedure and principals alone confirm; interpreters translate; auditors
// read; administrators manage users and lines and nothing else.
constexpr bool X = true;   // permitted
constexpr bool o = false;  // refused
using enum Action;
// clang-format off
constexpr std::array<Permission, kActionCount> kTable = {{
    //op  pr  in  au  ad      (operator, principal, interpreter, auditor, administrator)
    {{X,  X,  o,  o,  o}, kSendRequest,       "send-request",       "send a request"},
    {{X,  X,  o,  o,  o}, kAcknowledge,       "acknowledge",        "acknowledge a request"},
    {{X,  X,  o,  o,  o}, kDecide,            "decide",             "decide a request"},
    {{o,  X,  o,  o,  o}, kConfirmDecision,   "confirm-decision",   "confirm a decision"},
    {{X,  X,  o,  o,  o}, kWithdraw,          "withdraw",           "withdraw a request"},
    {{X,  X,  o,  o,  o}, kScheduleSession,   "schedule-session",   "schedule a session"},
    {{X,  X,  o,  o,  o}, kConcludeSession,   "conclude-session",   "conclude a session"},
    {{X,  X,  o,  o,  o}, kSendImmediate,     "send-immediate",     "send an immediate message"},
    {{o,  o,  X,  o,  o}, kAttachTranslation, "attach-translation", "attach a translation"},
    {{X,  X,  X,  X,  o}, kReadRecord,        "read-record",        "read the record"},
    {{X,  X,  o,  X,  o}, kReadReports,       "read-reports",       "read the reports"},
    {{o,  o,  o,  o,  X}, kManageUsers,       "manage-users",       "manage users"},
    {{o,  o,  o,  o,  X}, kManageLines,       "manage-lines",       "manage lines"},
    {{o,  o,  o,  X,  X}, kReadAudit,         "read-audit",         "read the audit trail"},
}};
// clang-format on

// Lookups index the table by the enum: a row out of place would silently grant the wrong action.
constexpr bool rows_in_action_order() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].action) != i) {
      return false;
    }
  }
  return true;
}
static_assert(rows_in_action_order(), "kTable must list the actions in the order of Action");

const Permission& row(Action action) {
  const std::size_t i = index_of(action);
  if (i >= kTable.size()) {
    std::cerr << "hotline: internal error: unknown action " << i << "\n";
    std::abort();
  }
  return kTable[i];
}

}  // namespace

std::string_view role_name(Role role) {
  const std::size_t i = index_of(role);
  if (i >= kRoleNames.size()) {
    std::cerr << "hotline: internal error: unknown role " << i << "\n";
    std::abort();
  }
  return kRoleNames[i];
}

Result<Role> parse_role(std::string_view name) {
  std::string valid;
  for (Role role : kAllRoles) {
    if (role_name(role) == name) {
      return role;
    }
    valid += std::string(valid.empty() ? "" : ", ") + std::string(role_name(role));
  }
  return make_error(Errc::kInvalidArgument,
                    "unknown role '" + std::string(name) + "' (the roles are " + valid + ")");
}

std::string_view action_name(Action action) { return row(action).name; }

bool permits(Role role, Action action) { return row(action).allowed[index_of(role)]; }

Result<void> check_permitted(Role role, Action action) {
  if (permits(role, action)) {
    return success();
  }
  const Permission& refused = row(action);
  return make_error(Errc::kRefused, "the " + std::string(role_name(role)) + " role may not " +
                                        std::string(refused.description) + " (" +
                                        std::string(refused.name) + ")");
}

}  // namespace hotline::procedure
