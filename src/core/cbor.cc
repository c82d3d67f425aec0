#include "core/cbor.h"

#include <algorithm>

namespace hotline::cbor {
namespace {

enum Major : int {
  kMajorUnsigned = 0,
  kMajorNegative = 1,
  kMajorBytes = 2,
  kMajorText = 3,
  kMajorArray = 4,
  kMajorMap = 5,
  kMajorSimple = 7,
};

constexpr std::uint8_t kFalse = 20;
constexpr std::uint8_t kTrue = 21;
constexpr std::uint8_t kNullSimple = 22;

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(const std::uint8_t* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    std::uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

class Decoder {
 public:
  explicit Decoder(ByteView bytes) : bytes_(bytes) {}

  Result<Value> item(int depth) {
    if (depth > kMaxDepth) {
      return fail("nesting deeper than " + std::to_string(kMaxDepth));
    }
    const std::size_t start = pos_;
    if (pos_ >= bytes_.size()) {
      return fail("unexpected end of input");
    }
    const std::uint8_t initial = bytes_[pos_++];
    const int major = initial >> 5;
    const int info = initial & 0x1F;
    if (major == kMajorSimple) {
      return simple(info, start);
    }
    if (major == 6) {
      return fail_at(start, "tags are not allowed");
    }
    HOTLINE_ASSIGN(std::uint64_t arg, argument(info, start));
    switch (major) {
      case kMajorUnsigned:
        return Value::uint(arg);
      case kMajorNegative:
        if (arg > static_cast<std::uint64_t>(INT64_MAX)) {
          return fail_at(start, "negative integer below -2^63");
        }
        return Value::integer(-1 - static_cast<std::int64_t>(arg));
      case kMajorBytes:
      case kMajorText:
        return string(major, arg, start);
      case kMajorArray:
        return array(arg, depth, start);
      case kMajorMap:
        return map(arg, depth, start);
    }
    return fail_at(start, "unsupported major type");
  }

  bool at_end() const { return pos_ == bytes_.size(); }
  std::size_t pos() const { return pos_; }

 private:
  Error fail(const std::string& what) const { return fail_at(pos_, what); }
  Error fail_at(std::size_t offset, const std::string& what) const {
    return make_error(Errc::kMalformed,
                      "CBOR: " + what + " at byte offset " + std::to_string(offset));
  }

  Result<Value> simple(int info, std::size_t start) {
    switch (info) {
      case kFalse:
        return Value::boolean(false);
      case kTrue:
        return Value::boolean(true);
      case kNullSimple:
        return Value::null();
      case 31:
        return fail_at(start, "indefinite-length break is not allowed");
      default:
        return fail_at(start,
                       "floats and simple values other than false/true/null are not allowed");
    }
  }

  // Reads the argument of a head and insists on its shortest form.
  Result<std::uint64_t> argument(int info, std::size_t start) {
    if (info < 24) {
      return static_cast<std::uint64_t>(info);
    }
    if (info == 31) {
      return fail_at(start, "indefinite lengths are not allowed");
    }
    if (info > 27) {
      return fail_at(start, "reserved additional information value");
    }
    const std::size_t width = std::size_t{1} << (info - 24);
    if (bytes_.size() - pos_ < width) {
      return fail_at(start, "truncated head");
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value = (value << 8) | bytes_[pos_++];
    }
    static constexpr std::uint64_t kMinimum[] = {24, 0x100, 0x10000, 0x100000000ULL};
    if (value < kMinimum[info - 24]) {
      return fail_at(start, "integer or length not in its shortest form");
    }
    return value;
  }

  Result<Value> string(int major, std::uint64_t length, std::size_t start) {
    if (length > bytes_.size() - pos_) {
      return fail_at(start, "string length " + std::to_string(length) + " runs past the end");
    }
    const std::uint8_t* data = bytes_.data() + pos_;
    pos_ += static_cast<std::size_t>(length);
    if (major == kMajorBytes) {
      return Value::bytes(Bytes(data, data + length));
    }
    if (!valid_utf8(data, static_cast<std::size_t>(length))) {
      return fail_at(start, "text string is not valid UTF-8");
    }
    return Value::text(std::string(reinterpret_cast<const char*>(data), length));
  }

  Result<Value> array(std::uint64_t count, int depth, std::size_t start) {
    // Every element takes at least one byte, which bounds allocation by the input size.
    if (count > kMaxItems || count > bytes_.size() - pos_) {
      return fail_at(start, "array of " + std::to_string(count) + " elements is too long");
    }
    Array items;
    items.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
      HOTLINE_ASSIGN(Value v, item(depth + 1));
      items.push_back(std::move(v));
    }
    return Value::array(std::move(items));
  }

  Result<Value> map(std::uint64_t count, int depth, std::size_t start) {
    if (count > kMaxItems || count * 2 > bytes_.size() - pos_) {
      return fail_at(start, "map of " + std::to_string(count) + " entries is too long");
    }
    Map entries;
    entries.reserve(static_cast<std::size_t>(count));
    ByteView previous_key;
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::size_t key_start = pos_;
      HOTLINE_ASSIGN(Value key, item(depth + 1));
      ByteView key_bytes = bytes_.subspan(key_start, pos_ - key_start);
      if (i > 0 && !std::lexicographical_compare(previous_key.begin(), previous_key.end(),
                                                 key_bytes.begin(), key_bytes.end())) {
        return fail_at(key_start, "map keys are duplicated or not in ascending order");
      }
      previous_key = key_bytes;
      HOTLINE_ASSIGN(Value value, item(depth + 1));
      entries.emplace_back(std::move(key), std::move(value));
    }
    return Value::map(std::move(entries));
  }

  ByteView bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

Value Value::integer(std::int64_t v) {
  if (v >= 0) {
    return uint(static_cast<std::uint64_t>(v));
  }
  return make<1>(static_cast<std::uint64_t>(-1 - v));
}

Value Value::map(Map v) {
  std::vector<std::pair<Bytes, MapEntry>> keyed;
  keyed.reserve(v.size());
  for (auto& entry : v) {
    keyed.emplace_back(encode(entry.first), std::move(entry));
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Map sorted;
  sorted.reserve(keyed.size());
  for (auto& k : keyed) {
    sorted.push_back(std::move(k.second));
  }
  return make<5>(std::move(sorted));
}

const Value* Value::find(std::uint64_t key) const {
  if (!is_map()) {
    return nullptr;
  }
  for (const auto& [k, v] : as_map()) {
    if (k.is_uint() && k.as_uint() == key) {
      return &v;
    }
  }
  return nullptr;
}

void write_head(Bytes& out, int major, std::uint64_t argument) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (argument < 24) {
    out.push_back(static_cast<std::uint8_t>(m | argument));
    return;
  }
  int width = 0;
  std::uint8_t info = 0;
  if (argument <= 0xFF) {
    width = 1;
    info = 24;
  } else if (argument <= 0xFFFF) {
    width = 2;
    info = 25;
  } else if (argument <= 0xFFFFFFFFULL) {
    width = 4;
    info = 26;
  } else {
    width = 8;
    info = 27;
  }
  out.push_back(static_cast<std::uint8_t>(m | info));
  for (int i = width - 1; i >= 0; --i) {
    out.push_back(static_cast<std::uint8_t>(argument >> (8 * i)));
  }
}

void encode_to(const Value& value, Bytes& out) {
  switch (value.type()) {
    case Value::Type::kUnsigned:
      write_head(out, kMajorUnsigned, value.as_uint());
      return;
    case Value::Type::kNegative:
      write_head(out, kMajorNegative, value.negative_argument());
      return;
    case Value::Type::kBytes:
      write_head(out, kMajorBytes, value.as_bytes().size());
      out.insert(out.end(), value.as_bytes().begin(), value.as_bytes().end());
      return;
    case Value::Type::kText:
      write_head(out, kMajorText, value.as_text().size());
      out.insert(out.end(), value.as_text().begin(), value.as_text().end());
      return;
    case Value::Type::kArray:
      write_head(out, kMajorArray, value.as_array().size());
      for (const auto& v : value.as_array()) {
        encode_to(v, out);
      }
      return;
    case Value::Type::kMap:
      write_head(out, kMajorMap, value.as_map().size());
      for (const auto& [k, v] : value.as_map()) {
        encode_to(k, out);
        encode_to(v, out);
      }
      return;
    case Value::Type::kBool:
      out.push_back(
          static_cast<std::uint8_t>((kMajorSimple << 5) | (value.as_bool() ? kTrue : kFalse)));
      return;
    case Value::Type::kNull:
      out.push_back(static_cast<std::uint8_t>((kMajorSimple << 5) | kNullSimple));
      return;
  }
}

Bytes encode(const Value& value) {
  Bytes out;
  encode_to(value, out);
  return out;
}

MapWriter::MapWriter(std::size_t fields, std::size_t reserve) {
  out_.reserve(reserve);
  write_head(out_, kMajorMap, fields);
}

MapWriter& MapWriter::uint(std::uint64_t key, std::uint64_t value) {
  write_head(out_, kMajorUnsigned, key);
  write_head(out_, kMajorUnsigned, value);
  return *this;
}

MapWriter& MapWriter::bytes(std::uint64_t key, ByteView value) {
  write_head(out_, kMajorUnsigned, key);
  write_head(out_, kMajorBytes, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

MapWriter& MapWriter::text(std::uint64_t key, std::string_view value) {
  write_head(out_, kMajorUnsigned, key);
  write_head(out_, kMajorText, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

MapWriter& MapWriter::byte_strings(std::uint64_t key, const std::vector<Bytes>& items) {
  write_head(out_, kMajorUnsigned, key);
  write_head(out_, kMajorArray, items.size());
  for (const Bytes& item : items) {
    write_head(out_, kMajorBytes, item.size());
    out_.insert(out_.end(), item.begin(), item.end());
  }
  return *this;
}

MapWriter& MapWriter::value(std::uint64_t key, const Value& value) {
  write_head(out_, kMajorUnsigned, key);
  encode_to(value, out_);
  return *this;
}

Result<Value> decode(ByteView bytes) {
  Decoder decoder(bytes);
  HOTLINE_ASSIGN(Value value, decoder.item(0));
  if (!decoder.at_end()) {
    return make_error(Errc::kMalformed, "CBOR: " + std::to_string(bytes.size() - decoder.pos()) +
                                            " trailing byte(s) at byte offset " +
                                            std::to_string(decoder.pos()));
  }
  return value;
}

}  // namespace hotline::cbor
