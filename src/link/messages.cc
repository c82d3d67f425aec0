#include "link/messages.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <type_traits>

#include "core/cbor.h"

namespace hotline::link {
namespace {

template <class Key>
constexpr std::uint64_t key(Key k) {
  return static_cast<std::uint64_t>(k);
}

constexpr std::uint64_t kMaxMicros = std::numeric_limits<Micros>::max();
constexpr std::uint64_t kMaxU8 = 0xFF;
constexpr record::Hash kZeroHash{};

// A payload field: its key and the name used in error messages and docs/protocol.md.
struct Field {
  std::uint64_t key;
  std::string_view name;
};

constexpr Field kHelloFields[] = {
    {key(HelloKey::kVersion), "version"},   {key(HelloKey::kLine), "line"},
    {key(HelloKey::kSender), "sender"},     {key(HelloKey::kOwnSeq), "own-seq"},
    {key(HelloKey::kOwnHash), "own-hash"},  {key(HelloKey::kPeerSeq), "peer-seq"},
    {key(HelloKey::kPeerHash), "peer-hash"}};
constexpr Field kEntriesFields[] = {{key(EntriesKey::kItems), "items"}};
constexpr Field kSignedItemFields[] = {{key(SignedItemKey::kItem), "item"}};
constexpr Field kHeartbeatFields[] = {{key(HeartbeatKey::kSeq), "seq"},
                                      {key(HeartbeatKey::kTime), "time"}};
constexpr Field kHeartbeatAckFields[] = {{key(HeartbeatAckKey::kSeq), "seq"}};
constexpr Field kResendRequestFields[] = {{key(ResendRequestKey::kChainAuthor), "chain-author"},
                                          {key(ResendRequestKey::kFromSeq), "from-seq"}};
constexpr Field kGoodbyeFields[] = {{key(GoodbyeKey::kReason), "reason"},
                                    {key(GoodbyeKey::kText), "text"}};

Error malformed(FrameType type, std::string_view what) {
  return make_error(Errc::kMalformed, std::string(frame_type_name(type)) + " " + std::string(what));
}

// --- Writing: keys are written in ascending order, which is canonical for small uint keys. ---

// --- Reading: a payload whose key set was checked; each accessor names the field it rejects. ---

class PayloadReader {
 public:
  // Decodes `payload` (canonical CBOR, nothing trailing) and insists on exactly `fields`' keys.
  static Result<PayloadReader> open(ByteView payload, FrameType type,
                                    std::span<const Field> fields) {
    auto decoded = cbor::decode(payload);
    if (!decoded) {
      return malformed(type, "payload: " + decoded.error().message);
    }
    if (!decoded->is_map()) {
      return malformed(type, "payload is not a map");
    }
    HOTLINE_TRY(check_keys(decoded->as_map(), type, fields));
    return PayloadReader(std::move(decoded).value(), type, fields);
  }

  Result<std::uint64_t> uint(std::uint64_t k, std::uint64_t max) const {
    const cbor::Value& v = at(k);
    if (!v.is_uint()) {
      return bad(k, "is not an unsigned integer");
    }
    if (v.as_uint() > max) {
      return bad(
          k, "is " + std::to_string(v.as_uint()) + ", above its limit of " + std::to_string(max));
    }
    return v.as_uint();
  }

  template <std::size_t N>
  Result<std::array<std::uint8_t, N>> fixed(std::uint64_t k) const {
    HOTLINE_ASSIGN(const Bytes* raw, byte_string(k));
    if (raw->size() != N) {
      return bad(k, "must be " + std::to_string(N) + " bytes, not " + std::to_string(raw->size()));
    }
    std::array<std::uint8_t, N> out{};
    std::copy(raw->begin(), raw->end(), out.begin());
    return out;
  }

  Result<Bytes> bytes(std::uint64_t k) const {
    HOTLINE_ASSIGN(const Bytes* raw, byte_string(k));
    return *raw;
  }

  Result<std::string> text(std::uint64_t k) const {
    const cbor::Value& v = at(k);
    if (!v.is_text()) {
      return bad(k, "is not a text string");
    }
    return v.as_text();
  }

  // An array of byte strings; sizes are checked by the message's own rules.
  Result<std::vector<Bytes>> byte_strings(std::uint64_t k) const {
    const cbor::Value& v = at(k);
    if (!v.is_array()) {
      return bad(k, "is not an array");
    }
    std::vector<Bytes> items;
    items.reserve(v.as_array().size());  // bounded: the decoder saw at least a byte per element
    for (std::size_t i = 0; i < v.as_array().size(); ++i) {
      if (!v.as_array()[i].is_bytes()) {
        return malformed(type_, "field " + std::string(name_of(k)) + ": item " + std::to_string(i) +
                                    " is not a byte string");
      }
      items.push_back(v.as_array()[i].as_bytes());
    }
    return items;
  }

 private:
  PayloadReader(cbor::Value map, FrameType type, std::span<const Field> fields)
      : map_(std::move(map)), type_(type), fields_(fields) {}

  // The decoder guarantees unique keys in canonical order (unsigned integers first, ascending),
  // so walking both lists together finds the first missing or unexpected key.
  static Result<void> check_keys(const cbor::Map& map, FrameType type,
                                 std::span<const Field> fields) {
    std::size_t i = 0;
    for (; i < map.size() && i < fields.size(); ++i) {
      const cbor::Value& k = map[i].first;
      if (k.is_uint() && k.as_uint() == fields[i].key) {
        continue;
      }
      if (k.is_uint() && k.as_uint() > fields[i].key) {
        return missing(type, fields[i]);
      }
      return unexpected(type, k);
    }
    if (i < fields.size()) {
      return missing(type, fields[i]);
    }
    if (i < map.size()) {
      return unexpected(type, map[i].first);
    }
    return success();
  }

  static Error unexpected(FrameType type, const cbor::Value& k) {
    return malformed(type, "payload has an unexpected key " +
                               (k.is_uint() ? std::to_string(k.as_uint())
                                            : std::string("that is not an unsigned integer")));
  }

  static Error missing(FrameType type, const Field& field) {
    return malformed(type, "payload lacks field " + std::string(field.name) + " (key " +
                               std::to_string(field.key) + ")");
  }

  const cbor::Value& at(std::uint64_t k) const { return *map_.find(k); }  // key set was checked

  Result<const Bytes*> byte_string(std::uint64_t k) const {
    const cbor::Value& v = at(k);
    if (!v.is_bytes()) {
      return bad(k, "is not a byte string");
    }
    return &v.as_bytes();
  }

  std::string_view name_of(std::uint64_t k) const {
    for (const Field& f : fields_) {
      if (f.key == k) {
        return f.name;
      }
    }
    return "?";  // unreachable: every accessor is called with a key of fields_
  }

  Error bad(std::uint64_t k, const std::string& why) const {
    return malformed(type_, "field " + std::string(name_of(k)) + " " + why);
  }

  cbor::Value map_;
  FrameType type_;
  std::span<const Field> fields_;
};

// --- Per-message rules, shared by the encoder (kInvalidArgument) and decoder (kMalformed). ---

Result<void> check_position(FrameType type, const record::ChainPosition& p, std::string_view name) {
  if (p.seq == 0 && p.hash != kZeroHash) {
    return malformed(type, "field " + std::string(name) + " must be all zeros for an empty chain");
  }
  return success();
}

Result<void> check(const Hello& m) {
  if (m.protocol_version < 1) {
    return malformed(FrameType::kHello, "field version must be at least 1");
  }
  HOTLINE_TRY(check_position(FrameType::kHello, m.sender_chain, "own-hash"));
  return check_position(FrameType::kHello, m.receiver_chain, "peer-hash");
}

Result<void> check(const Entries& m) {
  if (m.items.empty() || m.items.size() > kMaxEntriesPerFrame) {
    return malformed(FrameType::kEntries, "field items holds " + std::to_string(m.items.size()) +
                                              " entries, not 1 to " +
                                              std::to_string(kMaxEntriesPerFrame));
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < m.items.size(); ++i) {
    const std::size_t size = m.items[i].size();
    if (size == 0 || size > record::kMaxSignedItemSize) {
      return malformed(FrameType::kEntries, "field items: item " + std::to_string(i) + " is " +
                                                std::to_string(size) + " bytes, not 1 to " +
                                                std::to_string(record::kMaxSignedItemSize));
    }
    total += size;
  }
  if (total > kMaxEntriesBytes) {
    return malformed(FrameType::kEntries, "field items totals " + std::to_string(total) +
                                              " bytes, above the limit of " +
                                              std::to_string(kMaxEntriesBytes));
  }
  return success();
}

Result<void> check_signed_item(FrameType type, const Bytes& item) {
  if (item.empty() || item.size() > record::kMaxSignedItemSize) {
    return malformed(type, "field item is " + std::to_string(item.size()) + " bytes, not 1 to " +
                               std::to_string(record::kMaxSignedItemSize));
  }
  return success();
}

Result<void> check(const Receipt& m) {
  return check_signed_item(FrameType::kReceipt, m.signed_receipt);
}

Result<void> check(const Checkpoint& m) {
  return check_signed_item(FrameType::kCheckpoint, m.signed_checkpoint);
}

Result<void> check(const Heartbeat& m) {
  if (m.time < 0) {
    return malformed(FrameType::kHeartbeat, "field time is before the epoch");
  }
  return success();
}

Result<void> check(const HeartbeatAck&) { return success(); }

Result<void> check(const ResendRequest& m) {
  if (m.from_seq == 0) {
    return malformed(FrameType::kResendRequest, "field from-seq must be at least 1");
  }
  return success();
}

// C0 controls, DEL and C1 controls (U+0080..U+009F, UTF-8 0xC2 0x80..0x9F): a peer's text ends
// up in logs and on consoles, where these could forge lines or drive a terminal.
bool has_control_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<std::uint8_t>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() &&
                    static_cast<std::uint8_t>(text[i + 1]) >= 0x80 &&
                    static_cast<std::uint8_t>(text[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) {
      return true;
    }
  }
  return false;
}

Result<void> check(const Goodbye& m) {
  if (m.text.size() > kMaxGoodbyeText) {
    return malformed(FrameType::kGoodbye, "field text is " + std::to_string(m.text.size()) +
                                              " bytes, above the limit of " +
                                              std::to_string(kMaxGoodbyeText));
  }
  if (has_control_character(m.text)) {
    return malformed(FrameType::kGoodbye, "field text contains a control character");
  }
  return success();
}

// --- Encoding: one function per message, fields in key order. ---

Bytes payload_of(const Hello& m) {
  cbor::MapWriter w(std::size(kHelloFields));
  w.uint(key(HelloKey::kVersion), m.protocol_version);
  w.bytes(key(HelloKey::kLine), m.line.bytes);
  w.bytes(key(HelloKey::kSender), m.sender.view());
  w.uint(key(HelloKey::kOwnSeq), m.sender_chain.seq);
  w.bytes(key(HelloKey::kOwnHash), m.sender_chain.hash);
  w.uint(key(HelloKey::kPeerSeq), m.receiver_chain.seq);
  w.bytes(key(HelloKey::kPeerHash), m.receiver_chain.hash);
  return w.take();
}

Bytes payload_of(const Entries& m) {
  cbor::MapWriter w(std::size(kEntriesFields));
  w.byte_strings(key(EntriesKey::kItems), m.items);
  return w.take();
}

Bytes signed_item_payload(const Bytes& item) {
  cbor::MapWriter w(std::size(kSignedItemFields));
  w.bytes(key(SignedItemKey::kItem), item);
  return w.take();
}

Bytes payload_of(const Receipt& m) { return signed_item_payload(m.signed_receipt); }
Bytes payload_of(const Checkpoint& m) { return signed_item_payload(m.signed_checkpoint); }

Bytes payload_of(const Heartbeat& m) {
  cbor::MapWriter w(std::size(kHeartbeatFields));
  w.uint(key(HeartbeatKey::kSeq), m.seq);
  w.uint(key(HeartbeatKey::kTime), static_cast<std::uint64_t>(m.time));
  return w.take();
}

Bytes payload_of(const HeartbeatAck& m) {
  cbor::MapWriter w(std::size(kHeartbeatAckFields));
  w.uint(key(HeartbeatAckKey::kSeq), m.seq);
  return w.take();
}

Bytes payload_of(const ResendRequest& m) {
  cbor::MapWriter w(std::size(kResendRequestFields));
  w.bytes(key(ResendRequestKey::kChainAuthor), m.chain_author.view());
  w.uint(key(ResendRequestKey::kFromSeq), m.from_seq);
  return w.take();
}

Bytes payload_of(const Goodbye& m) {
  cbor::MapWriter w(std::size(kGoodbyeFields));
  w.uint(key(GoodbyeKey::kReason), static_cast<std::uint64_t>(m.reason));
  w.text(key(GoodbyeKey::kText), m.text);
  return w.take();
}

// --- Decoding: one function per message; each ends with the same check as the encoder. ---

template <class M>
Result<Message> checked(M m) {
  HOTLINE_TRY(check(m));
  return Message(std::move(m));
}

Result<Message> read_hello(ByteView payload) {
  HOTLINE_ASSIGN(auto r, PayloadReader::open(payload, FrameType::kHello, kHelloFields));
  Hello m;
  HOTLINE_ASSIGN(m.protocol_version, r.uint(key(HelloKey::kVersion), kMaxU8));
  HOTLINE_ASSIGN(m.line.bytes, r.fixed<16>(key(HelloKey::kLine)));
  HOTLINE_ASSIGN(auto sender, r.fixed<crypto::kPublicKeySize>(key(HelloKey::kSender)));
  m.sender = record::PublicKey(sender);
  HOTLINE_ASSIGN(m.sender_chain.seq, r.uint(key(HelloKey::kOwnSeq), UINT64_MAX));
  HOTLINE_ASSIGN(m.sender_chain.hash, r.fixed<32>(key(HelloKey::kOwnHash)));
  HOTLINE_ASSIGN(m.receiver_chain.seq, r.uint(key(HelloKey::kPeerSeq), UINT64_MAX));
  HOTLINE_ASSIGN(m.receiver_chain.hash, r.fixed<32>(key(HelloKey::kPeerHash)));
  return checked(std::move(m));
}

// The one CBOR decoder builds the whole tree before the shape is checked: one 40-byte cbor::Value
// per element, each element at least one input byte. The worst ENTRIES payload (a megabyte of
// nested empty arrays) thus costs about 45 MB for the moment it takes to reject it; one frame is
// decoded at a time per connection.
Result<Message> read_entries(ByteView payload) {
  HOTLINE_ASSIGN(auto r, PayloadReader::open(payload, FrameType::kEntries, kEntriesFields));
  Entries m;
  HOTLINE_ASSIGN(m.items, r.byte_strings(key(EntriesKey::kItems)));
  return checked(std::move(m));
}

Result<Bytes> read_signed_item(ByteView payload, FrameType type) {
  HOTLINE_ASSIGN(auto r, PayloadReader::open(payload, type, kSignedItemFields));
  HOTLINE_ASSIGN(Bytes item, r.bytes(key(SignedItemKey::kItem)));
  HOTLINE_TRY(check_signed_item(type, item));
  return item;
}

Result<Message> read_heartbeat(ByteView payload) {
  HOTLINE_ASSIGN(auto r, PayloadReader::open(payload, FrameType::kHeartbeat, kHeartbeatFields));
  Heartbeat m;
  HOTLINE_ASSIGN(m.seq, r.uint(key(HeartbeatKey::kSeq), UINT64_MAX));
  HOTLINE_ASSIGN(std::uint64_t time, r.uint(key(HeartbeatKey::kTime), kMaxMicros));
  m.time = static_cast<Micros>(time);
  return checked(std::move(m));
}

Result<Message> read_heartbeat_ack(ByteView payload) {
  HOTLINE_ASSIGN(auto r,
                 PayloadReader::open(payload, FrameType::kHeartbeatAck, kHeartbeatAckFields));
  HeartbeatAck m;
  HOTLINE_ASSIGN(m.seq, r.uint(key(HeartbeatAckKey::kSeq), UINT64_MAX));
  return checked(std::move(m));
}

Result<Message> read_resend_request(ByteView payload) {
  HOTLINE_ASSIGN(auto r,
                 PayloadReader::open(payload, FrameType::kResendRequest, kResendRequestFields));
  ResendRequest m;
  HOTLINE_ASSIGN(auto author, r.fixed<crypto::kPublicKeySize>(key(ResendRequestKey::kChainAuthor)));
  m.chain_author = record::PublicKey(author);
  HOTLINE_ASSIGN(m.from_seq, r.uint(key(ResendRequestKey::kFromSeq), UINT64_MAX));
  return checked(std::move(m));
}

Result<Message> read_goodbye(ByteView payload) {
  HOTLINE_ASSIGN(auto r, PayloadReader::open(payload, FrameType::kGoodbye, kGoodbyeFields));
  Goodbye m;
  HOTLINE_ASSIGN(std::uint64_t reason, r.uint(key(GoodbyeKey::kReason), kMaxU8));
  m.reason = static_cast<GoodbyeReason>(reason);
  HOTLINE_ASSIGN(m.text, r.text(key(GoodbyeKey::kText)));
  return checked(std::move(m));
}

// The variant's alternatives are declared in FrameType order, starting at kHello = 1.
template <FrameType type, class M>
constexpr bool kAlternativeIs =
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(type) - 1, Message>, M>;
static_assert(kAlternativeIs<FrameType::kHello, Hello> &&
              kAlternativeIs<FrameType::kEntries, Entries> &&
              kAlternativeIs<FrameType::kReceipt, Receipt> &&
              kAlternativeIs<FrameType::kCheckpoint, Checkpoint> &&
              kAlternativeIs<FrameType::kHeartbeat, Heartbeat> &&
              kAlternativeIs<FrameType::kHeartbeatAck, HeartbeatAck> &&
              kAlternativeIs<FrameType::kResendRequest, ResendRequest> &&
              kAlternativeIs<FrameType::kGoodbye, Goodbye>);

}  // namespace

FrameType message_type(const Message& message) {
  return static_cast<FrameType>(message.index() + 1);
}

Result<Bytes> encode_message(const Message& message) {
  const FrameType type = message_type(message);
  Bytes payload;
  auto checked = std::visit(
      [&payload](const auto& m) -> Result<void> {
        HOTLINE_TRY(check(m));
        payload = payload_of(m);
        return success();
      },
      message);
  if (!checked) {
    return make_error(Errc::kInvalidArgument,
                      "refusing to send an invalid message: " + checked.error().message);
  }
  return encode_frame(type, payload);
}

Result<Message> decode_message(const Frame& frame) {
  if (frame.payload.size() > max_payload_size(frame.type)) {
    return malformed(frame.type, "payload of " + std::to_string(frame.payload.size()) +
                                     " bytes exceeds its limit");
  }
  switch (frame.type) {
    case FrameType::kHello:
      return read_hello(frame.payload);
    case FrameType::kEntries:
      return read_entries(frame.payload);
    case FrameType::kReceipt: {
      HOTLINE_ASSIGN(Bytes item, read_signed_item(frame.payload, frame.type));
      return Message(Receipt{std::move(item)});
    }
    case FrameType::kCheckpoint: {
      HOTLINE_ASSIGN(Bytes item, read_signed_item(frame.payload, frame.type));
      return Message(Checkpoint{std::move(item)});
    }
    case FrameType::kHeartbeat:
      return read_heartbeat(frame.payload);
    case FrameType::kHeartbeatAck:
      return read_heartbeat_ack(frame.payload);
    case FrameType::kResendRequest:
      return read_resend_request(frame.payload);
    case FrameType::kGoodbye:
      return read_goodbye(frame.payload);
  }
  return make_error(Errc::kMalformed,
                    "frame of unknown type " + std::to_string(static_cast<int>(frame.type)));
}

Goodbye make_goodbye(GoodbyeReason reason, std::string_view text) {
  Goodbye goodbye{reason, std::string(text.substr(0, kMaxGoodbyeText))};
  for (char& c : goodbye.text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7E) {  // also every byte of a multi-byte UTF-8 character
      c = '?';
    }
  }
  return goodbye;
}

Result<std::vector<record::SignedEntry>> decode_entries(const Entries& entries) {
  std::vector<record::SignedEntry> decoded;
  decoded.reserve(entries.items.size());
  for (std::size_t i = 0; i < entries.items.size(); ++i) {
    auto entry = record::decode_entry(entries.items[i]);
    if (!entry) {
      return make_error(entry.error().code,
                        "ENTRIES item " + std::to_string(i) + ": " + entry.error().message);
    }
    decoded.push_back(std::move(entry).value());
  }
  return decoded;
}

bool EntriesBatch::try_add(ByteView item) {
  if (item.empty() || item.size() > record::kMaxSignedItemSize ||
      entries_.items.size() >= kMaxEntriesPerFrame ||
      item.size() > kMaxEntriesBytes - total_bytes_) {
    return false;
  }
  entries_.items.emplace_back(item.begin(), item.end());
  total_bytes_ += item.size();
  return true;
}

Entries EntriesBatch::take() {
  Entries out = std::move(entries_);
  entries_ = Entries{};
  total_bytes_ = 0;
  return out;
}

}  // namespace hotline::link
