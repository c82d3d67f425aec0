#include "record/verify.h"

#include <gtest/gtest.h>

#include "testing/fixtures.h"

namespace hotline::record {
namespace {

std::vector<Hash> hashes(const std::vector<SignedEntry>& chain) {
  std::vector<Hash> out;
  for (const auto& e : chain) {
    out.push_back(e.hash);
  }
  return out;
}

class VerifyRules : public ::testing::Test {
 protected:
  void SetUp() override {
    line.author(true, "a1");
    line.author(false, "b1");
    line.author(true, "a2");
  }
  ChainHead head_after_first() {
    return {line.alpha_chain[0].position(), line.alpha_chain[0].fields.time};
  }
  testing::TestLine line;
};

TEST_F(VerifyRules, E1WrongLine) {
  LineId other = line.id;
  other.bytes[0] ^= 1;
  EXPECT_FALSE(
      check_extends(other, line.alpha.public_key(), head_after_first(), line.alpha_chain[1]).ok());
}

TEST_F(VerifyRules, E2WrongAuthor) {
  EXPECT_FALSE(
      check_extends(line.id, line.bravo.public_key(), head_after_first(), line.alpha_chain[1])
          .ok());
}

TEST_F(VerifyRules, E3GapOrRepeat) {
  ChainHead empty;
  auto r = check_extends(line.id, line.alpha.public_key(), empty, line.alpha_chain[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expected seq 1, found seq 2"), std::string::npos);
}

TEST_F(VerifyRules, E4WrongPrev) {
  ChainHead head = head_after_first();
  head.position.hash[0] ^= 1;
  auto r = check_extends(line.id, line.alpha.public_key(), head, line.alpha_chain[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("prev"), std::string::npos);
}

TEST_F(VerifyRules, E5TimeGoesBackwards) {
  ChainHead head = head_after_first();
  head.time = line.alpha_chain[1].fields.time + 1;
  auto r = check_extends(line.id, line.alpha.public_key(), head, line.alpha_chain[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("backwards"), std::string::npos);
}

TEST_F(VerifyRules, ExtendsWhenEverythingHolds) {
  EXPECT_TRUE(
      check_extends(line.id, line.alpha.public_key(), head_after_first(), line.alpha_chain[1])
          .ok());
}

TEST_F(VerifyRules, E6CrossLinkMustExistAndMatch) {
  const SignedEntry& a2 = line.alpha_chain[1];  // cross-links bravo's seq 1
  EXPECT_TRUE(check_cross_link(a2, hashes(line.bravo_chain), 0).ok());
  EXPECT_FALSE(check_cross_link(a2, {}, 0).ok());  // names an entry not in the record
  std::vector<Hash> wrong = hashes(line.bravo_chain);
  wrong[0][0] ^= 1;
  EXPECT_FALSE(check_cross_link(a2, wrong, 0).ok());
  EXPECT_FALSE(check_cross_link(a2, hashes(line.bravo_chain), 2).ok());  // goes backwards
}

TEST_F(VerifyRules, ReceiptRules) {
  SignedReceipt r = line.receipt(false);  // bravo acknowledges alpha's chain up to 2
  auto alpha_hashes = hashes(line.alpha_chain);
  EXPECT_TRUE(check_receipt(r, line.id, line.bravo.public_key(), alpha_hashes).ok());
  LineId other = line.id;
  other.bytes[3] ^= 1;
  EXPECT_FALSE(check_receipt(r, other, line.bravo.public_key(), alpha_hashes).ok());    // R1
  EXPECT_FALSE(check_receipt(r, line.id, line.alpha.public_key(), alpha_hashes).ok());  // R2
  std::vector<Hash> shorter(alpha_hashes.begin(), alpha_hashes.begin() + 1);
  EXPECT_FALSE(check_receipt(r, line.id, line.bravo.public_key(), shorter).ok());  // R3 beyond
  alpha_hashes[1][5] ^= 1;
  EXPECT_FALSE(check_receipt(r, line.id, line.bravo.public_key(), alpha_hashes).ok());  // R3 hash
}

TEST_F(VerifyRules, CheckpointMatchesAheadOrDiverges) {
  SignedCheckpoint c = line.checkpoint(true);
  auto a = hashes(line.alpha_chain);
  auto b = hashes(line.bravo_chain);
  EXPECT_EQ(compare_checkpoint(c, a, b).match, CheckpointMatch::kMatches);
  std::vector<Hash> shorter(a.begin(), a.begin() + 1);
  EXPECT_EQ(compare_checkpoint(c, shorter, b).match, CheckpointMatch::kAhead);
  a[1][0] ^= 1;
  EXPECT_EQ(compare_checkpoint(c, a, b).match, CheckpointMatch::kDivergent);
}

TEST_F(VerifyRules, EquivocationNeedsTwoValidSignaturesForOnePlace) {
  testing::TestLine fork;  // same keys and line, a different second entry
  fork.author(true, "a1");
  fork.author(false, "b1");
  fork.author(true, "a2 but different");
  const SignedEntry& held = line.alpha_chain[1];
  const SignedEntry& other = fork.alpha_chain[1];
  ASSERT_NE(held.hash, other.hash);
  EXPECT_TRUE(find_equivocation(held, other).has_value());
  EXPECT_FALSE(find_equivocation(held, held).has_value());
  EXPECT_FALSE(find_equivocation(held, line.alpha_chain[0]).has_value());
  SignedEntry forged = other;
  forged.envelope.signature[0] ^= 1;
  EXPECT_FALSE(find_equivocation(held, forged).has_value());
}

}  // namespace
}  // namespace hotline::record
