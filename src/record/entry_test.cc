#include "record/entry.h"

#include <gtest/gtest.h>

#include "record/checkpoint.h"
#include "record/receipt.h"
#include "testing/fixtures.h"

namespace hotline::record {
namespace {

TEST(Entry, SignedBytesDecodeToTheSameFields) {
  testing::TestLine line;
  const SignedEntry& e = line.author(true, "hello");
  auto decoded = decode_entry(e.signed_bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->hash, e.hash);
  EXPECT_EQ(decoded->fields.seq, 1u);
  EXPECT_EQ(decoded->fields.kind, "message");
  EXPECT_EQ(decoded->fields.body, e.fields.body);
  EXPECT_TRUE(verify_entry_signature(*decoded));
}

TEST(Entry, SigningRefusesAnotherAuthorAndBadFields) {
  testing::TestLine line;
  EntryFields f;
  f.line = line.id;
  f.author = line.bravo.public_key();
  f.seq = 1;
  f.kind = "message";
  EXPECT_EQ(sign_entry(line.alpha, f).error().code, Errc::kInvalidArgument);
  f.author = line.alpha.public_key();
  f.seq = 0;
  EXPECT_FALSE(sign_entry(line.alpha, f).ok());
  f.seq = 1;
  f.kind = "Bad Kind";
  EXPECT_FALSE(sign_entry(line.alpha, f).ok());
  f.kind = "message";
  f.prev[0] = 1;  // seq 1 must have zero prev
  EXPECT_FALSE(sign_entry(line.alpha, f).ok());
}

TEST(Entry, DecodeRejectsTrailingBytesAndWrongShapes) {
  testing::TestLine line;
  Bytes bytes = line.author(true, "x").signed_bytes;
  bytes.push_back(0);
  EXPECT_EQ(decode_entry(bytes).error().code, Errc::kMalformed);
  EXPECT_FALSE(decode_entry(Bytes{0x80}).ok());              // empty array
  EXPECT_FALSE(decode_entry(Bytes{0x82, 0x40, 0x40}).ok());  // short signature
}

TEST(Entry, DecodeRejectsAReceiptOrCheckpoint) {
  testing::TestLine line;
  line.author(true, "x");
  EXPECT_FALSE(decode_entry(line.receipt(false).signed_bytes).ok());
  EXPECT_FALSE(decode_entry(line.checkpoint(true).signed_bytes).ok());
}

TEST(Entry, SignatureFromOneContextDoesNotVerifyInAnother) {
  testing::TestLine line;
  SignedEntry e = line.author(true, "x");
  // Re-sign the entry payload as if it were a receipt: a valid signature, wrong context.
  e.envelope.signature = line.alpha.sign(crypto::SigningContext::kReceipt, e.envelope.payload);
  EXPECT_FALSE(verify_entry_signature(e));
}

TEST(Receipt, RoundTripsAndRefusesSelfAcknowledgement) {
  testing::TestLine line;
  line.author(true, "x");
  SignedReceipt r = line.receipt(false);
  auto decoded = decode_receipt(r.signed_bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(verify_receipt_signature(*decoded));
  ReceiptFields f = r.fields;
  f.chain_author = f.signer;
  EXPECT_FALSE(sign_receipt(line.bravo, f).ok());
}

TEST(Checkpoint, RoundTrips) {
  testing::TestLine line;
  line.author(true, "x");
  SignedCheckpoint c = line.checkpoint(true);
  auto decoded = decode_checkpoint(c.signed_bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(verify_checkpoint_signature(*decoded));
  EXPECT_EQ(decoded->fields.own.seq, 1u);
}

TEST(LineId, IsTheSameFromBothSidesAndDependsOnTheName) {
  testing::TestLine line;
  auto a = derive_line_id(line.alpha.public_key(), line.bravo.public_key(), "n");
  auto b = derive_line_id(line.bravo.public_key(), line.alpha.public_key(), "n");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, derive_line_id(line.alpha.public_key(), line.bravo.public_key(), "m"));
}

}  // namespace
}  // namespace hotline::record
