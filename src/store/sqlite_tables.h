// store/sqlite_tables.h — how each record item is written to and read from its table.
//
// These functions run on the connection they are given: the writer's, inside its transaction, or
// the reader's. They check nothing about the record beyond what a row needs; the chain rule is
// the writer's (sqlite_record_store.cc). Items are read back by decoding their stored exact signed
// bytes (record::decode_*); a row that does not decode, or decodes to another place than its row
// says, is kCorrupt, naming the database and the row.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "store/record_store.h"
#include "store/sqlite_connection.h"

namespace hotline::store::tables {

[[nodiscard]] Result<std::optional<LineParties>> find_line(Connection& db, const LineId& line);
// kNotFound, naming the line, unless it was added.
[[nodiscard]] Result<void> require_line(Connection& db, const LineId& line);
[[nodiscard]] Result<void> insert_line(Connection& db, const LineParties& line);
// In the order they were added.
[[nodiscard]] Result<std::vector<LineParties>> select_lines(Connection& db);

// kBrokenChain unless the chain holds `seq`: a receipt is never stored without its entries.
[[nodiscard]] Result<void> require_held(Connection& db, const LineId& line, const PublicKey& author,
                                        std::uint64_t seq);
// The last stored entry of a chain, or seq 0 with the zero hash.
[[nodiscard]] Result<ChainHead> select_head(Connection& db, const LineId& line,
                                            const PublicKey& author);
[[nodiscard]] Result<void> insert_entry(Connection& db, const SignedEntry& entry,
                                        Micros received_at);
[[nodiscard]] Result<std::vector<SignedEntry>> select_entries(Connection& db, const LineId& line,
                                                              const PublicKey& author,
                                                              std::uint64_t from_seq,
                                                              std::size_t limit);

// Inserting an item already stored (same signed bytes) does nothing and succeeds.
[[nodiscard]] Result<void> insert_receipt(Connection& db, const SignedReceipt& receipt,
                                          Micros received_at);
[[nodiscard]] Result<std::vector<SignedReceipt>> select_receipts(Connection& db,
                                                                 const LineId& line);
[[nodiscard]] Result<void> insert_checkpoint(Connection& db, const SignedCheckpoint& checkpoint,
                                             Micros received_at);
[[nodiscard]] Result<std::vector<SignedCheckpoint>> select_checkpoints(Connection& db,
                                                                       const LineId& line);
// The same evidence (kind, culprit, seq and both items) is kept once; `recorded_at` replaces the
// caller's stamp.
[[nodiscard]] Result<void> insert_evidence(Connection& db, const Evidence& evidence,
                                           Micros recorded_at);
[[nodiscard]] Result<std::vector<Evidence>> select_evidence(Connection& db, const LineId& line);

}  // namespace hotline::store::tables
