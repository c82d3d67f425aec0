// Roles (design.md §2, §6): each role may do what its job needs and is refused the rest, with a
// message naming the role and the action.
#include "procedure/roles.h"

#include <gtest/gtest.h>

#include <set>

namespace hotline::procedure {
namespace {

constexpr std::array<Action, kActionCount> kAllActions = {
    Action::kSendRequest,     Action::kAcknowledge,   Action::kDecide,
    Action::kConfirmDecision, Action::kWithdraw,      Action::kScheduleSession,
    Action::kConcludeSession, Action::kSendImmediate, Action::kAttachTranslation,
    Action::kReadRecord,      Action::kReadReports,   Action::kManageUsers,
    Action::kManageLines,     Action::kReadAudit};

std::set<Action> permitted_to(Role role) {
  std::set<Action> actions;
  for (Action action : kAllActions) {
    if (permits(role, action)) {
      actions.insert(action);
    }
  }
  return actions;
}

// --- refusals -----------------------------------------------------------------------------------

TEST(Roles, RefusalIsRefusedNamingTheRoleAndTheAction) {
  auto refused = check_permitted(Role::kAuditor, Action::kSendRequest);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kRefused);
  EXPECT_EQ(refused.error().message, "the auditor role may not send a request (send-request)");
}

TEST(Roles, AuditorOnlyReads) {
  EXPECT_EQ(permitted_to(Role::kAuditor),
            (std::set<Action>{Action::kReadRecord, Action::kReadReports, Action::kReadAudit}));
}

TEST(Roles, OperatorCannotConfirmADecision) {
  // The two-person rule: the operator drafts, a principal confirms.
  EXPECT_TRUE(check_permitted(Role::kOperator, Action::kDecide).ok());
  auto refused = check_permitted(Role::kOperator, Action::kConfirmDecision);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "the operator role may not confirm a decision (confirm-decision)");
}

TEST(Roles, AdministratorManagesUsersAndLinesReadsTheAuditTrailAndNothingElse) {
  EXPECT_EQ(permitted_to(Role::kAdministrator),
            (std::set<Action>{Action::kManageUsers, Action::kManageLines, Action::kReadAudit}));
  EXPECT_FALSE(check_permitted(Role::kAdministrator, Action::kDecide).ok());
  EXPECT_FALSE(check_permitted(Role::kAdministrator, Action::kReadRecord).ok());
}

TEST(Roles, InterpreterTranslatesAndReadsTheRecord) {
  EXPECT_EQ(permitted_to(Role::kInterpreter),
            (std::set<Action>{Action::kAttachTranslation, Action::kReadRecord}));
}

TEST(Roles, OnlyInterpretersTranslateOnlyPrincipalsConfirmOnlyAdministratorsManage) {
  for (Role role : kAllRoles) {
    EXPECT_EQ(permits(role, Action::kAttachTranslation), role == Role::kInterpreter)
        << role_name(role);
    EXPECT_EQ(permits(role, Action::kConfirmDecision), role == Role::kPrincipal) << role_name(role);
    EXPECT_EQ(permits(role, Action::kManageUsers), role == Role::kAdministrator) << role_name(role);
    EXPECT_EQ(permits(role, Action::kManageLines), role == Role::kAdministrator) << role_name(role);
  }
}

TEST(Roles, UnknownRoleNameIsRefusedListingTheRoles) {
  for (const char* name : {"", "Operator", "admin", "operator ", "root"}) {
    auto parsed = parse_role(name);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("operator, principal, interpreter, auditor, "
                                          "administrator"),
              std::string::npos)
        << parsed.error().message;
  }
}

// --- permissions --------------------------------------------------------------------------------

TEST(Roles, PrincipalDoesWhatAnOperatorDoesAndConfirms) {
  std::set<Action> expected = permitted_to(Role::kOperator);
  expected.insert(Action::kConfirmDecision);
  EXPECT_EQ(permitted_to(Role::kPrincipal), expected);
}

TEST(Roles, OperatorRunsTheDesk) {
  EXPECT_EQ(permitted_to(Role::kOperator),
            (std::set<Action>{Action::kSendRequest, Action::kAcknowledge, Action::kDecide,
                              Action::kWithdraw, Action::kScheduleSession, Action::kConcludeSession,
                              Action::kSendImmediate, Action::kReadRecord, Action::kReadReports}));
}

TEST(Roles, NamesRoundTripAndActionNamesAreDistinct) {
  for (Role role : kAllRoles) {
    auto parsed = parse_role(role_name(role));
    ASSERT_TRUE(parsed.ok()) << role_name(role);
    EXPECT_EQ(*parsed, role);
  }
  std::set<std::string_view> names;
  for (Action action : kAllActions) {
    EXPECT_FALSE(action_name(action).empty());
    names.insert(action_name(action));
  }
  EXPECT_EQ(names.size(), kActionCount);
  EXPECT_EQ(action_name(Action::kConfirmDecision), "confirm-decision");
}

}  // namespace
}  // namespace hotline::procedure
