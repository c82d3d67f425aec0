#include "record/types.h"

#include <algorithm>

namespace hotline::record {

std::string LineId::hex() const { return to_hex(bytes); }

Result<LineId> LineId::from_hex(std::string_view hex) {
  HOTLINE_ASSIGN(Bytes raw, hotline::from_hex(hex));
  if (raw.size() != 16) {
    return make_error(Errc::kInvalidArgument,
                      "line id '" + std::string(hex) + "' must be 32 hex digits");
  }
  LineId id;
  std::copy(raw.begin(), raw.end(), id.bytes.begin());
  return id;
}

LineId derive_line_id(const PublicKey& a, const PublicKey& b, std::string_view name) {
  const PublicKey& lower = std::min(a, b);
  const PublicKey& higher = std::max(a, b);
  Hash digest = crypto::sha256({lower.view(), higher.view(), as_bytes(name)});
  LineId id;
  std::copy_n(digest.begin(), id.bytes.size(), id.bytes.begin());
  return id;
}

std::string short_fingerprint(const PublicKey& key) { return key.fingerprint().substr(0, 16); }

}  // namespace hotline::record
