#include "link/messages.h"

#include <gtest/gtest.h>

#include "core/cbor.h"
#include "record/checkpoint.h"
#include "record/receipt.h"
#include "testing/fixtures.h"

namespace hotline::link {
namespace {

using cbor::Value;

Value u(std::uint64_t v) { return Value::uint(v); }
Value b(std::size_t size, std::uint8_t fill = 0) { return Value::bytes(Bytes(size, fill)); }

// A well-formed HELLO payload as a map, for tests to break one field at a time.
cbor::Map hello_map() {
  return {{u(1), u(1)},     {u(2), b(16, 7)}, {u(3), b(32, 9)}, {u(4), u(5)},
          {u(5), b(32, 1)}, {u(6), u(0)},     {u(7), b(32)}};
}

Result<Message> decode(FrameType type, const Value& payload) {
  return decode_message(Frame{type, cbor::encode(payload)});
}

Result<Message> decode(FrameType type, const cbor::Map& map) {
  return decode(type, Value::map(map));
}

// The error message of decoding, which must fail as kMalformed.
std::string rejection(const Result<Message>& decoded) {
  EXPECT_FALSE(decoded.ok());
  if (decoded.ok()) {
    return "";
  }
  EXPECT_EQ(decoded.error().code, Errc::kMalformed);
  return decoded.error().message;
}

#define EXPECT_REJECTED(decoded, text) \
  EXPECT_NE(rejection(decoded).find(text), std::string::npos) << rejection(decoded)

// Sends `message` through the real path: encode, a FrameReader, decode.
Message round_trip(const Message& message) {
  const Bytes wire = encode_message(message).value();
  FrameReader reader;
  reader.append(wire);
  auto frame = reader.next();
  EXPECT_TRUE(frame.ok() && frame->has_value());
  EXPECT_EQ((*frame)->type, message_type(message));
  Message decoded = decode_message(**frame).value();
  EXPECT_EQ(encode_message(decoded).value(), wire) << "re-encoding changed the bytes";
  return decoded;
}

// --- HELLO: every field rule. ---

TEST(DecodeHello, RejectsAMissingKey) {
  cbor::Map m = hello_map();
  m.erase(m.begin() + 2);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO payload lacks field sender (key 3)");
  m = hello_map();
  m.pop_back();
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO payload lacks field peer-hash (key 7)");
}

TEST(DecodeHello, RejectsAnExtraKey) {
  cbor::Map m = hello_map();
  m.emplace_back(u(8), u(0));
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO payload has an unexpected key 8");
  m = hello_map();
  m.emplace_back(u(0), u(0));
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO payload has an unexpected key 0");
  m = hello_map();
  m.emplace_back(Value::text("x"), u(0));
  EXPECT_REJECTED(decode(FrameType::kHello, m), "unexpected key that is not an unsigned integer");
}

TEST(DecodeHello, RejectsWrongSizes) {
  cbor::Map m = hello_map();
  m[1].second = b(15);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field line must be 16 bytes, not 15");
  m = hello_map();
  m[2].second = b(33);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field sender must be 32 bytes, not 33");
  m = hello_map();
  m[4].second = b(31);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field own-hash must be 32 bytes");
}

TEST(DecodeHello, RejectsWrongTypes) {
  cbor::Map m = hello_map();
  m[3].second = b(8);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field own-seq is not an unsigned integer");
  m = hello_map();
  m[1].second = Value::text("0123456789abcdef");
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field line is not a byte string");
  m = hello_map();
  m[5].second = Value::integer(-1);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "field peer-seq is not an unsigned integer");
}

TEST(DecodeHello, RejectsVersionsOutsideOneTo255) {
  cbor::Map m = hello_map();
  m[0].second = u(0);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field version must be at least 1");
  m[0].second = u(256);
  EXPECT_REJECTED(decode(FrameType::kHello, m), "HELLO field version is 256, above its limit");
}

TEST(DecodeHello, RejectsAHashForAnEmptyChain) {
  cbor::Map m = hello_map();
  m[6].second = b(32, 1);  // peer-seq is 0
  EXPECT_REJECTED(decode(FrameType::kHello, m), "field peer-hash must be all zeros");
}

TEST(DecodeMessage, RejectsTrailingGarbageInsideThePayload) {
  Bytes payload = cbor::encode(Value::map(hello_map()));
  payload.push_back(0x00);
  EXPECT_REJECTED(decode_message(Frame{FrameType::kHello, payload}),
                  "HELLO payload: CBOR: 1 trailing byte(s)");
}

TEST(DecodeMessage, RejectsATruncatedPayload) {
  Bytes payload = cbor::encode(Value::map(hello_map()));
  payload.resize(payload.size() - 1);
  EXPECT_REJECTED(decode_message(Frame{FrameType::kHello, payload}), "HELLO payload: CBOR:");
  EXPECT_REJECTED(decode_message(Frame{FrameType::kHeartbeat, {}}),
                  "HEARTBEAT payload: CBOR: unexpected end of input");
}

TEST(DecodeMessage, RejectsNonCanonicalCbor) {
  // HEARTBEAT_ACK {1: 1} with the value written in two bytes (0x18 0x01) instead of one.
  EXPECT_REJECTED(decode_message(Frame{FrameType::kHeartbeatAck, {0xA1, 0x01, 0x18, 0x01}}),
                  "not in its shortest form");
}

TEST(DecodeMessage, RejectsAPayloadThatIsNotAMap) {
  EXPECT_REJECTED(decode(FrameType::kHeartbeatAck, Value::array({u(1)})),
                  "HEARTBEAT_ACK payload is not a map");
}

// --- ENTRIES ---

TEST(DecodeEntries, RejectsAnEmptyBatch) {
  EXPECT_REJECTED(decode(FrameType::kEntries, {{u(1), Value::array({})}}),
                  "ENTRIES field items holds 0 entries, not 1 to 1024");
}

TEST(DecodeEntries, RejectsTooManyEntries) {
  cbor::Array items(kMaxEntriesPerFrame + 1, b(1));
  EXPECT_REJECTED(decode(FrameType::kEntries, {{u(1), Value::array(items)}}), "holds 1025 entries");
}

TEST(DecodeEntries, RejectsEmptyAndNonByteStringItems) {
  EXPECT_REJECTED(decode(FrameType::kEntries, {{u(1), Value::array({b(5), b(0)})}}),
                  "ENTRIES field items: item 1 is 0 bytes");
  EXPECT_REJECTED(decode(FrameType::kEntries, {{u(1), Value::array({b(5), u(3)})}}),
                  "ENTRIES field items: item 1 is not a byte string");
  EXPECT_REJECTED(decode(FrameType::kEntries, {{u(1), b(5)}}), "field items is not an array");
}

TEST(DecodeEntries, RejectsAnItemLargerThanASignedItem) {
  EXPECT_REJECTED(
      decode(FrameType::kEntries, {{u(1), Value::array({b(record::kMaxSignedItemSize + 1)})}}),
      "item 0 is 262145 bytes");
}

TEST(DecodeEntries, RejectsABatchAboveItsTotalSize) {
  // Within the frame's payload limit, but 1,049,600 bytes of items.
  cbor::Array items(kMaxEntriesPerFrame, b(1025));
  const Bytes payload = cbor::encode(Value::map({{u(1), Value::array(items)}}));
  ASSERT_LE(payload.size(), kMaxEntriesPayload);
  EXPECT_REJECTED(decode_message(Frame{FrameType::kEntries, payload}),
                  "ENTRIES field items totals 1049600 bytes, above the limit of 1048576");
}

TEST(DecodeEntries, NamesTheIndexOfABadEntry) {
  testing::TestLine line;
  Entries entries{{line.author(true, "one").signed_bytes, Bytes{0x82, 0x40}}};
  auto decoded = decode_entries(entries);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Errc::kMalformed);
  EXPECT_NE(decoded.error().message.find("ENTRIES item 1: "), std::string::npos);
}

// --- The other messages' rules. ---

TEST(DecodeSignedItems, RejectEmptyOrMistypedItems) {
  EXPECT_REJECTED(decode(FrameType::kReceipt, {{u(1), b(0)}}), "RECEIPT field item is 0 bytes");
  EXPECT_REJECTED(decode(FrameType::kCheckpoint, {{u(1), Value::text("x")}}),
                  "CHECKPOINT field item is not a byte string");
  EXPECT_REJECTED(decode(FrameType::kReceipt, {{u(1), b(4)}, {u(2), b(4)}}),
                  "RECEIPT payload has an unexpected key 2");
}

TEST(DecodeHeartbeat, RejectsATimeBeyondInt64) {
  EXPECT_REJECTED(decode(FrameType::kHeartbeat, {{u(1), u(1)}, {u(2), u(1ULL << 63)}}),
                  "HEARTBEAT field time is 9223372036854775808, above its limit");
}

TEST(DecodeResendRequest, RejectsSequenceZeroAndShortKeys) {
  EXPECT_REJECTED(decode(FrameType::kResendRequest, {{u(1), b(32)}, {u(2), u(0)}}),
                  "RESEND_REQUEST field from-seq must be at least 1");
  EXPECT_REJECTED(decode(FrameType::kResendRequest, {{u(1), b(31)}, {u(2), u(4)}}),
                  "RESEND_REQUEST field chain-author must be 32 bytes, not 31");
}

TEST(DecodeGoodbye, RejectsLongTextControlCharactersAndWideReasons) {
  EXPECT_REJECTED(decode(FrameType::kGoodbye, {{u(1), u(1)}, {u(2), Value::text("a\nb")}}),
                  "GOODBYE field text contains a control character");
  EXPECT_REJECTED(decode(FrameType::kGoodbye, {{u(1), u(1)}, {u(2), Value::text("\xC2\x9B")}}),
                  "control character");
  EXPECT_REJECTED(
      decode(FrameType::kGoodbye, {{u(1), u(1)}, {u(2), Value::text(std::string(257, 'x'))}}),
      "GOODBYE field text is 257 bytes, above the limit of 256");
  EXPECT_REJECTED(decode(FrameType::kGoodbye, {{u(1), u(256)}, {u(2), Value::text("")}}),
                  "GOODBYE field reason is 256");
}

TEST(DecodeGoodbye, KeepsAReasonThisCodeDoesNotKnow) {
  auto decoded = decode(FrameType::kGoodbye, {{u(1), u(200)}, {u(2), Value::text("später")}});
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto& goodbye = std::get<Goodbye>(*decoded);
  EXPECT_EQ(goodbye_reason_name(goodbye.reason), "unknown");
  EXPECT_EQ(goodbye.text, "später");
}

// --- Encoding refuses what decoding would reject. ---

TEST(EncodeMessage, RefusesWhatThePeerWouldReject) {
  const std::vector<Message> invalid = {
      Entries{},
      Entries{{Bytes{}}},
      Receipt{},
      Goodbye{GoodbyeReason::kMalformed, "line one\nline two"},
      Goodbye{GoodbyeReason::kMalformed, std::string(kMaxGoodbyeText + 1, 'x')},
      ResendRequest{record::PublicKey(), 0},
      Heartbeat{1, -5},
      Hello{0, {}, {}, {}, {}},
  };
  for (const Message& m : invalid) {
    auto wire = encode_message(m);
    ASSERT_FALSE(wire.ok()) << frame_type_name(message_type(m));
    EXPECT_EQ(wire.error().code, Errc::kInvalidArgument);
    EXPECT_NE(wire.error().message.find(frame_type_name(message_type(m))), std::string::npos);
  }
}

TEST(MakeGoodbye, AlwaysMakesASendableMessage) {
  const Goodbye g =
      make_goodbye(GoodbyeReason::kMalformed, "bad\n\x1b[31m k\xC3\xA4se " + std::string(400, 'x'));
  EXPECT_EQ(g.text.size(), kMaxGoodbyeText);
  EXPECT_EQ(g.text.substr(0, 16), "bad??[31m k??se ");
  EXPECT_TRUE(encode_message(g).ok());
}

TEST(EntriesBatch, StopsAtTheCountAndByteLimits) {
  EntriesBatch batch;
  const Bytes small(10, 1);
  for (std::size_t i = 0; i < kMaxEntriesPerFrame; ++i) {
    ASSERT_TRUE(batch.try_add(small));
  }
  EXPECT_FALSE(batch.try_add(small));
  EXPECT_TRUE(encode_message(batch.take()).ok());
  EXPECT_TRUE(batch.empty());

  const Bytes largest(record::kMaxSignedItemSize, 2);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(batch.try_add(largest));
  }
  EXPECT_FALSE(batch.try_add(small));  // exactly 1 MiB already
  EXPECT_EQ(batch.total_bytes(), kMaxEntriesBytes);
  EXPECT_TRUE(encode_message(batch.take()).ok());

  EXPECT_FALSE(batch.try_add(Bytes{}));
  EXPECT_FALSE(batch.try_add(Bytes(record::kMaxSignedItemSize + 1, 0)));
  EXPECT_TRUE(batch.empty());
}

// --- Round trips through encode, FrameReader and decode, for every message. ---

TEST(RoundTrip, Hello) {
  testing::TestLine line;
  const auto& e = line.author(true, "hello");
  const Hello hello{1, line.id, line.alpha.public_key(), e.position(), {}};
  EXPECT_EQ(std::get<Hello>(round_trip(hello)), hello);
}

TEST(RoundTrip, EntriesOfRealSignedEntries) {
  testing::TestLine line;
  EntriesBatch batch;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(batch.try_add(line.author(true, "entry " + std::to_string(i)).signed_bytes));
  }
  const Entries sent = batch.take();
  const Entries received = std::get<Entries>(round_trip(sent));
  EXPECT_EQ(received, sent);
  auto entries = decode_entries(received);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries->size(), 20u);
  for (std::size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].fields.seq, i + 1);
    EXPECT_TRUE(record::verify_entry_signature((*entries)[i]));
  }
}

TEST(RoundTrip, ReceiptAndCheckpoint) {
  testing::TestLine line;
  line.author(true, "one");
  const Receipt receipt{line.receipt(false).signed_bytes};
  const Checkpoint checkpoint{line.checkpoint(true).signed_bytes};
  const Receipt got_receipt = std::get<Receipt>(round_trip(receipt));
  EXPECT_EQ(got_receipt, receipt);
  EXPECT_TRUE(record::decode_receipt(got_receipt.signed_receipt).ok());
  const Checkpoint got_checkpoint = std::get<Checkpoint>(round_trip(checkpoint));
  EXPECT_EQ(got_checkpoint, checkpoint);
  EXPECT_TRUE(record::decode_checkpoint(got_checkpoint.signed_checkpoint).ok());
}

TEST(RoundTrip, HeartbeatsResendRequestAndGoodbye) {
  const std::vector<Message> messages = {
      Heartbeat{0, 0},
      Heartbeat{UINT64_MAX, 1'700'000'000'000'000},
      HeartbeatAck{42},
      ResendRequest{testing::key_from_byte(3).public_key(), 101},
      Goodbye{GoodbyeReason::kBrokenChain, "entry 7 does not follow entry 5"},
      Goodbye{GoodbyeReason::kClosing, ""},
  };
  for (const Message& m : messages) {
    EXPECT_EQ(round_trip(m), m) << frame_type_name(message_type(m));
  }
}

TEST(RoundTrip, SeveralMessagesFedByteByByte) {
  const std::vector<Message> messages = {HeartbeatAck{1}, Heartbeat{2, 3},
                                         Goodbye{GoodbyeReason::kClosing, "bye"}};
  Bytes stream;
  for (const Message& m : messages) {
    const Bytes wire = encode_message(m).value();
    stream.insert(stream.end(), wire.begin(), wire.end());
  }
  FrameReader reader;
  std::vector<Message> received;
  for (std::uint8_t byte : stream) {
    reader.append(ByteView(&byte, 1));
    auto frame = reader.next();
    ASSERT_TRUE(frame.ok());
    if (frame->has_value()) {
      received.push_back(decode_message(**frame).value());
    }
  }
  EXPECT_EQ(received, messages);
}

TEST(MessageType, FollowsTheVariantOrder) {
  EXPECT_EQ(message_type(Hello{}), FrameType::kHello);
  EXPECT_EQ(message_type(Entries{}), FrameType::kEntries);
  EXPECT_EQ(message_type(ResendRequest{}), FrameType::kResendRequest);
  EXPECT_EQ(message_type(Goodbye{}), FrameType::kGoodbye);
}

}  // namespace
}  // namespace hotline::link
