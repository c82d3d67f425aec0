#include "crypto/identity.h"

#include <sodium.h>

#include <cstdlib>
#include <iostream>

namespace hotline::crypto {
namespace {

// The bytes actually signed: context, a NUL separator, then the message. The NUL keeps a context
// from being a prefix of another context plus message bytes.
Bytes domain_message(SigningContext context, ByteView message) {
  std::string_view ctx = context_string(context);
  Bytes out;
  out.reserve(ctx.size() + 1 + message.size());
  out.insert(out.end(), ctx.begin(), ctx.end());
  out.push_back(0);
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

}  // namespace

void ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::cerr << "hotline: libsodium failed to initialise\n";
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

std::string_view context_string(SigningContext context) {
  switch (context) {
    case SigningContext::kEntry:
      return "hotline/v1/entry";
    case SigningContext::kReceipt:
      return "hotline/v1/receipt";
    case SigningContext::kCheckpoint:
      return "hotline/v1/checkpoint";
  }
  std::cerr << "hotline: internal error: unknown signing context\n";
  std::abort();
}

Result<PublicKey> PublicKey::from_bytes(ByteView bytes) {
  if (bytes.size() != kPublicKeySize) {
    return make_error(Errc::kMalformed,
                      "public key must be 32 bytes, got " + std::to_string(bytes.size()));
  }
  std::array<std::uint8_t, kPublicKeySize> raw;
  std::copy(bytes.begin(), bytes.end(), raw.begin());
  return PublicKey(raw);
}

Result<PublicKey> PublicKey::from_fingerprint(std::string_view fingerprint) {
  if (!fingerprint.starts_with(kFingerprintPrefix)) {
    return make_error(Errc::kInvalidArgument,
                      "fingerprint '" + std::string(fingerprint) + "' does not start with hl1:");
  }
  std::string_view hex = fingerprint.substr(kFingerprintPrefix.size());
  if (hex.size() != 2 * kPublicKeySize) {
    return make_error(Errc::kInvalidArgument, "fingerprint '" + std::string(fingerprint) +
                                                  "' must have 64 hex digits after hl1:");
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return make_error(Errc::kInvalidArgument, "fingerprint '" + std::string(fingerprint) +
                                                    "' must be lowercase hex after hl1:");
    }
  }
  HOTLINE_ASSIGN(Bytes raw, from_hex(hex));
  return from_bytes(raw);
}

std::string PublicKey::fingerprint() const {
  return std::string(kFingerprintPrefix) + to_hex(bytes_);
}

bool verify_signature(const PublicKey& signer, SigningContext context, ByteView message,
                      const Signature& signature) {
  ensure_sodium();
  Bytes m = domain_message(context, message);
  return crypto_sign_verify_detached(signature.data(), m.data(), m.size(), signer.bytes().data()) ==
         0;
}

SigningKey SigningKey::generate() {
  ensure_sodium();
  SigningKey key;
  std::array<std::uint8_t, kPublicKeySize> pk;
  crypto_sign_keypair(pk.data(), key.secret_.data());
  key.public_key_ = PublicKey(pk);
  return key;
}

Result<SigningKey> SigningKey::from_seed(ByteView seed) {
  ensure_sodium();
  if (seed.size() != kSeedSize) {
    return make_error(Errc::kInvalidArgument,
                      "key seed must be 32 bytes, got " + std::to_string(seed.size()));
  }
  SigningKey key;
  std::array<std::uint8_t, kPublicKeySize> pk;
  crypto_sign_seed_keypair(pk.data(), key.secret_.data(), seed.data());
  key.public_key_ = PublicKey(pk);
  return key;
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(other.secret_), public_key_(other.public_key_) {
  other.wipe();
}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_key_ = other.public_key_;
    other.wipe();
  }
  return *this;
}

SigningKey::~SigningKey() { wipe(); }

void SigningKey::wipe() { sodium_memzero(secret_.data(), secret_.size()); }

Signature SigningKey::sign(SigningContext context, ByteView message) const {
  Bytes m = domain_message(context, message);
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, m.data(), m.size(), secret_.data());
  return sig;
}

}  // namespace hotline::crypto
