// record/entry.h — an entry: one signed statement by one station on one line.
//
// Every entry that station A authors on line L takes the next sequence number of chain A→B and
// carries the fields of `EntryFields` (design.md §3). The author signs the payload in the
// `hotline/v1/entry` context. `decode_entry` checks structure only; the signature is checked by
// `verify_entry_signature`, so that callers can verify many signatures in parallel.
#pragma once

#include <string>

#include "core/cbor.h"
#include "record/envelope.h"
#include "record/types.h"

namespace hotline::record {

struct EntryFields {
  std::uint64_t version = kFormatVersion;
  LineId line;
  PublicKey author;
  std::uint64_t seq = 0;  // 1 for the first entry of a chain
  Hash prev{};            // hash of entry seq-1 of the same chain; zeros for seq 1
  Micros time = 0;        // author's clock, microseconds since the epoch, UTC
  ChainPosition cross;    // the latest entry of the other chain the author had stored
  std::string kind;       // what the entry is ("message", "request", "link-test", …)
  cbor::Value body;       // kind-specific content
};

struct SignedEntry {
  EntryFields fields;
  Envelope envelope;
  Bytes signed_bytes;  // the exact bytes: [payload, signature]
  Hash hash{};         // SHA-256(signed_bytes)

  ChainPosition position() const { return {fields.seq, hash}; }
};

// Encodes and signs. Fails (kInvalidArgument) if `fields.author` is not `key`'s public key or a
// field is out of its limits.
[[nodiscard]] Result<SignedEntry> sign_entry(const crypto::SigningKey& key, EntryFields fields);

// Parses exact signed bytes: canonical encoding, every field present and well-typed, within
// limits. Does not check the signature.
[[nodiscard]] Result<SignedEntry> decode_entry(ByteView signed_bytes);

// A kind is 1 to kMaxKindLength characters of a-z, 0-9 and '-'.
[[nodiscard]] Result<void> validate_entry_kind(std::string_view kind);

// Whether the entry carries its author's valid signature.
[[nodiscard]] bool verify_entry_signature(const SignedEntry& entry);

// The payload encoding of `fields` (what is signed).
Bytes encode_entry_payload(const EntryFields& fields);

}  // namespace hotline::record
