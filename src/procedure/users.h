// procedure/users.h — the people of a station: what makes a valid user, and a new user's record.
//
// The CLI (`hotline user add`) and, later, the API create users through new_user, so that both
// apply the same rules to names, roles and passwords. The store keeps users as it is given them
// (store::UserRecord); the role is checked for every action by check_permitted (roles.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "crypto/passphrase.h"
#include "procedure/roles.h"
#include "store/record_store.h"

namespace hotline::procedure {

// A user name is 1 to kMaxUserNameLength characters of a-z, 0-9, '.', '_' and '-': it appears on
// the record and in logs and file names, so it is plain ASCII, lower case (no two names differ
// only in case), and free of spaces and quotes.
inline constexpr std::size_t kMaxUserNameLength = 64;

// kInvalidArgument, naming the name and the rule it breaks, unless `name` is a valid user name.
[[nodiscard]] Result<void> check_user_name(std::string_view name);

// A user ready for store::RecordStore::add_user: the name checked, the role named as role_name
// gives it, the password hashed (crypto::hash_password, which refuses one shorter than 12
// characters). Takes about 0.1 s, for the hash. Errors: kInvalidArgument for a bad name or
// password.
[[nodiscard]] Result<store::UserRecord> new_user(std::string name, Role role,
                                                 const crypto::Passphrase& password);

}  // namespace hotline::procedure
