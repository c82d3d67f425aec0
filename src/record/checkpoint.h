// record/checkpoint.h — a signed statement of both chains' heads as the signer holds them.
//
// Stations exchange checkpoints periodically (design.md §3). A checkpoint whose heads do not match
// the receiver's copy is divergence; see record/verify.h.
#pragma once

#include "record/envelope.h"
#include "record/types.h"

namespace hotline::record {

struct CheckpointFields {
  std::uint64_t version = kFormatVersion;
  LineId line;
  PublicKey signer;
  ChainPosition own;   // head of the signer's own chain
  ChainPosition peer;  // head of the other chain, as the signer holds it
  Micros time = 0;
};

struct SignedCheckpoint {
  CheckpointFields fields;
  Envelope envelope;
  Bytes signed_bytes;
  Hash hash{};
};

[[nodiscard]] Result<SignedCheckpoint> sign_checkpoint(const crypto::SigningKey& key,
                                                       CheckpointFields fields);
[[nodiscard]] Result<SignedCheckpoint> decode_checkpoint(ByteView signed_bytes);
[[nodiscard]] bool verify_checkpoint_signature(const SignedCheckpoint& checkpoint);

}  // namespace hotline::record
