#include "testing/fixtures.h"

#include <sqlite3.h>

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
  return author_entry(by_alpha, "message",
                      cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}}),
                      clock += 1000);
}

const record::SignedEntry& TestLine::author_entry(bool by_alpha, std::string kind, cbor::Value body,
                                                  Micros time) {
  auto& own = by_alpha ? alpha_chain : bravo_chain;
  auto& other = by_alpha ? bravo_chain : alpha_chain;
  record::EntryFields fields;
  fields.line = id;
  fields.author = (by_alpha ? alpha : bravo).public_key();
  fields.seq = own.size() + 1;
  if (!own.empty()) {
    fields.prev = own.back().hash;
  }
  fields.time = time;
  if (!other.empty()) {
    fields.cross = other.back().position();
  }
  fields.kind = std::move(kind);
  fields.body = std::move(body);
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

std::string sql_value(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value = "(error)";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK) {
      value = "(none)";
      if (sqlite3_step(statement) == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(statement, 0);
        value = text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
      }
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return value;
}

}  // namespace hotline::testing
