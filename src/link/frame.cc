#include "link/frame.h"

#include <string>

namespace hotline::link {
namespace {

constexpr std::size_t kVersionOffset = kLengthPrefixSize;
constexpr std::size_t kTypeOffset = kLengthPrefixSize + 1;
constexpr std::size_t kHeaderSize = kLengthPrefixSize + 2;  // prefix, version, type

std::uint32_t read_u32_be(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void write_u32_be(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

}  // namespace

Result<Bytes> encode_frame(FrameType type, ByteView payload) {
  const std::size_t limit = max_payload_size(type);
  if (payload.size() > limit) {
    return make_error(Errc::kInvalidArgument, std::string(frame_type_name(type)) + " payload of " +
                                                  std::to_string(payload.size()) +
                                                  " bytes exceeds its limit of " +
                                                  std::to_string(limit));
  }
  Bytes out;
  out.reserve(kHeaderSize + payload.size());
  write_u32_be(out, static_cast<std::uint32_t>(kMinFrameLength + payload.size()));
  out.push_back(kProtocolVersion);
  out.push_back(static_cast<std::uint8_t>(type));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void FrameReader::append(ByteView bytes) {
  if (poisoned()) {
    return;  // the connection is being closed; keeping its bytes would only cost memory
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Error FrameReader::poison(const std::string& what) {
  error_ = make_error(Errc::kMalformed,
                      "frame at stream offset " + std::to_string(offset()) + ": " + what);
  consumed_ += pos_;
  buffer_.clear();
  buffer_.shrink_to_fit();
  pos_ = 0;
  return *error_;
}

// Drops the bytes of frames already returned, so that the buffer holds only the incomplete
// frame. Done only when waiting for more input, so that draining many frames from one large
// chunk does not move the rest of the chunk once per frame.
void FrameReader::compact() {
  consumed_ += pos_;
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
  pos_ = 0;
}

Result<std::optional<Frame>> FrameReader::next() {
  if (error_) {
    return *error_;
  }
  const std::size_t available = buffer_.size() - pos_;
  const std::uint8_t* head = buffer_.data() + pos_;
  if (available < kLengthPrefixSize) {
    compact();
    return std::optional<Frame>();
  }
  // Each field is checked as soon as its bytes are here, before waiting for the rest.
  const std::uint32_t length = read_u32_be(head);
  if (length < kMinFrameLength) {
    return poison("length " + std::to_string(length) + " is below the minimum of " +
                  std::to_string(kMinFrameLength) + " (version and type)");
  }
  if (length > kMaxFrameLength) {
    return poison("length " + std::to_string(length) + " exceeds the limit of " +
                  std::to_string(kMaxFrameLength));
  }
  if (available > kVersionOffset && head[kVersionOffset] != kProtocolVersion) {
    return poison("version " + std::to_string(head[kVersionOffset]) + " is not supported (" +
                  std::to_string(kProtocolVersion) + " is)");
  }
  if (available < kHeaderSize) {
    compact();
    return std::optional<Frame>();
  }
  const std::optional<FrameType> type = frame_type_from_byte(head[kTypeOffset]);
  if (!type) {
    return poison("type " + std::to_string(head[kTypeOffset]) + " is unknown");
  }
  const std::size_t payload_size = length - kMinFrameLength;
  if (payload_size > max_payload_size(*type)) {
    return poison(std::string(frame_type_name(*type)) + " payload of " +
                  std::to_string(payload_size) + " bytes exceeds its limit of " +
                  std::to_string(max_payload_size(*type)));
  }
  if (available < kLengthPrefixSize + length) {
    compact();
    return std::optional<Frame>();
  }
  Frame frame;
  frame.type = *type;
  frame.payload.assign(head + kHeaderSize, head + kLengthPrefixSize + length);
  pos_ += kLengthPrefixSize + length;
  if (pos_ == buffer_.size()) {
    compact();  // cheap: nothing left to move
  }
  return std::optional<Frame>(std::move(frame));
}

}  // namespace hotline::link
