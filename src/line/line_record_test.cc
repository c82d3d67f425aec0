#include "line/line_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "store/record_export.h"
#include "testing/fixtures.h"
#include "testing/temp_dir.h"

namespace hotline::line {
namespace {

cbor::Value text_body(const std::string& text) {
  return cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}});
}

std::vector<Draft> one_draft(const std::string& text) {
  std::vector<Draft> drafts;
  drafts.push_back({"message", text_body(text)});
  return drafts;
}

// Two stations' stores and line records in one process, exchanging by direct calls.
class TwoStations : public ::testing::Test {
 protected:
  void SetUp() override {
    alpha_key_ = std::make_unique<crypto::SigningKey>(testing::key_from_byte(1));
    bravo_key_ = std::make_unique<crypto::SigningKey>(testing::key_from_byte(2));
    const auto id = record::derive_line_id(alpha_key_->public_key(), bravo_key_->public_key(), "l");
    a_side_ = {id, "l", alpha_key_->public_key(), bravo_key_->public_key()};
    b_side_ = {id, "l", bravo_key_->public_key(), alpha_key_->public_key()};
    alpha_store_ = store::open_sqlite_store(dir_.file("a.db"), {}).value();
    bravo_store_ = store::open_sqlite_store(dir_.file("b.db"), {}).value();
    ASSERT_TRUE(alpha_store_->add_line(a_side_).ok());
    ASSERT_TRUE(bravo_store_->add_line(b_side_).ok());
    alpha_.emplace(LineRecord::open(*alpha_store_, *alpha_key_, a_side_, clock_).value());
    bravo_.emplace(LineRecord::open(*bravo_store_, *bravo_key_, b_side_, clock_).value());
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<crypto::SigningKey> alpha_key_, bravo_key_;
  store::LineParties a_side_, b_side_;
  std::unique_ptr<store::RecordStore> alpha_store_, bravo_store_;
  std::optional<LineRecord> alpha_, bravo_;
};

TEST_F(TwoStations, AFabricatedEntryIsRefusedAndNothingIsStored) {
  auto sent = alpha_->author(one_draft("hello")).value();
  sent[0].envelope.signature[3] ^= 1;
  auto accepted = bravo_->accept_entries(sent);
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, Errc::kBadSignature);
  EXPECT_EQ(bravo_store_->chain_head(a_side_.id, alpha_key_->public_key())->position.seq, 0u);
}

TEST_F(TwoStations, AGapIsRefused) {
  auto first = alpha_->author(one_draft("1")).value();
  auto second = alpha_->author(one_draft("2")).value();
  auto accepted = bravo_->accept_entries(second);
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, Errc::kBrokenChain);
}

TEST_F(TwoStations, ABadSignatureDeepInALargeBatchRefusesTheWholeBatch) {
  std::vector<Draft> drafts;
  for (int i = 0; i < 200; ++i) drafts.push_back({"message", text_body(std::to_string(i))});
  auto sent = alpha_->author(std::move(drafts)).value();
  for (std::size_t bad : {std::size_t{30}, std::size_t{170}}) {  // in either half
    auto tampered = sent;
    tampered[bad].envelope.signature[0] ^= 1;
    auto accepted = bravo_->accept_entries(tampered);
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code, Errc::kBadSignature);
    EXPECT_NE(accepted.error().message.find("seq " + std::to_string(bad + 1)), std::string::npos)
        << accepted.error().message;
    EXPECT_EQ(bravo_store_->chain_head(a_side_.id, alpha_key_->public_key())->position.seq, 0u);
  }
  ASSERT_TRUE(bravo_->accept_entries(sent).ok());
  EXPECT_EQ(bravo_->peer_head().position.seq, 200u);
}

TEST_F(TwoStations, EquivocationIsRefusedAndTheEvidenceKept) {
  auto sent = alpha_->author(one_draft("original")).value();
  ASSERT_TRUE(bravo_->accept_entries(sent).ok());
  // Alpha's key signs a different entry for seq 1, as a station restored from an old backup would.
  record::EntryFields forked = sent[0].fields;
  forked.body = text_body("rewritten");
  auto fork = record::sign_entry(*alpha_key_, forked).value();
  auto accepted = bravo_->accept_entries({fork});
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, Errc::kConflict);
  auto evidence = bravo_store_->evidence(a_side_.id).value();
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].kind, store::Evidence::Kind::kEquivocation);
  EXPECT_EQ(evidence[0].first, sent[0].signed_bytes);
  EXPECT_EQ(evidence[0].second, fork.signed_bytes);
  auto summary = store::verify_store(*bravo_store_, 1).value();
  ASSERT_FALSE(summary.sound());
  EXPECT_NE(summary.first_problem->reason.find("equivocation"), std::string::npos);
}

TEST_F(TwoStations, AResendIsAcceptedOnceAndAcknowledgedAgain) {
  auto sent = alpha_->author(one_draft("1")).value();
  auto r1 = bravo_->accept_entries(sent).value();
  auto r2 = bravo_->accept_entries(sent).value();
  EXPECT_EQ(r1.fields.held, r2.fields.held);
  EXPECT_EQ(bravo_store_->chain_head(a_side_.id, alpha_key_->public_key())->position.seq, 1u);
}

TEST_F(TwoStations, AReceiptForAnEntryNeverSentIsRefused) {
  alpha_->author(one_draft("1")).value();
  record::ReceiptFields f{record::kFormatVersion,   a_side_.id, bravo_key_->public_key(),
                          alpha_key_->public_key(), {5, {}},    clock_.now()};
  f.held.hash[0] = 1;
  auto receipt = record::sign_receipt(*bravo_key_, f).value();
  EXPECT_FALSE(alpha_->accept_receipt(receipt).ok());
}

TEST_F(TwoStations, DivergentCheckpointIsKeptAsEvidence) {
  auto sent = alpha_->author(one_draft("1")).value();
  ASSERT_TRUE(bravo_->accept_entries(sent).ok());
  record::CheckpointFields f{record::kFormatVersion, a_side_.id,  bravo_key_->public_key(), {0, {}},
                             sent[0].position(),     clock_.now()};
  f.peer.hash[7] ^= 1;  // bravo claims a different hash for alpha's entry 1
  auto lying = record::sign_checkpoint(*bravo_key_, f).value();
  auto accepted = alpha_->accept_checkpoint(lying);
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, Errc::kConflict);
  auto evidence = alpha_store_->evidence(a_side_.id).value();
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].kind, store::Evidence::Kind::kDivergence);
}

TEST_F(TwoStations, BothStationsHoldTheSameVerifiableRecord) {
  for (int i = 0; i < 30; ++i) {
    LineRecord& author = i % 2 == 0 ? *alpha_ : *bravo_;
    LineRecord& reader = i % 2 == 0 ? *bravo_ : *alpha_;
    clock_.advance(1000);
    auto sent = author.author(one_draft(std::to_string(i))).value();
    auto receipt = reader.accept_entries(sent).value();
    ASSERT_TRUE(author.accept_receipt(receipt).ok());
  }
  auto ca = alpha_->checkpoint().value();
  auto cb = bravo_->checkpoint().value();
  EXPECT_EQ(bravo_->accept_checkpoint(ca).value(), record::CheckpointMatch::kMatches);
  EXPECT_EQ(alpha_->accept_checkpoint(cb).value(), record::CheckpointMatch::kMatches);
  std::ostringstream a_export, b_export;
  ASSERT_TRUE(store::export_record(*alpha_store_, std::nullopt, a_export).ok());
  ASSERT_TRUE(store::export_record(*bravo_store_, std::nullopt, b_export).ok());
  // The same items on both sides (receipts and checkpoints may be stored in another order).
  auto sorted_lines = [](const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      lines.push_back(l);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  const auto a_lines = sorted_lines(a_export.str());
  const auto b_lines = sorted_lines(b_export.str());
  EXPECT_EQ(a_lines.size(), 1u + 30u + 30u + 2u);
  EXPECT_TRUE(a_lines == b_lines) << "the two stations' exports differ";
  auto summary = store::verify_store(*alpha_store_, 1).value();
  EXPECT_TRUE(summary.sound()) << summary.first_problem->describe();
  EXPECT_EQ(summary.entries, 30u);
}

}  // namespace
}  // namespace hotline::line
