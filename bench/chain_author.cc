#include "bench/chain_author.h"

#include <cstdio>

#include "bench/must.h"

namespace hotline::bench {

crypto::SigningKey bench_key(std::uint8_t n) {
  const Bytes seed(crypto::kSeedSize, n);
  return must(crypto::SigningKey::from_seed(seed), "bench key");
}

cbor::Value message_body(std::uint64_t n) {
  char text[48];  // 40 characters: "message " + 10 digits + " of the benchmark run."
  std::snprintf(text, sizeof text, "message %010llu of the benchmark run.",
                static_cast<unsigned long long>(n % 10'000'000'000ULL));
  return cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}});
}

ChainAuthor::ChainAuthor(const crypto::SigningKey& key, const record::LineId& line,
                         Micros first_time, Micros time_step)
    : key_(&key), line_(line), time_(first_time), time_step_(time_step) {}

record::SignedEntry ChainAuthor::next(const record::ChainPosition& cross) {
  record::EntryFields fields;
  fields.line = line_;
  fields.author = key_->public_key();
  fields.seq = head_.seq + 1;
  fields.prev = head_.hash;
  fields.time = head_.seq == 0 ? time_ : time_ + time_step_;
  fields.cross = cross;
  fields.kind = "message";
  fields.body = message_body(fields.seq);
  record::SignedEntry entry = must(record::sign_entry(*key_, std::move(fields)), "sign_entry");
  head_ = entry.position();
  time_ = entry.fields.time;
  return entry;
}

}  // namespace hotline::bench
