#include "store/sqlite_tables.h"

#include <algorithm>
#include <limits>
#include <string>

#include "crypto/hash.h"

namespace hotline::store::tables {
namespace {

template <std::size_t N>
bool copy_exact(const Bytes& from, std::array<std::uint8_t, N>& to) {
  if (from.size() != N) {
    return false;
  }
  std::copy(from.begin(), from.end(), to.begin());
  return true;
}

bool same_bytes(const Bytes& a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

std::string chain_name(const LineId& line, const PublicKey& author) {
  return "chain " + record::short_fingerprint(author) + " on line " + line.hex();
}

Error corrupt(const Connection& db, const std::string& what) {
  return make_error(Errc::kCorrupt, db.path() + ": " + what);
}

const char* evidence_kind_text(Evidence::Kind kind) {
  return kind == Evidence::Kind::kEquivocation ? "equivocation" : "divergence";
}

// Identifies a piece of evidence for deduplication: kind, culprit, seq and both items, each of
// fixed size or length-prefixed so that no two different pieces share an encoding.
crypto::Hash evidence_digest(const Evidence& evidence) {
  std::array<std::uint8_t, 17> numbers{};
  numbers[0] = evidence.kind == Evidence::Kind::kEquivocation ? 1 : 2;
  for (int i = 0; i < 8; ++i) {
    numbers[1 + i] = static_cast<std::uint8_t>(evidence.seq >> (56 - 8 * i));
    numbers[9 + i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(evidence.first.size()) >>
                                               (56 - 8 * i));
  }
  return crypto::sha256({ByteView(numbers), evidence.culprit.view(), ByteView(evidence.first),
                         ByteView(evidence.second)});
}

// Receipts and checkpoints are stored the same way: checks that a row's signed bytes decode to the
// item the row describes.
template <class Item>
Result<Item> check_stored(const Connection& db, Result<Item> decoded, const Bytes& row_hash,
                          const LineId& line, const std::string& what) {
  if (!decoded.ok()) {
    return corrupt(db, what + " does not decode: " + decoded.error().message);
  }
  if (decoded->fields.line != line || !same_bytes(row_hash, decoded->hash)) {
    return corrupt(db, what + " holds another item than its row says");
  }
  return decoded;
}

// A row of (id, name, local_key, peer_key).
Result<LineParties> line_from_row(const Connection& db, const Statement& row) {
  LineParties line;
  bool id_ok = copy_exact(row.column_blob(0), line.id.bytes);
  line.name = row.column_text(1);
  auto local = PublicKey::from_bytes(row.column_blob(2));
  auto peer = PublicKey::from_bytes(row.column_blob(3));
  if (!id_ok || !local.ok() || !peer.ok()) {
    return corrupt(db, "line \"" + line.name + "\" has a malformed id or key");
  }
  line.local = *local;
  line.peer = *peer;
  return line;
}

}  // namespace

// --- lines --------------------------------------------------------------------------------------

Result<std::optional<LineParties>> find_line(Connection& db, const LineId& line) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT id, name, local_key, peer_key FROM lines WHERE id = ?1"));
  query->bind_blob(1, line.bytes);
  HOTLINE_ASSIGN(bool found, query->step());
  if (!found) {
    return std::optional<LineParties>();
  }
  HOTLINE_ASSIGN(LineParties parties, line_from_row(db, *query));
  return std::optional<LineParties>(std::move(parties));
}

Result<void> require_line(Connection& db, const LineId& line) {
  HOTLINE_ASSIGN(StatementUse query, db.statement("SELECT 1 FROM lines WHERE id = ?1"));
  query->bind_blob(1, line.bytes);
  HOTLINE_ASSIGN(bool found, query->step());
  if (!found) {
    return make_error(Errc::kNotFound, db.path() + ": no line " + line.hex());
  }
  return success();
}

Result<void> insert_line(Connection& db, const LineParties& line) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO lines (id, name, local_key, peer_key) "
                              "VALUES (?1, ?2, ?3, ?4)"));
  insert->bind_blob(1, line.id.bytes)
      .bind_text(2, line.name)
      .bind_blob(3, line.local.view())
      .bind_blob(4, line.peer.view());
  return insert->run();
}

Result<std::vector<LineParties>> select_lines(Connection& db) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT id, name, local_key, peer_key FROM lines ORDER BY rowid"));
  std::vector<LineParties> lines;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return lines;
    }
    HOTLINE_ASSIGN(LineParties line, line_from_row(db, *query));
    lines.push_back(std::move(line));
  }
}

// --- entries ------------------------------------------------------------------------------------

Result<ChainHead> select_head(Connection& db, const LineId& line, const PublicKey& author) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT seq, hash, time FROM entries WHERE line = ?1 AND author = ?2 "
                              "ORDER BY seq DESC LIMIT 1"));
  query->bind_blob(1, line.bytes).bind_blob(2, author.view());
  HOTLINE_ASSIGN(bool has_row, query->step());
  ChainHead head;
  if (!has_row) {
    return head;
  }
  head.position.seq = static_cast<std::uint64_t>(query->column_int(0));
  head.time = query->column_int(2);
  if (!copy_exact(query->column_blob(1), head.position.hash)) {
    return corrupt(db, "the head of " + chain_name(line, author) + " has a malformed hash");
  }
  return head;
}

Result<void> require_held(Connection& db, const LineId& line, const PublicKey& author,
                          std::uint64_t seq) {
  HOTLINE_ASSIGN(ChainHead head, select_head(db, line, author));
  if (head.position.seq < seq) {
    return make_error(Errc::kBrokenChain, db.path() + ": a receipt for seq " + std::to_string(seq) +
                                              " of a chain held only to seq " +
                                              std::to_string(head.position.seq));
  }
  return success();
}

Result<void> insert_entry(Connection& db, const SignedEntry& entry, Micros received_at) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO entries (line, author, seq, hash, signed, time, kind, "
                              "received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  const record::EntryFields& fields = entry.fields;
  insert->bind_blob(1, fields.line.bytes)
      .bind_blob(2, fields.author.view())
      .bind_int(3, clamp_to_int64(fields.seq))
      .bind_blob(4, entry.hash)
      .bind_blob(5, entry.signed_bytes)
      .bind_int(6, fields.time)
      .bind_text(7, fields.kind)
      .bind_int(8, received_at);
  return insert->run();
}

Result<std::vector<SignedEntry>> select_entries(Connection& db, const LineId& line,
                                                const PublicKey& author, std::uint64_t from_seq,
                                                std::size_t limit) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT seq, hash, signed FROM entries WHERE line = ?1 AND "
                              "author = ?2 AND seq >= ?3 ORDER BY seq LIMIT ?4"));
  query->bind_blob(1, line.bytes)
      .bind_blob(2, author.view())
      .bind_int(3, clamp_to_int64(from_seq))
      .bind_int(4, clamp_to_int64(limit));
  std::vector<SignedEntry> entries;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return entries;
    }
    auto seq = static_cast<std::uint64_t>(query->column_int(0));
    Bytes hash = query->column_blob(1);
    Bytes signed_bytes = query->column_blob(2);
    std::string what = "stored entry " + std::to_string(seq) + " of " + chain_name(line, author);
    auto decoded = record::decode_entry(signed_bytes);
    if (!decoded.ok()) {
      return corrupt(db, what + " does not decode: " + decoded.error().message);
    }
    const record::EntryFields& fields = decoded->fields;
    if (fields.line != line || fields.author != author || fields.seq != seq ||
        !same_bytes(hash, decoded->hash)) {
      return corrupt(db, what + " holds another entry than its row says");
    }
    entries.push_back(std::move(decoded).value());
  }
}

// --- receipts and checkpoints -------------------------------------------------------------------

Result<void> insert_receipt(Connection& db, const SignedReceipt& receipt, Micros received_at) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO receipts (line, signer, chain_author, held_seq, hash, "
                              "signed, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                              "ON CONFLICT (hash) DO NOTHING"));
  const record::ReceiptFields& fields = receipt.fields;
  insert->bind_blob(1, fields.line.bytes)
      .bind_blob(2, fields.signer.view())
      .bind_blob(3, fields.chain_author.view())
      .bind_int(4, clamp_to_int64(fields.held.seq))
      .bind_blob(5, receipt.hash)
      .bind_blob(6, receipt.signed_bytes)
      .bind_int(7, received_at);
  return insert->run();
}

Result<std::vector<SignedReceipt>> select_receipts(Connection& db, const LineId& line) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT id, hash, signed FROM receipts WHERE line = ?1 ORDER BY id"));
  query->bind_blob(1, line.bytes);
  std::vector<SignedReceipt> receipts;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return receipts;
    }
    std::string what = "stored receipt " + std::to_string(query->column_int(0));
    Bytes signed_bytes = query->column_blob(2);
    HOTLINE_ASSIGN(SignedReceipt receipt, check_stored(db, record::decode_receipt(signed_bytes),
                                                       query->column_blob(1), line, what));
    receipts.push_back(std::move(receipt));
  }
}

Result<void> insert_checkpoint(Connection& db, const SignedCheckpoint& checkpoint,
                               Micros received_at) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO checkpoints (line, signer, own_seq, peer_seq, hash, "
                              "signed, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                              "ON CONFLICT (hash) DO NOTHING"));
  const record::CheckpointFields& fields = checkpoint.fields;
  insert->bind_blob(1, fields.line.bytes)
      .bind_blob(2, fields.signer.view())
      .bind_int(3, clamp_to_int64(fields.own.seq))
      .bind_int(4, clamp_to_int64(fields.peer.seq))
      .bind_blob(5, checkpoint.hash)
      .bind_blob(6, checkpoint.signed_bytes)
      .bind_int(7, received_at);
  return insert->run();
}

Result<std::vector<SignedCheckpoint>> select_checkpoints(Connection& db, const LineId& line) {
  HOTLINE_ASSIGN(
      StatementUse query,
      db.statement("SELECT id, hash, signed FROM checkpoints WHERE line = ?1 ORDER BY id"));
  query->bind_blob(1, line.bytes);
  std::vector<SignedCheckpoint> checkpoints;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return checkpoints;
    }
    std::string what = "stored checkpoint " + std::to_string(query->column_int(0));
    Bytes signed_bytes = query->column_blob(2);
    HOTLINE_ASSIGN(SignedCheckpoint checkpoint,
                   check_stored(db, record::decode_checkpoint(signed_bytes), query->column_blob(1),
                                line, what));
    checkpoints.push_back(std::move(checkpoint));
  }
}

// --- evidence -----------------------------------------------------------------------------------

Result<void> insert_evidence(Connection& db, const Evidence& evidence, Micros recorded_at) {
  HOTLINE_ASSIGN(StatementUse insert,
                 db.statement("INSERT INTO evidence (line, kind, culprit, seq, detail, first_item, "
                              "second_item, digest, recorded_at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                              "ON CONFLICT (digest) DO NOTHING"));
  insert->bind_blob(1, evidence.line.bytes)
      .bind_text(2, evidence_kind_text(evidence.kind))
      .bind_blob(3, evidence.culprit.view())
      .bind_int(4, clamp_to_int64(evidence.seq))
      .bind_text(5, evidence.detail)
      .bind_blob(6, evidence.first)
      .bind_blob(7, evidence.second)
      .bind_blob(8, evidence_digest(evidence))
      .bind_int(9, recorded_at);
  return insert->run();
}

Result<std::vector<Evidence>> select_evidence(Connection& db, const LineId& line) {
  HOTLINE_ASSIGN(StatementUse query,
                 db.statement("SELECT id, kind, culprit, seq, detail, first_item, second_item, "
                              "recorded_at FROM evidence WHERE line = ?1 ORDER BY id"));
  query->bind_blob(1, line.bytes);
  std::vector<Evidence> found;
  for (;;) {
    HOTLINE_ASSIGN(bool has_row, query->step());
    if (!has_row) {
      return found;
    }
    Evidence evidence;
    evidence.line = line;
    evidence.kind = query->column_text(1) == "equivocation" ? Evidence::Kind::kEquivocation
                                                            : Evidence::Kind::kDivergence;
    auto culprit = PublicKey::from_bytes(query->column_blob(2));
    if (!culprit.ok()) {
      return corrupt(db, "stored evidence " + std::to_string(query->column_int(0)) +
                             " has a malformed culprit key");
    }
    evidence.culprit = *culprit;
    evidence.seq = static_cast<std::uint64_t>(query->column_int(3));
    evidence.detail = query->column_text(4);
    evidence.first = query->column_blob(5);
    evidence.second = query->column_blob(6);
    evidence.recorded_at = query->column_int(7);
    found.push_back(std::move(evidence));
  }
}

}  // namespace hotline::store::tables
