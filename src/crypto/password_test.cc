// Login passwords: refused when short, stored as Argon2id, verified only by the right password.
#include "crypto/password.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <sstream>

#include "crypto/identity.h"

namespace hotline::crypto {
namespace {

const std::string kGood = "correct horse battery";

// --- errors -------------------------------------------------------------------------------------

TEST(Password, ShorterThanTwelveCharactersIsRefusedSayingSo) {
  auto hashed = hash_password(Passphrase("elevenchars"));
  ASSERT_FALSE(hashed.ok());
  EXPECT_EQ(hashed.error().code, Errc::kInvalidArgument);
  EXPECT_NE(hashed.error().message.find("too short"), std::string::npos) << hashed.error().message;
  EXPECT_NE(hashed.error().message.find("11 characters"), std::string::npos);
  EXPECT_NE(hashed.error().message.find("at least 12"), std::string::npos);
  EXPECT_FALSE(hash_password(Passphrase("")).ok());
}

TEST(Password, LengthCountsCharactersNotBytes) {
  // Eleven Vietnamese characters take more than twelve bytes but are still too short.
  const std::string eleven = "mậtkhẩuđặcb";
  ASSERT_GT(eleven.size(), 12u);
  EXPECT_EQ(password_characters(eleven), 11u);
  EXPECT_FALSE(check_password_length(eleven).ok());
  // Twelve Chinese characters are long enough.
  const std::string twelve = "这是一个很长的中文密码啊";
  EXPECT_EQ(password_characters(twelve), 12u);
  EXPECT_TRUE(check_password_length(twelve).ok());
  EXPECT_TRUE(check_password_length("twelve chars").ok());
}

TEST(Password, WrongPasswordDoesNotVerify) {
  auto hashed = hash_password(Passphrase(kGood));
  ASSERT_TRUE(hashed.ok()) << hashed.error().message;
  EXPECT_FALSE(verify_password(*hashed, "correct horse battery!"));
  EXPECT_FALSE(verify_password(*hashed, "Correct horse battery"));
  EXPECT_FALSE(verify_password(*hashed, ""));
}

TEST(Password, DamagedOrForeignHashNeverVerifies) {
  auto hashed = hash_password(Passphrase(kGood));
  ASSERT_TRUE(hashed.ok()) << hashed.error().message;
  std::string damaged = *hashed;
  damaged[damaged.size() - 2] = damaged[damaged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_password(damaged, kGood));
  EXPECT_FALSE(verify_password("", kGood));
  EXPECT_FALSE(verify_password("not a hash", kGood));
  EXPECT_FALSE(verify_password(*hashed + std::string(200, 'x'), kGood));
  EXPECT_FALSE(verify_password(std::string(*hashed).insert(5, 1, '\0'), kGood));

  // An Argon2i hash of the right password is not one we write, so it is refused.
  ensure_sodium();
  char argon2i[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(
                argon2i, kGood.data(), kGood.size(), crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE,
                crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2I13),
            0);
  EXPECT_FALSE(verify_password(argon2i, kGood));
  EXPECT_TRUE(password_needs_rehash(argon2i));
  EXPECT_TRUE(password_needs_rehash("not a hash"));
}

TEST(Password, EmptyPasswordLineIsRefusedNamingItsSource) {
  std::istringstream empty("");
  auto read = Passphrase::read_line(empty, "standard input");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(read.error().message, "standard input is empty");
  std::istringstream blank_first_line("\nsecond line");
  EXPECT_FALSE(Passphrase::read_line(blank_first_line, "standard input").ok());
}

// --- success ------------------------------------------------------------------------------------

TEST(Password, HashIsArgon2idAtTheInteractiveCostAndVerifies) {
  auto hashed = hash_password(Passphrase(kGood));
  ASSERT_TRUE(hashed.ok()) << hashed.error().message;
  EXPECT_TRUE(hashed->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *hashed;
  EXPECT_EQ(hashed->find(kGood), std::string::npos);
  EXPECT_TRUE(verify_password(*hashed, kGood));
  EXPECT_FALSE(password_needs_rehash(*hashed));
}

TEST(Password, SamePasswordHashesDifferentlyEachTime) {
  auto first = hash_password(Passphrase(kGood));
  auto second = hash_password(Passphrase(kGood));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);  // a fresh salt each time
  EXPECT_TRUE(verify_password(*first, kGood));
  EXPECT_TRUE(verify_password(*second, kGood));
}

TEST(Password, HashWithAnotherCostStillVerifiesButNeedsRehash) {
  ensure_sodium();
  char cheaper[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(cheaper, kGood.data(), kGood.size(), crypto_pwhash_OPSLIMIT_MIN,
                                  crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_TRUE(verify_password(cheaper, kGood));
  EXPECT_TRUE(password_needs_rehash(cheaper));
}

TEST(Password, LineEndingsAreNotPartOfThePassword) {
  std::istringstream crlf(kGood + "\r\nignored");
  auto read = Passphrase::read_line(crlf, "standard input");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->reveal(), kGood);
  std::istringstream no_newline(kGood);
  auto unterminated = Passphrase::read_line(no_newline, "standard input");
  ASSERT_TRUE(unterminated.ok());
  EXPECT_EQ(unterminated->reveal(), kGood);
}

}  // namespace
}  // namespace hotline::crypto
