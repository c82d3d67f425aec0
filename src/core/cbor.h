// core/cbor.h — deterministic CBOR (RFC 8949 §4.2.1), the one encoding of the record.
//
// Only the subset the record needs exists: unsigned and negative integers, byte strings, text
// strings (UTF-8), arrays, maps, false, true and null. No tags, floats, `undefined` or
// indefinite lengths.
//
// `encode` always produces the deterministic form: shortest integer and length heads, definite
// lengths, map keys sorted by the bytewise order of their encodings. `decode` accepts exactly that
// form and nothing else: a non-shortest head, unsorted or duplicate keys, invalid UTF-8, an
// unsupported type or a single trailing byte is an error naming the offset. Hence
// `encode(decode(b)) == b` for every accepted `b`, which is what lets signatures be checked over
// the exact bytes received.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace hotline::cbor {

// Limits on what `decode` accepts from outside; generous for the record, tight against abuse.
inline constexpr int kMaxDepth = 16;
inline constexpr std::size_t kMaxItems = 1 << 16;  // elements of one array or map

class Value;
using Array = std::vector<Value>;
using MapEntry = std::pair<Value, Value>;
using Map = std::vector<MapEntry>;  // kept sorted by encoded key

struct Null {
  bool operator==(const Null&) const = default;
};

class Value {
 public:
  enum class Type { kUnsigned, kNegative, kBytes, kText, kArray, kMap, kBool, kNull };

  Value() : data_(Null{}) {}
  static Value uint(std::uint64_t v) { return make<0>(v); }
  // Any int64; non-negative values become unsigned integers.
  static Value integer(std::int64_t v);
  static Value bytes(Bytes v) { return make<2>(std::move(v)); }
  static Value bytes(ByteView v) { return bytes(Bytes(v.begin(), v.end())); }
  static Value text(std::string v) { return make<3>(std::move(v)); }
  static Value array(Array v) { return make<4>(std::move(v)); }
  // Sorts the entries into deterministic order. Duplicate keys are a caller bug: use `decode` for
  // untrusted input.
  static Value map(Map v);
  static Value boolean(bool v) { return make<6>(v); }
  static Value null() { return Value(); }

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_uint() const { return type() == Type::kUnsigned; }
  bool is_bytes() const { return type() == Type::kBytes; }
  bool is_text() const { return type() == Type::kText; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_map() const { return type() == Type::kMap; }

  // Accessors abort on the wrong type (a bug); check `type()` first on untrusted data.
  std::uint64_t as_uint() const { return std::get<0>(data_); }
  // For kNegative: the encoded argument n, meaning the value -1 - n.
  std::uint64_t negative_argument() const { return std::get<1>(data_); }
  const Bytes& as_bytes() const { return std::get<2>(data_); }
  const std::string& as_text() const { return std::get<3>(data_); }
  const Array& as_array() const { return std::get<4>(data_); }
  const Map& as_map() const { return std::get<5>(data_); }
  bool as_bool() const { return std::get<6>(data_); }

  // In a map: the value for an unsigned-integer key, or nullptr.
  const Value* find(std::uint64_t key) const;

  bool operator==(const Value& other) const { return data_ == other.data_; }

 private:
  using Data =
      std::variant<std::uint64_t, std::uint64_t, Bytes, std::string, Array, Map, bool, Null>;
  // Emplaces into a default (null) value: constructing the variant from a temporary makes GCC 12
  // report a false -Wmaybe-uninitialized at -O2.
  template <std::size_t I, class T>
  static Value make(T&& v) {
    Value out;
    out.data_.template emplace<I>(std::forward<T>(v));
    return out;
  }
  Data data_;
};

// The deterministic encoding of `value`.
Bytes encode(const Value& value);
void encode_to(const Value& value, Bytes& out);

// Decodes exactly one deterministically encoded item occupying all of `bytes`.
[[nodiscard]] Result<Value> decode(ByteView bytes);

// Low-level head writer, for encoders that build maps with keys already in ascending order.
void write_head(Bytes& out, int major, std::uint64_t argument);

// Writes a map whose keys are small unsigned integers, without building a Value. The caller gives
// the number of fields up front and writes the keys in ascending order, which is the deterministic
// order for unsigned keys; the record's and the link's payloads are all written this way.
class MapWriter {
 public:
  explicit MapWriter(std::size_t fields, std::size_t reserve = 128);

  MapWriter& uint(std::uint64_t key, std::uint64_t value);
  MapWriter& bytes(std::uint64_t key, ByteView value);
  MapWriter& text(std::uint64_t key, std::string_view value);
  MapWriter& byte_strings(std::uint64_t key, const std::vector<Bytes>& items);
  MapWriter& value(std::uint64_t key, const Value& value);

  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

}  // namespace hotline::cbor
