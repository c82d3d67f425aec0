#include "crypto/hash.h"

#include <sodium.h>

namespace hotline::crypto {

Hash sha256(ByteView data) { return sha256({data}); }

Hash sha256(std::initializer_list<ByteView> parts) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (ByteView part : parts) {
    crypto_hash_sha256_update(&state, part.data(), part.size());
  }
  Hash out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

}  // namespace hotline::crypto
