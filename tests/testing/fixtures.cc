#include "testing/fixtures.h"

namespace hotline::testing {

crypto::SigningKey key_from_byte(std::uint8_t n) {
  Bytes seed(32, n);
  return crypto::SigningKey::from_seed(seed).value();
}

TestLine::TestLine()
    : alpha(key_from_byte(1)),
      bravo(key_from_byte(2)),
      id(record::derive_line_id(alpha.public_key(), bravo.public_key(), "test line")) {}

const record::SignedEntry& TestLine::author(bool by_alpha, const std::string& text) {
  auto& own = by_alpha ? alpha_chain : bravo_chain;
  auto& other = by_alpha ? bravo_chain : alpha_chain;
  record::EntryFields fields;
  fields.line = id;
  fields.author = (by_alpha ? alpha : bravo).public_key();
  fields.seq = own.size() + 1;
  if (!own.empty()) {
    fields.prev = own.back().hash;
  }
  fields.time = clock += 1000;
  if (!other.empty()) {
    fields.cross = other.back().position();
  }
  fields.kind = "message";
  fields.body = cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}});
  own.push_back(record::sign_entry(by_alpha ? alpha : bravo, std::move(fields)).value());
  return own.back();
}

record::SignedReceipt TestLine::receipt(bool by_alpha) {
  auto& other = by_alpha ? bravo_chain : alpha_chain;
  record::ReceiptFields fields;
  fields.line = id;
  fields.signer = (by_alpha ? alpha : bravo).public_key();
  fields.chain_author = (by_alpha ? bravo : alpha).public_key();
  if (!other.empty()) {
    fields.held = other.back().position();
  }
  fields.time = clock += 1000;
  return record::sign_receipt(by_alpha ? alpha : bravo, fields).value();
}

record::SignedCheckpoint TestLine::checkpoint(bool by_alpha) {
  auto& own = by_alpha ? alpha_chain : bravo_chain;
  auto& other = by_alpha ? bravo_chain : alpha_chain;
  record::CheckpointFields fields;
  fields.line = id;
  fields.signer = (by_alpha ? alpha : bravo).public_key();
  if (!own.empty()) {
    fields.own = own.back().position();
  }
  if (!other.empty()) {
    fields.peer = other.back().position();
  }
  fields.time = clock += 1000;
  return record::sign_checkpoint(by_alpha ? alpha : bravo, fields).value();
}

}  // namespace hotline::testing
