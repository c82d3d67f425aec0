#include "record/checkpoint.h"

#include "record/payload_fields.h"

namespace hotline::record {
namespace {

// Payload map keys (docs/record-format.md, "Checkpoint").
enum CheckpointKey : std::uint64_t {
  kVersion = 1,
  kLine = 2,
  kSigner = 3,
  kOwnSeq = 4,
  kOwnHash = 5,
  kPeerSeq = 6,
  kPeerHash = 7,
  kTime = 8,
};

Result<void> check_self_consistent(const CheckpointFields& f) {
  if ((f.own.seq == 0 && f.own.hash != Hash{}) || (f.peer.seq == 0 && f.peer.hash != Hash{})) {
    return make_error(Errc::kMalformed, "a checkpoint head at sequence 0 must have a zero hash");
  }
  if (f.time < 0) {
    return make_error(Errc::kMalformed, "checkpoint time is before the epoch");
  }
  return success();
}

Bytes encode_payload(const CheckpointFields& f) {
  return cbor::MapWriter(8)
      .uint(kVersion, f.version)
      .bytes(kLine, f.line.bytes)
      .bytes(kSigner, f.signer.view())
      .uint(kOwnSeq, f.own.seq)
      .bytes(kOwnHash, f.own.hash)
      .uint(kPeerSeq, f.peer.seq)
      .bytes(kPeerHash, f.peer.hash)
      .uint(kTime, static_cast<std::uint64_t>(f.time))
      .take();
}

}  // namespace

Result<SignedCheckpoint> sign_checkpoint(const crypto::SigningKey& key, CheckpointFields fields) {
  if (fields.signer != key.public_key()) {
    return make_error(Errc::kInvalidArgument, "checkpoint signer is not the signing key");
  }
  HOTLINE_TRY(check_self_consistent(fields));
  SignedCheckpoint checkpoint;
  checkpoint.envelope.payload = encode_payload(fields);
  checkpoint.envelope.signature =
      key.sign(crypto::SigningContext::kCheckpoint, checkpoint.envelope.payload);
  checkpoint.signed_bytes =
      seal_envelope(checkpoint.envelope.payload, checkpoint.envelope.signature);
  checkpoint.hash = crypto::sha256(checkpoint.signed_bytes);
  checkpoint.fields = fields;
  return checkpoint;
}

Result<SignedCheckpoint> decode_checkpoint(ByteView signed_bytes) {
  SignedCheckpoint checkpoint;
  HOTLINE_ASSIGN(checkpoint.envelope, open_envelope(signed_bytes));
  HOTLINE_ASSIGN(cbor::Value map, decode_payload(checkpoint.envelope.payload,
                                                 {kVersion, kLine, kSigner, kOwnSeq, kOwnHash,
                                                  kPeerSeq, kPeerHash, kTime},
                                                 "checkpoint"));
  fields::Reader r(map, "checkpoint");
  CheckpointFields& f = checkpoint.fields;
  HOTLINE_ASSIGN(f.version, r.version(kVersion));
  HOTLINE_ASSIGN(f.line, r.line(kLine, "line"));
  HOTLINE_ASSIGN(f.signer, r.key(kSigner, "signer"));
  HOTLINE_ASSIGN(f.own.seq, r.uint(kOwnSeq, "own-seq"));
  HOTLINE_ASSIGN(f.own.hash, r.hash(kOwnHash, "own-hash"));
  HOTLINE_ASSIGN(f.peer.seq, r.uint(kPeerSeq, "peer-seq"));
  HOTLINE_ASSIGN(f.peer.hash, r.hash(kPeerHash, "peer-hash"));
  HOTLINE_ASSIGN(f.time, r.time(kTime, "time"));
  HOTLINE_TRY(check_self_consistent(f));
  checkpoint.signed_bytes.assign(signed_bytes.begin(), signed_bytes.end());
  checkpoint.hash = crypto::sha256(signed_bytes);
  return checkpoint;
}

bool verify_checkpoint_signature(const SignedCheckpoint& checkpoint) {
  return crypto::verify_signature(checkpoint.fields.signer, crypto::SigningContext::kCheckpoint,
                                  checkpoint.envelope.payload, checkpoint.envelope.signature);
}

}  // namespace hotline::record
