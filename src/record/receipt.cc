#include "record/receipt.h"

#include "record/payload_fields.h"

namespace hotline::record {
namespace {

// Payload map keys (docs/record-format.md, "Receipt").
enum ReceiptKey : std::uint64_t {
  kVersion = 1,
  kLine = 2,
  kSigner = 3,
  kChainAuthor = 4,
  kSeq = 5,
  kHash = 6,
  kTime = 7,
};

Result<void> check_self_consistent(const ReceiptFields& f) {
  if (f.signer == f.chain_author) {
    return make_error(Errc::kMalformed, "a receipt cannot acknowledge the signer's own chain");
  }
  if (f.held.seq == 0 && f.held.hash != Hash{}) {
    return make_error(Errc::kMalformed, "a receipt for sequence 0 must have an all-zero hash");
  }
  if (f.time < 0) {
    return make_error(Errc::kMalformed, "receipt time is before the epoch");
  }
  return success();
}

Bytes encode_payload(const ReceiptFields& f) {
  return cbor::MapWriter(7)
      .uint(kVersion, f.version)
      .bytes(kLine, f.line.bytes)
      .bytes(kSigner, f.signer.view())
      .bytes(kChainAuthor, f.chain_author.view())
      .uint(kSeq, f.held.seq)
      .bytes(kHash, f.held.hash)
      .uint(kTime, static_cast<std::uint64_t>(f.time))
      .take();
}

}  // namespace

Result<SignedReceipt> sign_receipt(const crypto::SigningKey& key, ReceiptFields fields) {
  if (fields.signer != key.public_key()) {
    return make_error(Errc::kInvalidArgument, "receipt signer is not the signing key");
  }
  HOTLINE_TRY(check_self_consistent(fields));
  SignedReceipt receipt;
  receipt.envelope.payload = encode_payload(fields);
  receipt.envelope.signature = key.sign(crypto::SigningContext::kReceipt, receipt.envelope.payload);
  receipt.signed_bytes = seal_envelope(receipt.envelope.payload, receipt.envelope.signature);
  receipt.hash = crypto::sha256(receipt.signed_bytes);
  receipt.fields = fields;
  return receipt;
}

Result<SignedReceipt> decode_receipt(ByteView signed_bytes) {
  SignedReceipt receipt;
  HOTLINE_ASSIGN(receipt.envelope, open_envelope(signed_bytes));
  HOTLINE_ASSIGN(
      cbor::Value map,
      decode_payload(receipt.envelope.payload,
                     {kVersion, kLine, kSigner, kChainAuthor, kSeq, kHash, kTime}, "receipt"));
  fields::Reader r(map, "receipt");
  ReceiptFields& f = receipt.fields;
  HOTLINE_ASSIGN(f.version, r.version(kVersion));
  HOTLINE_ASSIGN(f.line, r.line(kLine, "line"));
  HOTLINE_ASSIGN(f.signer, r.key(kSigner, "signer"));
  HOTLINE_ASSIGN(f.chain_author, r.key(kChainAuthor, "chain-author"));
  HOTLINE_ASSIGN(f.held.seq, r.uint(kSeq, "seq"));
  HOTLINE_ASSIGN(f.held.hash, r.hash(kHash, "hash"));
  HOTLINE_ASSIGN(f.time, r.time(kTime, "time"));
  HOTLINE_TRY(check_self_consistent(f));
  receipt.signed_bytes.assign(signed_bytes.begin(), signed_bytes.end());
  receipt.hash = crypto::sha256(signed_bytes);
  return receipt;
}

bool verify_receipt_signature(const SignedReceipt& receipt) {
  return crypto::verify_signature(receipt.fields.signer, crypto::SigningContext::kReceipt,
                                  receipt.envelope.payload, receipt.envelope.signature);
}

}  // namespace hotline::record
