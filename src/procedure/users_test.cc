// New users (procedure/users.h): the name and password rules, and what is stored.
#include "procedure/users.h"

#include <gtest/gtest.h>

#include "crypto/password.h"

namespace hotline::procedure {
namespace {

const crypto::Passphrase& good_password() {
  static const crypto::Passphrase password("a long enough password");
  return password;
}

// --- errors -------------------------------------------------------------------------------------

TEST(UserName, EmptyOrTooLongIsRefusedSayingWhy) {
  auto empty = check_user_name("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(empty.error().message, "the user name is empty");

  EXPECT_TRUE(check_user_name(std::string(64, 'a')).ok());
  auto too_long = check_user_name(std::string(65, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("65 characters"), std::string::npos);
  EXPECT_NE(too_long.error().message.find("at most 64"), std::string::npos);
}

TEST(UserName, CharacterOutsideTheAlphabetIsRefusedNamingItsPosition) {
  auto upper = check_user_name("Alice");
  ASSERT_FALSE(upper.ok());
  EXPECT_EQ(upper.error().message,
            "the user name has 'A' at position 1, which is not allowed (use a-z, 0-9, '.', '_' "
            "and '-')");
  // A control character is shown as its byte, never written to the terminal.
  auto escape = check_user_name("bob\x1b[2J");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().message.find("byte 0x1b at position 4"), std::string::npos)
      << escape.error().message;
  EXPECT_EQ(escape.error().message.find('\x1b'), std::string::npos);
  for (const char* bad : {"two words", "o'brien", "ngọc", "a/b", "tab\there"}) {
    EXPECT_FALSE(check_user_name(bad).ok()) << bad;
  }
}

TEST(NewUser, ShortPasswordOrBadNameMakesNoUser) {
  auto short_password = new_user("alice", Role::kOperator, crypto::Passphrase("short"));
  ASSERT_FALSE(short_password.ok());
  EXPECT_EQ(short_password.error().code, Errc::kInvalidArgument);
  EXPECT_NE(short_password.error().message.find("too short"), std::string::npos);

  auto bad_name = new_user("Alice", Role::kOperator, good_password());
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code, Errc::kInvalidArgument);
}

// --- success ------------------------------------------------------------------------------------

TEST(NewUser, HoldsTheRoleNameAndAHashThatVerifiesThePassword) {
  for (const char* name : {"a", "duty.officer_2-night", "0"}) {
    EXPECT_TRUE(check_user_name(name).ok()) << name;
  }
  auto user = new_user("duty.officer", Role::kPrincipal, good_password());
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ(user->name, "duty.officer");
  EXPECT_EQ(user->role, "principal");
  EXPECT_FALSE(user->disabled);
  EXPECT_TRUE(user->password_hash.starts_with("$argon2id$"));
  EXPECT_TRUE(crypto::verify_password(user->password_hash, good_password().reveal()));
}

}  // namespace
}  // namespace hotline::procedure
