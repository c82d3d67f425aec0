// fuzz/frame_fuzzer.cc — libFuzzer target for the link's one frame parser and message decoder.
//
// Input: one byte that seeds the chunking, then a byte stream as a peer might send it. The
// stream is fed to a FrameReader in pseudo-random chunk sizes derived from the seed, draining
// after each chunk as the link does, and every frame is decoded as a message. Beyond "no crash,
// no leak, no undefined behaviour" it checks two properties:
// - chunking does not matter: the frames and the error are exactly those obtained by feeding the
//   whole stream at once;
// - decoding is exact: every accepted message re-encodes to the very bytes of its frame, so
//   the decoder accepts only the canonical form and the encoder produces it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "link/frame.h"
#include "link/messages.h"

namespace {

using hotline::ByteView;
using hotline::link::Frame;
using hotline::link::FrameReader;

struct Outcome {
  std::vector<Frame> frames;
  std::optional<std::string> error;
};

// Chunk sizes from a xorshift generator: mostly tiny (to split headers and CBOR items), now
// and then large (to put many frames in one chunk).
class ChunkSizes {
 public:
  explicit ChunkSizes(std::uint8_t seed) : state_(0x9E3779B9u ^ seed) {}
  std::size_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return (state_ & 0x100) != 0 ? 1 + state_ % 4096 : 1 + state_ % 16;
  }

 private:
  std::uint32_t state_;
};

// Feeds `stream` in chunks (all at once if `sizes` is null), draining after each chunk.
Outcome feed(ByteView stream, ChunkSizes* sizes) {
  FrameReader reader;
  Outcome out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n =
        sizes == nullptr ? stream.size() : std::min(sizes->next(), stream.size() - pos);
    reader.append(stream.subspan(pos, n));
    pos += n;
    for (;;) {
      auto next = reader.next();
      if (!next.ok()) {
        FUZZ_CHECK(reader.poisoned() && reader.buffered() == 0, "an error must poison the reader");
        out.error = next.error().message;
        return out;
      }
      if (!next->has_value()) {
        break;
      }
      out.frames.push_back(std::move(**next));
    }
  }
  FUZZ_CHECK(reader.buffered() == stream.size() - reader.offset(), "lost or invented bytes");
  return out;
}

void check_message(const Frame& frame) {
  auto message = hotline::link::decode_message(frame);
  if (!message.ok()) {
    FUZZ_CHECK(message.error().code == hotline::Errc::kMalformed, "decode errors are kMalformed");
    return;
  }
  FUZZ_CHECK(hotline::link::message_type(*message) == frame.type, "message of the wrong type");
  auto reencoded = hotline::link::encode_message(*message);
  FUZZ_CHECK(reencoded.ok(), "an accepted message must be sendable");
  auto original = hotline::link::encode_frame(frame.type, frame.payload);
  FUZZ_CHECK(original.ok() && *reencoded == *original, "re-encoding changed the frame's bytes");
  if (const auto* entries = std::get_if<hotline::link::Entries>(&*message)) {
    auto decoded = hotline::link::decode_entries(*entries);
    FUZZ_CHECK(decoded.ok() || decoded.error().message.rfind("ENTRIES item ", 0) == 0,
               "a bad entry must be named by its index");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  ChunkSizes sizes(data[0]);
  const ByteView stream(data + 1, size - 1);
  const Outcome chunked = feed(stream, &sizes);
  const Outcome whole = feed(stream, nullptr);
  FUZZ_CHECK(chunked.frames == whole.frames, "chunking changed the frames");
  FUZZ_CHECK(chunked.error == whole.error, "chunking changed the error");
  for (const Frame& frame : chunked.frames) {
    check_message(frame);
  }
  return 0;
}
