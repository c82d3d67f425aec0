#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace hotline::crypto {
namespace {

TEST(KeyFile, PlainFileWithLoosePermissionsIsRefused) {
  testing::TempDir dir;
  auto key = SigningKey::generate();
  ASSERT_TRUE(write_key_file(dir.file("k"), key, std::nullopt).ok());
  ASSERT_EQ(::chmod(dir.file("k").c_str(), 0644), 0);
  auto loaded = read_key_file(dir.file("k"), std::nullopt);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::kPermission);
  EXPECT_NE(loaded.error().message.find("0644"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find(dir.file("k")), std::string::npos);
}

TEST(KeyFile, WrongPassphraseIsRefused) {
  testing::TempDir dir;
  auto key = SigningKey::generate();
  ASSERT_TRUE(write_key_file(dir.file("k"), key, Passphrase("correct horse")).ok());
  auto loaded = read_key_file(dir.file("k"), Passphrase("wrong horse"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::kPermission);
  EXPECT_NE(loaded.error().message.find("wrong passphrase"), std::string::npos);
}

TEST(KeyFile, SealedFileWithoutPassphraseIsRefused) {
  testing::TempDir dir;
  auto key = SigningKey::generate();
  ASSERT_TRUE(write_key_file(dir.file("k"), key, Passphrase("p")).ok());
  auto loaded = read_key_file(dir.file("k"), std::nullopt);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("--passphrase-file"), std::string::npos);
}

TEST(KeyFile, GarbageIsReportedCorrupt) {
  testing::TempDir dir;
  std::ofstream(dir.file("k")) << "not a key";
  ::chmod(dir.file("k").c_str(), 0600);
  auto loaded = read_key_file(dir.file("k"), std::nullopt);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::kCorrupt);
  EXPECT_NE(loaded.error().message.find(dir.file("k")), std::string::npos);
}

TEST(KeyFile, MissingFileIsNotFound) {
  testing::TempDir dir;
  EXPECT_EQ(read_key_file(dir.file("none"), std::nullopt).error().code, Errc::kNotFound);
}

TEST(KeyFile, RefusesToOverwrite) {
  testing::TempDir dir;
  auto key = SigningKey::generate();
  ASSERT_TRUE(write_key_file(dir.file("k"), key, std::nullopt).ok());
  EXPECT_FALSE(write_key_file(dir.file("k"), key, std::nullopt).ok());
}

TEST(KeyFile, PlainAndSealedRoundTripWithOwnerOnlyMode) {
  testing::TempDir dir;
  auto key = SigningKey::generate();
  ASSERT_TRUE(write_key_file(dir.file("plain"), key, std::nullopt).ok());
  ASSERT_TRUE(write_key_file(dir.file("sealed"), key, Passphrase("secret")).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("plain").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_key_file(dir.file("plain"), std::nullopt)->public_key(), key.public_key());
  EXPECT_EQ(read_key_file(dir.file("sealed"), Passphrase("secret"))->public_key(),
            key.public_key());
  EXPECT_EQ(read_public_key(dir.file("sealed")).value(), key.public_key());
  EXPECT_TRUE(key_file_is_sealed(dir.file("sealed")).value());
}

TEST(KeyFile, SealedFileDoesNotContainTheSeed) {
  testing::TempDir dir;
  auto key = SigningKey::generate();
  ASSERT_TRUE(write_key_file(dir.file("sealed"), key, Passphrase("secret")).ok());
  std::ifstream in(dir.file("sealed"), std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  ByteView seed = key.seed_for_sealing();
  std::string seed_text(seed.begin(), seed.end());
  EXPECT_EQ(content.find(seed_text), std::string::npos);
}

}  // namespace
}  // namespace hotline::crypto
