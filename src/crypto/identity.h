// crypto/identity.h — a station's Ed25519 identity: keys, fingerprints, domain-separated signing.
//
// Guarantees:
// - `SigningKey` cannot be copied or printed; its secret is wiped when it is destroyed or moved.
// - Every signature is over `context string || 0x00 || message`, with one fixed context per kind
//   of signed object (design.md §3), so that no signed object can be replayed as another.
// - Ed25519 comes from libsodium, whose verification rejects non-canonical and small-order inputs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace hotline::crypto {

inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSeedSize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::string_view kFingerprintPrefix = "hl1:";

// What a signature is for. The wire strings are in docs/record-format.md and never change.
enum class SigningContext { kEntry, kReceipt, kCheckpoint };
std::string_view context_string(SigningContext context);

using Signature = std::array<std::uint8_t, kSignatureSize>;

class PublicKey {
 public:
  PublicKey() { bytes_.fill(0); }
  explicit PublicKey(const std::array<std::uint8_t, kPublicKeySize>& bytes) : bytes_(bytes) {}
  // Exactly 32 bytes, else an error.
  static Result<PublicKey> from_bytes(ByteView bytes);
  // Parses `hl1:` followed by 64 lowercase hex digits.
  static Result<PublicKey> from_fingerprint(std::string_view fingerprint);

  const std::array<std::uint8_t, kPublicKeySize>& bytes() const { return bytes_; }
  ByteView view() const { return bytes_; }
  std::string fingerprint() const;

  auto operator<=>(const PublicKey&) const = default;

 private:
  std::array<std::uint8_t, kPublicKeySize> bytes_;
};

// True if `signature` is `signer`'s signature of `message` in `context`.
[[nodiscard]] bool verify_signature(const PublicKey& signer, SigningContext context,
                                    ByteView message, const Signature& signature);

class SigningKey {
 public:
  // A fresh key from the operating system's random source.
  static SigningKey generate();
  // The key whose 32-byte seed is `seed` (test vectors, sealed storage); errors on a wrong size.
  static Result<SigningKey> from_seed(ByteView seed);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  const PublicKey& public_key() const { return public_key_; }
  Signature sign(SigningContext context, ByteView message) const;

  // The seed, for sealing into a key file only. The caller must wipe what it copies.
  ByteView seed_for_sealing() const { return {secret_.data(), kSeedSize}; }

 private:
  SigningKey() = default;
  void wipe();

  std::array<std::uint8_t, 64> secret_{};  // libsodium's layout: seed || public key
  PublicKey public_key_;
};

// Idempotent; every function of this subsystem calls it. Aborts if libsodium cannot start.
void ensure_sodium();

}  // namespace hotline::crypto
