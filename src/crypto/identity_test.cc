#include "crypto/identity.h"

#include <gtest/gtest.h>

namespace hotline::crypto {
namespace {

TEST(Fingerprint, RejectsWrongPrefixLengthAndCase) {
  EXPECT_FALSE(PublicKey::from_fingerprint("hl2:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(PublicKey::from_fingerprint("hl1:" + std::string(63, 'a')).ok());
  EXPECT_FALSE(PublicKey::from_fingerprint("hl1:" + std::string(64, 'A')).ok());
}

TEST(Fingerprint, RoundTrips) {
  auto key = SigningKey::generate();
  std::string fp = key.public_key().fingerprint();
  EXPECT_EQ(fp.size(), 4u + 64u);
  EXPECT_EQ(PublicKey::from_fingerprint(fp).value(), key.public_key());
}

TEST(Signing, SignatureIsBoundToContextKeyAndMessage) {
  auto key = SigningKey::from_seed(Bytes(32, 7)).value();
  auto other = SigningKey::from_seed(Bytes(32, 8)).value();
  Bytes message{1, 2, 3};
  Signature sig = key.sign(SigningContext::kEntry, message);
  EXPECT_TRUE(verify_signature(key.public_key(), SigningContext::kEntry, message, sig));
  EXPECT_FALSE(verify_signature(key.public_key(), SigningContext::kReceipt, message, sig));
  EXPECT_FALSE(verify_signature(other.public_key(), SigningContext::kEntry, message, sig));
  Bytes changed{1, 2, 4};
  EXPECT_FALSE(verify_signature(key.public_key(), SigningContext::kEntry, changed, sig));
}

TEST(SigningKey, SeedMustBe32Bytes) { EXPECT_FALSE(SigningKey::from_seed(Bytes(31, 1)).ok()); }

TEST(SigningKey, IsDeterministicFromSeedAndMoveWipesTheSource) {
  auto a = SigningKey::from_seed(Bytes(32, 9)).value();
  auto b = SigningKey::from_seed(Bytes(32, 9)).value();
  EXPECT_EQ(a.public_key(), b.public_key());
  SigningKey moved = std::move(a);
  EXPECT_EQ(moved.public_key(), b.public_key());
  Bytes zero(32, 0);
  ByteView wiped = a.seed_for_sealing();  // NOLINT: inspecting the moved-from key on purpose
  EXPECT_TRUE(std::equal(wiped.begin(), wiped.end(), zero.begin()));
}

static_assert(!std::is_copy_constructible_v<SigningKey>);
static_assert(!std::is_copy_assignable_v<SigningKey>);

}  // namespace
}  // namespace hotline::crypto
