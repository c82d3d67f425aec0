// record/payload_fields.h — reading the typed fields of record payloads (cbor::MapWriter writes
// them).
//
// Internal to record/: entries, receipts and checkpoints are all maps with small unsigned keys in
// ascending order (docs/record-format.md), and these helpers keep their codecs short and uniform.
#pragma once

#include <string>
#include <string_view>

#include "core/cbor.h"
#include "record/types.h"

namespace hotline::record::fields {

// Readers take the decoded payload map (whose key set was already checked) and name the field in
// their errors as "<what> field <name>".
class Reader {
 public:
  Reader(const cbor::Value& map, std::string_view what) : map_(map), what_(what) {}

  Result<std::uint64_t> uint(std::uint64_t key, std::string_view name) const;
  Result<Micros> time(std::uint64_t key, std::string_view name) const;
  Result<Hash> hash(std::uint64_t key, std::string_view name) const;
  Result<PublicKey> key(std::uint64_t key, std::string_view name) const;
  Result<LineId> line(std::uint64_t key, std::string_view name) const;
  Result<std::string> text(std::uint64_t key, std::string_view name) const;
  // The version field, which must be kFormatVersion.
  Result<std::uint64_t> version(std::uint64_t key) const;

 private:
  Result<Bytes> fixed_bytes(std::uint64_t key, std::string_view name, std::size_t size) const;
  Error bad(std::string_view name, const std::string& why) const;

  const cbor::Value& map_;
  std::string_view what_;
};

}  // namespace hotline::record::fields
