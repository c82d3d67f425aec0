#include "crypto/password.h"

#include <sodium.h>

#include "crypto/identity.h"

namespace hotline::crypto {
namespace {

// libsodium's interactive cost (2 passes over 64 MiB, about 0.1 s here), the level its
// documentation recommends for online logins. A password is checked on every console login, on
// the station's own machine, possibly by several people at once when a crisis starts; the
// moderate level (256 MiB, about 0.7 s) would make a burst of logins, or someone trying
// passwords, eat the memory the station needs for its lines. Online guessing is stopped by login
// rate limiting (design.md §6), and a stolen database still costs an attacker 64 MiB of memory per
// guess. The key file uses the same level (crypto/key_file.h). The cost is recorded in each hash,
// so it can be raised later without invalidating existing hashes.
constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr std::size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::size_t password_characters(std::string_view password) {
  std::size_t characters = 0;
  for (char c : password) {
    characters += is_continuation_byte(c) ? 0 : 1;
  }
  return characters;
}

Result<void> check_password_length(std::string_view password) {
  const std::size_t characters = password_characters(password);
  if (characters < kMinPasswordCharacters) {
    return make_error(Errc::kInvalidArgument,
                      "the password is too short: " + std::to_string(characters) +
                          " characters, at least " + std::to_string(kMinPasswordCharacters) +
                          " are required");
  }
  return success();
}

Result<std::string> hash_password(const Passphrase& password) {
  HOTLINE_TRY(check_password_length(password.reveal()));
  ensure_sodium();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, password.reveal().data(), password.reveal().size(), kOpsLimit,
                            kMemLimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(Errc::kInternal,
                      "cannot hash the password: libsodium could not allocate the " +
                          std::to_string(kMemLimit >> 20) + " MiB that Argon2id needs");
  }
  return std::string(hash);
}

bool verify_password(const std::string& hash, std::string_view password) {
  // libsodium reads the hash as a NUL-terminated string of fewer than crypto_pwhash_STRBYTES
  // bytes, and would also accept an Argon2i hash, which we never write: anything else is not one
  // of ours.
  if (!hash.starts_with(crypto_pwhash_argon2id_STRPREFIX) ||
      hash.size() >= crypto_pwhash_STRBYTES || hash.find('\0') != std::string::npos) {
    return false;
  }
  ensure_sodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(const std::string& hash) {
  if (hash.size() >= crypto_pwhash_STRBYTES || hash.find('\0') != std::string::npos) {
    return true;
  }
  ensure_sodium();
  // 0: made with these parameters; 1: other parameters; -1: not an Argon2id hash.
  return crypto_pwhash_str_needs_rehash(hash.c_str(), kOpsLimit, kMemLimit) != 0;
}

}  // namespace hotline::crypto
