// fuzz/entry_fuzzer.cc — libFuzzer target for the record's decoders: deterministic CBOR and the
// signed items (entries, receipts, checkpoints) that arrive from a peer in ENTRIES, RECEIPT and
// CHECKPOINT frames.
//
// Beyond "no crash, no leak, no undefined behaviour" it checks that decoding is exact, which is
// what lets a signature be checked over the bytes received (core/cbor.h):
// - for every input cbor::decode accepts, cbor::encode of the result is the input itself;
// - for every accepted signed item, sealing its payload and signature gives back the input, its
//   hash is SHA-256 of the input, and (for entries) re-encoding the decoded fields gives back the
//   signed payload byte for byte.
#include <cstddef>
#include <cstdint>

#include "core/cbor.h"
#include "crypto/hash.h"
#include "fuzz_check.h"
#include "record/checkpoint.h"
#include "record/entry.h"
#include "record/envelope.h"
#include "record/receipt.h"

namespace {

using hotline::Bytes;
using hotline::ByteView;

bool same(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

template <class Item>
void check_signed_item(const Item& item, ByteView input) {
  FUZZ_CHECK(same(item.signed_bytes, input), "signed bytes differ from the input");
  FUZZ_CHECK(
      same(hotline::record::seal_envelope(item.envelope.payload, item.envelope.signature), input),
      "sealing payload and signature does not give back the input");
  FUZZ_CHECK(item.hash == hotline::crypto::sha256(input), "item hash is not SHA-256 of the input");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);

  auto value = hotline::cbor::decode(input);
  if (value.ok()) {
    FUZZ_CHECK(same(hotline::cbor::encode(*value), input), "encode(decode(x)) != x");
  }

  auto entry = hotline::record::decode_entry(input);
  if (entry.ok()) {
    check_signed_item(*entry, input);
    FUZZ_CHECK(hotline::record::encode_entry_payload(entry->fields) == entry->envelope.payload,
               "re-encoding an entry's fields changed its payload");
    // Exercised for memory safety only: a random input's signature is almost never valid.
    (void)hotline::record::verify_entry_signature(*entry);
  }

  auto receipt = hotline::record::decode_receipt(input);
  if (receipt.ok()) {
    check_signed_item(*receipt, input);
    (void)hotline::record::verify_receipt_signature(*receipt);
  }

  auto checkpoint = hotline::record::decode_checkpoint(input);
  if (checkpoint.ok()) {
    check_signed_item(*checkpoint, input);
    (void)hotline::record::verify_checkpoint_signature(*checkpoint);
  }

  FUZZ_CHECK(int{entry.ok()} + int{receipt.ok()} + int{checkpoint.ok()} <= 1,
             "one signed item decoded as two kinds of object");
  return 0;
}
