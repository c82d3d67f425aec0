// crypto/key_file.h — a station's identity key on disk.
//
// The file is a deterministic-CBOR map (docs/record-format.md, "Key file"). It holds the public key
// in the clear, so that `hotline fingerprint` needs no passphrase, and the 32-byte seed either
// sealed (Argon2id-derived key + XSalsa20-Poly1305 secretbox) or plain. A plain key file is
// refused when its permissions allow anyone but the owner to read or write it.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "crypto/identity.h"
#include "crypto/passphrase.h"

namespace hotline::crypto {

// Argon2id cost. `kInteractive` is libsodium's interactive level (64 MiB, 2 passes), which keeps
// `serve` start-up under a second on small machines; the cost is stored in the file, so stronger
// settings can be chosen later without breaking existing files.
enum class KdfCost { kInteractive, kModerate };

// Writes `key` to `path`, which must not exist yet, with mode 0600, durably (fsync of the file and
// its directory). With no passphrase the seed is stored plain.
[[nodiscard]] Result<void> write_key_file(const std::string& path, const SigningKey& key,
                                          const std::optional<Passphrase>& passphrase,
                                          KdfCost cost = KdfCost::kInteractive);

// Loads the key. Errors: kNotFound (no file), kPermission (plain file with loose permissions, a
// wrong passphrase, or a sealed file without one), kCorrupt (not a key file, or damaged).
[[nodiscard]] Result<SigningKey> read_key_file(const std::string& path,
                                               const std::optional<Passphrase>& passphrase);

// The public key stored in the file, without unsealing anything.
[[nodiscard]] Result<PublicKey> read_public_key(const std::string& path);

// Whether the key in the file is sealed with a passphrase.
[[nodiscard]] Result<bool> key_file_is_sealed(const std::string& path);

}  // namespace hotline::crypto
