#include "record/entry.h"

#include "record/payload_fields.h"

namespace hotline::record {
namespace {

// Payload map keys (docs/record-format.md, "Entry").
enum EntryKey : std::uint64_t {
  kVersion = 1,
  kLine = 2,
  kAuthor = 3,
  kSeq = 4,
  kPrev = 5,
  kTime = 6,
  kCrossSeq = 7,
  kCrossHash = 8,
  kKind = 9,
  kBody = 10,
};

constexpr Hash kZeroHash{};

}  // namespace

Result<void> validate_entry_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > kMaxKindLength) {
    return make_error(Errc::kMalformed,
                      "entry kind must be 1 to " + std::to_string(kMaxKindLength) + " characters");
  }
  for (char c : kind) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return make_error(Errc::kMalformed,
                        "entry kind '" + std::string(kind) + "' may use only a-z, 0-9 and '-'");
    }
  }
  return success();
}

namespace {

// Rules that concern one entry alone, checked when signing and when decoding.
Result<void> check_self_consistent(const EntryFields& f) {
  HOTLINE_TRY(validate_entry_kind(f.kind));
  if (f.seq == 0) {
    return make_error(Errc::kMalformed, "entry sequence numbers start at 1");
  }
  if (f.seq == 1 && f.prev != kZeroHash) {
    return make_error(Errc::kMalformed, "the first entry of a chain must have an all-zero prev");
  }
  if (f.cross.seq == 0 && f.cross.hash != kZeroHash) {
    return make_error(Errc::kMalformed, "a cross-link to sequence 0 must have an all-zero hash");
  }
  if (f.time < 0) {
    return make_error(Errc::kMalformed, "entry time is before the epoch");
  }
  return success();
}

}  // namespace

Bytes encode_entry_payload(const EntryFields& f) {
  return cbor::MapWriter(10, 256)
      .uint(kVersion, f.version)
      .bytes(kLine, f.line.bytes)
      .bytes(kAuthor, f.author.view())
      .uint(kSeq, f.seq)
      .bytes(kPrev, f.prev)
      .uint(kTime, static_cast<std::uint64_t>(f.time))
      .uint(kCrossSeq, f.cross.seq)
      .bytes(kCrossHash, f.cross.hash)
      .text(kKind, f.kind)
      .value(kBody, f.body)
      .take();
}

Result<SignedEntry> sign_entry(const crypto::SigningKey& key, EntryFields fields) {
  if (fields.author != key.public_key()) {
    return make_error(Errc::kInvalidArgument, "entry author is not the signing key");
  }
  HOTLINE_TRY(check_self_consistent(fields));
  SignedEntry entry;
  entry.envelope.payload = encode_entry_payload(fields);
  entry.envelope.signature = key.sign(crypto::SigningContext::kEntry, entry.envelope.payload);
  entry.signed_bytes = seal_envelope(entry.envelope.payload, entry.envelope.signature);
  if (entry.signed_bytes.size() > kMaxSignedItemSize) {
    return make_error(
        Errc::kInvalidArgument,
        "entry of " + std::to_string(entry.signed_bytes.size()) + " bytes exceeds the limit");
  }
  entry.hash = crypto::sha256(entry.signed_bytes);
  entry.fields = std::move(fields);
  return entry;
}

Result<SignedEntry> decode_entry(ByteView signed_bytes) {
  SignedEntry entry;
  HOTLINE_ASSIGN(entry.envelope, open_envelope(signed_bytes));
  HOTLINE_ASSIGN(cbor::Value map, decode_payload(entry.envelope.payload,
                                                 {kVersion, kLine, kAuthor, kSeq, kPrev, kTime,
                                                  kCrossSeq, kCrossHash, kKind, kBody},
                                                 "entry"));
  fields::Reader r(map, "entry");
  EntryFields& f = entry.fields;
  HOTLINE_ASSIGN(f.version, r.version(kVersion));
  HOTLINE_ASSIGN(f.line, r.line(kLine, "line"));
  HOTLINE_ASSIGN(f.author, r.key(kAuthor, "author"));
  HOTLINE_ASSIGN(f.seq, r.uint(kSeq, "seq"));
  HOTLINE_ASSIGN(f.prev, r.hash(kPrev, "prev"));
  HOTLINE_ASSIGN(f.time, r.time(kTime, "time"));
  HOTLINE_ASSIGN(f.cross.seq, r.uint(kCrossSeq, "cross-seq"));
  HOTLINE_ASSIGN(f.cross.hash, r.hash(kCrossHash, "cross-hash"));
  HOTLINE_ASSIGN(f.kind, r.text(kKind, "kind"));
  f.body = *map.find(kBody);
  HOTLINE_TRY(check_self_consistent(f));
  entry.signed_bytes.assign(signed_bytes.begin(), signed_bytes.end());
  entry.hash = crypto::sha256(signed_bytes);
  return entry;
}

bool verify_entry_signature(const SignedEntry& entry) {
  return crypto::verify_signature(entry.fields.author, crypto::SigningContext::kEntry,
                                  entry.envelope.payload, entry.envelope.signature);
}

}  // namespace hotline::record
