#include "record/payload_fields.h"

#include <algorithm>
#include <limits>

namespace hotline::record::fields {

Error Reader::bad(std::string_view name, const std::string& why) const {
  return make_error(Errc::kMalformed,
                    std::string(what_) + " field " + std::string(name) + " " + why);
}

Result<std::uint64_t> Reader::uint(std::uint64_t key, std::string_view name) const {
  const cbor::Value* v = map_.find(key);
  if (v == nullptr || !v->is_uint()) {
    return bad(name, "is not an unsigned integer");
  }
  return v->as_uint();
}

Result<Micros> Reader::time(std::uint64_t key, std::string_view name) const {
  HOTLINE_ASSIGN(std::uint64_t t, uint(key, name));
  if (t > static_cast<std::uint64_t>(std::numeric_limits<Micros>::max())) {
    return bad(name, "is out of range");
  }
  return static_cast<Micros>(t);
}

Result<Bytes> Reader::fixed_bytes(std::uint64_t key, std::string_view name,
                                  std::size_t size) const {
  const cbor::Value* v = map_.find(key);
  if (v == nullptr || !v->is_bytes()) {
    return bad(name, "is not a byte string");
  }
  if (v->as_bytes().size() != size) {
    return bad(name, "must be " + std::to_string(size) + " bytes, not " +
                         std::to_string(v->as_bytes().size()));
  }
  return v->as_bytes();
}

Result<Hash> Reader::hash(std::uint64_t key, std::string_view name) const {
  HOTLINE_ASSIGN(Bytes raw, fixed_bytes(key, name, 32));
  Hash h;
  std::copy(raw.begin(), raw.end(), h.begin());
  return h;
}

Result<PublicKey> Reader::key(std::uint64_t key, std::string_view name) const {
  HOTLINE_ASSIGN(Bytes raw, fixed_bytes(key, name, crypto::kPublicKeySize));
  return PublicKey::from_bytes(raw);
}

Result<LineId> Reader::line(std::uint64_t key, std::string_view name) const {
  HOTLINE_ASSIGN(Bytes raw, fixed_bytes(key, name, 16));
  LineId id;
  std::copy(raw.begin(), raw.end(), id.bytes.begin());
  return id;
}

Result<std::string> Reader::text(std::uint64_t key, std::string_view name) const {
  const cbor::Value* v = map_.find(key);
  if (v == nullptr || !v->is_text()) {
    return bad(name, "is not a text string");
  }
  return v->as_text();
}

Result<std::uint64_t> Reader::version(std::uint64_t key) const {
  HOTLINE_ASSIGN(std::uint64_t v, uint(key, "version"));
  if (v != kFormatVersion) {
    return make_error(Errc::kMalformed, std::string(what_) + " has format version " +
                                            std::to_string(v) + "; this verifier knows only " +
                                            std::to_string(kFormatVersion));
  }
  return v;
}

}  // namespace hotline::record::fields
