#include "link/frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace hotline::link {
namespace {

Bytes header(std::uint32_t length, std::uint8_t version, std::uint8_t type) {
  return {static_cast<std::uint8_t>(length >> 24),
          static_cast<std::uint8_t>(length >> 16),
          static_cast<std::uint8_t>(length >> 8),
          static_cast<std::uint8_t>(length),
          version,
          type};
}

Bytes frame_bytes(FrameType type, const Bytes& payload) {
  return encode_frame(type, payload).value();
}

// Feeds `stream` in chunks of `chunk` bytes, draining after each, and returns every frame, or
// the first error's message.
struct Drained {
  std::vector<Frame> frames;
  std::string error;
};

Drained feed(const Bytes& stream, std::size_t chunk) {
  FrameReader reader;
  Drained out;
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    const std::size_t n = std::min(chunk, stream.size() - i);
    reader.append(ByteView(stream).subspan(i, n));
    for (;;) {
      auto next = reader.next();
      if (!next) {
        out.error = next.error().message;
        return out;
      }
      if (!next->has_value()) {
        break;
      }
      out.frames.push_back(std::move(**next));
    }
  }
  return out;
}

std::string first_error(const Bytes& stream) { return feed(stream, stream.size()).error; }

// --- Rejections: each rule of frame.h, with a stream that must fail. ---

TEST(FrameReader, RejectsZeroLength) {
  EXPECT_NE(first_error(header(0, 1, 1)).find("length 0 is below the minimum of 2"),
            std::string::npos);
}

TEST(FrameReader, RejectsLengthOne) {
  EXPECT_NE(first_error({0, 0, 0, 1, 1}).find("length 1 is below"), std::string::npos);
}

TEST(FrameReader, RejectsOversizedLengthAfterOnlyTheLengthPrefix) {
  FrameReader reader;
  const Bytes prefix{0xFF, 0xFF, 0xFF, 0xFF};
  reader.append(prefix);  // no body at all: the length alone condemns the frame
  auto next = reader.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, Errc::kMalformed);
  EXPECT_NE(next.error().message.find("length 4294967295 exceeds the limit"), std::string::npos);
}

TEST(FrameReader, RejectsLengthJustAboveTheLimit) {
  const auto length = static_cast<std::uint32_t>(kMaxFrameLength + 1);
  EXPECT_NE(first_error(header(length, 1, 2)).find("exceeds the limit"), std::string::npos);
}

TEST(FrameReader, RejectsUnknownVersionBeforeTheType) {
  EXPECT_NE(first_error({0, 0, 0, 2, 2}).find("version 2 is not supported"), std::string::npos);
  EXPECT_NE(first_error(header(2, 0, 1)).find("version 0 is not supported"), std::string::npos);
}

TEST(FrameReader, RejectsUnknownTypes) {
  EXPECT_NE(first_error(header(2, 1, 0)).find("type 0 is unknown"), std::string::npos);
  EXPECT_NE(first_error(header(2, 1, 9)).find("type 9 is unknown"), std::string::npos);
  EXPECT_NE(first_error(header(2, 1, 255)).find("type 255 is unknown"), std::string::npos);
}

TEST(FrameReader, RejectsAControlFrameLargerThanItsTypeAllows) {
  // A heartbeat announcing a megabyte is refused on its header, not after buffering it.
  const auto length = static_cast<std::uint32_t>(2 + kMaxControlPayload + 1);
  const std::string error = first_error(header(length, 1, 5));
  EXPECT_NE(error.find("HEARTBEAT payload of 513 bytes exceeds its limit of 512"),
            std::string::npos);
}

TEST(FrameReader, RejectsAReceiptLargerThanOneSignedItem) {
  const auto length = static_cast<std::uint32_t>(2 + kMaxSignedItemPayload + 1);
  EXPECT_NE(first_error(header(length, 1, 3)).find("RECEIPT payload"), std::string::npos);
}

TEST(FrameReader, NamesTheStreamOffsetOfTheBadFrame) {
  Bytes stream = frame_bytes(FrameType::kHeartbeatAck, {0xA1, 0x01, 0x00});  // 9 bytes
  const Bytes bad = header(0, 1, 1);
  stream.insert(stream.end(), bad.begin(), bad.end());
  const Drained drained = feed(stream, 1);
  EXPECT_EQ(drained.frames.size(), 1u);
  EXPECT_NE(drained.error.find("frame at stream offset 9:"), std::string::npos);
}

TEST(FrameReader, StaysPoisonedAndDropsInputAfterAnError) {
  FrameReader reader;
  reader.append(header(0, 1, 1));
  ASSERT_FALSE(reader.next().ok());
  EXPECT_TRUE(reader.poisoned());
  reader.append(frame_bytes(FrameType::kHeartbeatAck, {0xA1, 0x01, 0x00}));
  EXPECT_EQ(reader.buffered(), 0u);
  auto again = reader.next();
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("length 0"), std::string::npos);
}

TEST(FrameReader, NeverBuffersMoreThanItWasGiven) {
  // A valid length near the limit with no body: nothing is allocated for the announced size.
  FrameReader reader;
  reader.append(header(static_cast<std::uint32_t>(kMaxFrameLength), 1, 2));
  auto next = reader.next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(reader.buffered(), 6u);
}

TEST(EncodeFrame, RefusesAPayloadAboveItsTypesLimit) {
  const Bytes big(kMaxControlPayload + 1, 0);
  auto frame = encode_frame(FrameType::kHello, big);
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(encode_frame(FrameType::kEntries, big).ok());
}

// --- Partial input: a frame comes out only when complete, whatever the chunking. ---

TEST(FrameReader, WaitsForATruncatedPayloadSpreadOverManyChunks) {
  const Bytes payload(1000, 0x42);
  const Bytes full = frame_bytes(FrameType::kEntries, payload);
  FrameReader reader;
  for (std::size_t i = 0; i + 1 < full.size(); i += 7) {
    reader.append(ByteView(full).subspan(i, std::min<std::size_t>(7, full.size() - 1 - i)));
    auto next = reader.next();
    ASSERT_TRUE(next.ok());
    ASSERT_FALSE(next->has_value()) << "a frame came out before its last byte";
  }
  EXPECT_EQ(reader.buffered(), full.size() - 1);  // the link reports this as a cut mid-frame
  reader.append(ByteView(full).subspan(full.size() - 1));
  auto last = reader.next();
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->payload, payload);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameReader, SplitsSeveralFramesFedByteByByte) {
  const std::vector<Frame> frames = {
      {FrameType::kHello, Bytes(40, 1)},
      {FrameType::kHeartbeat, {}},
      {FrameType::kEntries, Bytes(3000, 2)},
      {FrameType::kGoodbye, Bytes(5, 3)},
  };
  Bytes stream;
  for (const Frame& f : frames) {
    const Bytes b = frame_bytes(f.type, f.payload);
    stream.insert(stream.end(), b.begin(), b.end());
  }
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{4096}}) {
    const Drained drained = feed(stream, chunk);
    EXPECT_EQ(drained.error, "") << "chunk " << chunk;
    EXPECT_EQ(drained.frames, frames) << "chunk " << chunk;
  }
}

TEST(FrameReader, TracksTheStreamOffsetAcrossFrames) {
  FrameReader reader;
  const Bytes a = frame_bytes(FrameType::kHeartbeat, Bytes(10, 0));
  reader.append(a);
  reader.append(a);
  ASSERT_TRUE(reader.next()->has_value());
  EXPECT_EQ(reader.offset(), a.size());
  ASSERT_TRUE(reader.next()->has_value());
  EXPECT_FALSE(reader.next()->has_value());
  EXPECT_EQ(reader.offset(), 2 * a.size());
}

TEST(EncodeFrame, WritesLengthVersionTypePayload) {
  EXPECT_EQ(frame_bytes(FrameType::kHeartbeatAck, {0xA1, 0x01, 0x07}),
            (Bytes{0, 0, 0, 5, 1, 6, 0xA1, 0x01, 0x07}));
}

TEST(EncodeFrame, AcceptsTheLargestEntriesPayload) {
  const Bytes payload(kMaxEntriesPayload, 0);
  const Bytes frame = frame_bytes(FrameType::kEntries, payload);
  const Drained drained = feed(frame, 65536);
  EXPECT_EQ(drained.error, "");
  ASSERT_EQ(drained.frames.size(), 1u);
  EXPECT_EQ(drained.frames[0].payload.size(), kMaxEntriesPayload);
}

TEST(Protocol, NamesEveryTypeAndMapsOnlyKnownBytes) {
  EXPECT_EQ(frame_type_name(FrameType::kResendRequest), "RESEND_REQUEST");
  EXPECT_EQ(frame_type_from_byte(0), std::nullopt);
  EXPECT_EQ(frame_type_from_byte(8), FrameType::kGoodbye);
  EXPECT_EQ(frame_type_from_byte(9), std::nullopt);
  EXPECT_EQ(goodbye_reason_name(static_cast<GoodbyeReason>(200)), "unknown");
  EXPECT_EQ(goodbye_reason_for(Errc::kBadSignature), GoodbyeReason::kBadSignature);
  EXPECT_EQ(goodbye_reason_for(Errc::kIo), GoodbyeReason::kInternal);
}

}  // namespace
}  // namespace hotline::link
