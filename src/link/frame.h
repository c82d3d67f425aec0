// link/frame.h — splitting a byte stream into frames, and writing one frame.
//
// FrameReader is the one place where frames are parsed (style.md: one frame parser). It does no
// I/O: the connection feeds it whatever each read returned and takes out complete frames, so it
// can be tested byte by byte and fuzzed without a socket.
//
// Guarantees:
// - A frame comes out only when all of its bytes have arrived; chunk boundaries never matter.
// - The length, version and type are checked as soon as their bytes arrive, before any of the
//   body is waited for: a peer announcing 4 GiB is refused after 4 bytes. The reader never
//   allocates according to a length it was sent; its buffer grows only with bytes received.
// - After the first error the reader is poisoned: it returns that error forever and drops
//   further input, because the stream can no longer be trusted to be in step (the connection is
//   then closed, after a GOODBYE).
#pragma once

#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "core/result.h"
#include "link/protocol.h"

namespace hotline::link {

struct Frame {
  FrameType type = FrameType::kHello;
  Bytes payload;  // at most max_payload_size(type) bytes; not yet decoded

  bool operator==(const Frame&) const = default;
};

// The bytes of one frame: length prefix, version kProtocolVersion, `type`, `payload`.
// Fails (kInvalidArgument) if `payload` is larger than max_payload_size(type).
[[nodiscard]] Result<Bytes> encode_frame(FrameType type, ByteView payload);

class FrameReader {
 public:
  // Buffers `bytes`. Call next() until it returns nullopt before appending more: the buffer then
  // never holds more than one incomplete frame plus the latest chunk. Ignored once poisoned.
  void append(ByteView bytes);

  // The next complete frame; nullopt if more bytes are needed; an error (kMalformed) naming the
  // rule broken and the stream offset of the bad frame if the stream is invalid.
  [[nodiscard]] Result<std::optional<Frame>> next();

  // Bytes received but not yet returned as frames. Non-zero when the peer closes the connection
  // means it closed in the middle of a frame.
  std::size_t buffered() const { return buffer_.size() - pos_; }
  bool poisoned() const { return error_.has_value(); }
  // Stream offset of the first byte not yet returned as part of a frame.
  std::uint64_t offset() const { return consumed_ + pos_; }

 private:
  Error poison(const std::string& what);
  void compact();

  Bytes buffer_;
  std::size_t pos_ = 0;         // start of the first unreturned frame within buffer_
  std::uint64_t consumed_ = 0;  // stream offset of buffer_[0]
  std::optional<Error> error_;  // set once: the reader is poisoned
};

}  // namespace hotline::link
