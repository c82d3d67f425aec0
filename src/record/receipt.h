// record/receipt.h — a cumulative, signed proof of delivery.
//
// The station that receives chain X→Y signs "I hold X's chain up to `held.seq`, whose hash is
// `held.hash`, received at `time`" (design.md §3). It is sent only after the entries are durable.
#pragma once

#include "record/envelope.h"
#include "record/types.h"

namespace hotline::record {

struct ReceiptFields {
  std::uint64_t version = kFormatVersion;
  LineId line;
  PublicKey signer;        // the receiving station
  PublicKey chain_author;  // whose chain is acknowledged
  ChainPosition held;      // the last entry held, durably
  Micros time = 0;         // signer's clock when it signed
};

struct SignedReceipt {
  ReceiptFields fields;
  Envelope envelope;
  Bytes signed_bytes;
  Hash hash{};
};

[[nodiscard]] Result<SignedReceipt> sign_receipt(const crypto::SigningKey& key,
                                                 ReceiptFields fields);
[[nodiscard]] Result<SignedReceipt> decode_receipt(ByteView signed_bytes);
[[nodiscard]] bool verify_receipt_signature(const SignedReceipt& receipt);

}  // namespace hotline::record
