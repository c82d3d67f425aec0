// link/messages.h — the link's messages as values, and their one encoder and one decoder.
//
// Each message is a plain struct; `Message` is any one of them. decode_message is the only
// function that turns a frame's payload into a message: it accepts exactly the canonical encoding
// of exactly the keys protocol.h lists for the frame's type, with the right types and sizes, and
// rejects everything else with an error (kMalformed) naming the message and the field. Because
// the encoding is canonical, encode_message(decode_message(f)) gives back f's bytes exactly.
//
// The codec checks form, not meaning: it does not verify signatures, compare the line id or the
// sender's key with the connection's, or check sequence numbers against the record. That is the
// link session's job, which also decides what each message may follow (docs/protocol.md §4).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "link/frame.h"
#include "link/protocol.h"
#include "record/entry.h"
#include "record/types.h"

namespace hotline::link {

// Opens a connection (both sides send one, first). The two heads tell each side what the other
// lacks, and whether the receiver has lost entries of its own chain (docs/protocol.md §4.2).
struct Hello {
  std::uint64_t protocol_version = kProtocolVersion;  // highest version the sender speaks, >= 1
  record::LineId line;
  record::PublicKey sender;
  record::ChainPosition sender_chain;    // head of the sender's own chain, as the sender holds it
  record::ChainPosition receiver_chain;  // head of the receiver's chain, as the sender holds it

  bool operator==(const Hello&) const = default;
};

// Signed entries of one chain, in ascending sequence order, as their exact signed bytes: the
// sender's own chain, or the receiver's own chain in answer to a ResendRequest. Build one with
// EntriesBatch so that it stays within the limits the receiver enforces.
struct Entries {
  std::vector<Bytes> items;

  bool operator==(const Entries&) const = default;
};

struct Receipt {
  Bytes signed_receipt;  // exact signed bytes of a record::SignedReceipt

  bool operator==(const Receipt&) const = default;
};

struct Checkpoint {
  Bytes signed_checkpoint;  // exact signed bytes of a record::SignedCheckpoint

  bool operator==(const Checkpoint&) const = default;
};

struct Heartbeat {
  std::uint64_t seq = 0;  // the sender's counter; echoed in the ack
  Micros time = 0;        // sender's clock when sent, >= 0

  bool operator==(const Heartbeat&) const = default;
};

struct HeartbeatAck {
  std::uint64_t seq = 0;  // the seq of the heartbeat answered

  bool operator==(const HeartbeatAck&) const = default;
};

// "Send me the entries of `chain_author`'s chain from `from_seq` on." Sent by a station that
// learnt from the peer's HELLO that its own chain is behind the peer's copy of it.
struct ResendRequest {
  record::PublicKey chain_author;
  std::uint64_t from_seq = 1;  // >= 1

  bool operator==(const ResendRequest&) const = default;
};

// Sent just before closing. `text` is for the log; it is untrusted input from the peer.
struct Goodbye {
  GoodbyeReason reason = GoodbyeReason::kClosing;  // may hold a value this code does not know
  std::string text;  // UTF-8, at most kMaxGoodbyeText bytes, no control characters

  bool operator==(const Goodbye&) const = default;
};

// A Goodbye that is always sendable: `text` (typically an Error's message, which may quote what
// the peer sent) with every byte outside printable ASCII replaced by '?', cut to kMaxGoodbyeText.
Goodbye make_goodbye(GoodbyeReason reason, std::string_view text);

using Message = std::variant<Hello, Entries, Receipt, Checkpoint, Heartbeat, HeartbeatAck,
                             ResendRequest, Goodbye>;

FrameType message_type(const Message& message);

// The whole frame carrying `message`. Fails (kInvalidArgument) if the message breaks a rule the
// decoder enforces (e.g. an empty or oversized batch, a too long goodbye text): what this station
// sends, its peer accepts.
[[nodiscard]] Result<Bytes> encode_message(const Message& message);

// The message a frame carries; kMalformed naming the message type and field otherwise.
[[nodiscard]] Result<Message> decode_message(const Frame& frame);

// Decodes every item of an ENTRIES message (structure only; signatures and chain order are the
// caller's to check). Fails (kMalformed) at the first bad item, naming its index from 0.
[[nodiscard]] Result<std::vector<record::SignedEntry>> decode_entries(const Entries& entries);

// Collects signed entries into one ENTRIES message without exceeding the limits of one frame.
class EntriesBatch {
 public:
  // Adds `item` if the batch stays within kMaxEntriesPerFrame and kMaxEntriesBytes; returns false
  // and changes nothing otherwise, meaning "send this batch first". An empty batch refuses only
  // an item that can never be sent: empty, or larger than record::kMaxSignedItemSize (which
  // record::sign_entry cannot make).
  bool try_add(ByteView item);
  bool empty() const { return entries_.items.empty(); }
  std::size_t size() const { return entries_.items.size(); }
  std::size_t total_bytes() const { return total_bytes_; }
  // The batch as a message; the batch is empty afterwards.
  Entries take();

 private:
  Entries entries_;
  std::size_t total_bytes_ = 0;
};

}  // namespace hotline::link
