#include "record/envelope.h"

#include <algorithm>

#include "record/types.h"

namespace hotline::record {

Bytes seal_envelope(ByteView payload, const crypto::Signature& signature) {
  Bytes out;
  out.reserve(payload.size() + signature.size() + 8);
  cbor::write_head(out, 4, 2);  // array of two
  cbor::write_head(out, 2, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  cbor::write_head(out, 2, signature.size());
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Result<Envelope> open_envelope(ByteView signed_bytes) {
  if (signed_bytes.size() > kMaxSignedItemSize) {
    return make_error(Errc::kMalformed, "signed item of " + std::to_string(signed_bytes.size()) +
                                            " bytes exceeds the limit of " +
                                            std::to_string(kMaxSignedItemSize));
  }
  HOTLINE_ASSIGN(cbor::Value outer, cbor::decode(signed_bytes));
  if (!outer.is_array() || outer.as_array().size() != 2 || !outer.as_array()[0].is_bytes() ||
      !outer.as_array()[1].is_bytes()) {
    return make_error(Errc::kMalformed,
                      "signed item is not an array of [payload bytes, signature bytes]");
  }
  const Bytes& signature = outer.as_array()[1].as_bytes();
  if (signature.size() != crypto::kSignatureSize) {
    return make_error(Errc::kMalformed,
                      "signature is " + std::to_string(signature.size()) + " bytes, not 64");
  }
  Envelope envelope;
  envelope.payload = outer.as_array()[0].as_bytes();
  std::copy(signature.begin(), signature.end(), envelope.signature.begin());
  return envelope;
}

Result<cbor::Value> decode_payload(ByteView payload,
                                   std::initializer_list<std::uint64_t> expected_keys,
                                   std::string_view what) {
  auto decoded = cbor::decode(payload);
  if (!decoded) {
    return make_error(Errc::kMalformed, std::string(what) + " payload: " + decoded.error().message);
  }
  const cbor::Value& map = *decoded;
  if (!map.is_map()) {
    return make_error(Errc::kMalformed, std::string(what) + " payload is not a map");
  }
  const auto& entries = map.as_map();
  bool keys_match = entries.size() == expected_keys.size();
  auto expected = expected_keys.begin();
  for (std::size_t i = 0; keys_match && i < entries.size(); ++i, ++expected) {
    keys_match = entries[i].first.is_uint() && entries[i].first.as_uint() == *expected;
  }
  if (!keys_match) {
    return make_error(Errc::kMalformed, std::string(what) +
                                            " payload does not have exactly the keys " +
                                            std::to_string(*expected_keys.begin()) + ".." +
                                            std::to_string(*(expected_keys.end() - 1)));
  }
  return decoded;
}

}  // namespace hotline::record
