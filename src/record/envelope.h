// record/envelope.h — the signed form shared by entries, receipts and checkpoints.
//
// A signed item is the deterministic CBOR array `[payload, signature]`: `payload` is a byte
// string holding the object's own deterministic CBOR map, `signature` a 64-byte Ed25519
// signature of `context || 0x00 || payload` (crypto/identity.h). These are the "exact signed
// bytes" that are stored, sent and exported; the item's hash is SHA-256 of all of them.
#pragma once

#include "core/bytes.h"
#include "core/cbor.h"
#include "core/result.h"
#include "crypto/identity.h"

namespace hotline::record {

struct Envelope {
  Bytes payload;  // the object's CBOR map, exactly as signed
  crypto::Signature signature{};
};

// Encodes `[payload, signature]`.
Bytes seal_envelope(ByteView payload, const crypto::Signature& signature);

// Splits a signed item into payload and signature; errors if it is not exactly the canonical
// two-element array, is larger than kMaxSignedItemSize, or has trailing bytes.
[[nodiscard]] Result<Envelope> open_envelope(ByteView signed_bytes);

// Decodes the payload map and checks that its keys are exactly `expected_keys` (ascending); the
// record has no optional fields, so an unknown or missing key is malformed.
[[nodiscard]] Result<cbor::Value> decode_payload(ByteView payload,
                                                 std::initializer_list<std::uint64_t> expected_keys,
                                                 std::string_view what);

}  // namespace hotline::record
