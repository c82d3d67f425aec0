#include "procedure/users.h"

#include "crypto/password.h"

namespace hotline::procedure {
namespace {

bool allowed_in_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// A refused character as a message can show it: itself when it is printable ASCII, else its byte
// value, so that an error never writes control characters to the operator's terminal.
std::string describe(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte > 0x20 && byte < 0x7f) {
    return std::string("'") + c + "'";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

}  // namespace

Result<void> check_user_name(std::string_view name) {
  if (name.empty()) {
    return make_error(Errc::kInvalidArgument, "the user name is empty");
  }
  if (name.size() > kMaxUserNameLength) {
    return make_error(Errc::kInvalidArgument, "the user name is " + std::to_string(name.size()) +
                                                  " characters long; at most " +
                                                  std::to_string(kMaxUserNameLength) +
                                                  " are allowed");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!allowed_in_name(name[i])) {
      return make_error(Errc::kInvalidArgument,
                        "the user name has " + describe(name[i]) + " at position " +
                            std::to_string(i + 1) +
                            ", which is not allowed (use a-z, 0-9, '.', '_' and '-')");
    }
  }
  return success();
}

Result<store::UserRecord> new_user(std::string name, Role role,
                                   const crypto::Passphrase& password) {
  HOTLINE_TRY(check_user_name(name));
  HOTLINE_ASSIGN(std::string hash, crypto::hash_password(password));
  store::UserRecord user;
  user.name = std::move(name);
  user.role = std::string(role_name(role));
  user.password_hash = std::move(hash);
  return user;
}

}  // namespace hotline::procedure
