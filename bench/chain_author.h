// bench/chain_author.h — deterministic stations and entries for the benchmarks.
//
// tests/testing builds its fixtures only with the tests; the benchmarks need their own, and need
// them cheap: a ChainAuthor keeps only its chain's head, so that a million entries can be signed
// and streamed out without holding them.
#pragma once

#include <cstdint>
#include <string>

#include "crypto/identity.h"
#include "record/entry.h"
#include "record/types.h"

namespace hotline::bench {

// The key whose seed is 32 copies of `n`; the same in every run.
crypto::SigningKey bench_key(std::uint8_t n);

// The body of a typical short message: {1: text of 40 characters}, which makes an entry payload
// of about 200 bytes (micro_bench reports the exact size).
cbor::Value message_body(std::uint64_t n);

// Authors one chain: each `next` signs the entry after the current head. One ChainAuthor per
// thread; the key must outlive it.
class ChainAuthor {
 public:
  // Entry times start at `first_time` and advance by `time_step` per entry.
  ChainAuthor(const crypto::SigningKey& key, const record::LineId& line, Micros first_time,
              Micros time_step);

  // Signs the next entry, cross-linking `cross` (the other chain's latest entry the author
  // holds). Exits the program on failure: benchmark input is valid by construction.
  record::SignedEntry next(const record::ChainPosition& cross);

  const record::ChainPosition& head() const { return head_; }
  // The author time of the last entry signed (or of the next one, before the first).
  Micros time() const { return time_; }

 private:
  const crypto::SigningKey* key_;
  record::LineId line_;
  record::ChainPosition head_;
  Micros time_;
  Micros time_step_;
};

}  // namespace hotline::bench
