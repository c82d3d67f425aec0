// crypto/password.h — people's login passwords, stored only as Argon2id hashes (design.md §6,
// "Console security").
//
// A hash is libsodium's self-describing string ("$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>"):
// algorithm, cost and a random salt travel with it, so the cost can be raised later and old
// hashes still verify (password_needs_rehash says which to replace at the next login).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "crypto/passphrase.h"

namespace hotline::crypto {

// The shortest password accepted, in characters (UTF-8 code points, so that a password in
// Vietnamese or Chinese is measured as its owner counts it). Twelve characters is the usual floor
// for passwords that guard something valuable when a second factor is not mandatory (OWASP ASVS
// 2.1.1 asks for at least 12).
inline constexpr std::size_t kMinPasswordCharacters = 12;

// The length of `password` in characters (UTF-8 code points; a malformed byte counts as one).
std::size_t password_characters(std::string_view password);

// kInvalidArgument, saying how long it is and how long it must be, when `password` is shorter than
// kMinPasswordCharacters.
[[nodiscard]] Result<void> check_password_length(std::string_view password);

// Hashes `password` with Argon2id and a fresh random salt at libsodium's interactive cost (see
// password.cc for why). Fails with kInvalidArgument for a password that check_password_length
// refuses, kInternal if libsodium cannot allocate the memory the hash needs.
[[nodiscard]] Result<std::string> hash_password(const Passphrase& password);

// Whether `password` is the one `hash` was made from. False, never an error, for a wrong password
// and for a `hash` that is not a libsodium password hash, so that a damaged row cannot log anyone
// in. Takes as long as one hash (about 0.1 s): callers rate-limit attempts.
[[nodiscard]] bool verify_password(const std::string& hash, std::string_view password);

// Whether `hash` was made with other parameters than hash_password uses now (or is not a valid
// hash at all): after a successful login the password should then be hashed again.
[[nodiscard]] bool password_needs_rehash(const std::string& hash);

}  // namespace hotline::crypto
