// testing/fixtures.h — deterministic keys and records for tests.
#pragma once

#include <string>
#include <vector>

#include "crypto/identity.h"
#include "record/checkpoint.h"
#include "record/entry.h"
#include "record/receipt.h"

namespace hotline::testing {

// A key whose seed is 32 copies of `n`; the same in every run.
crypto::SigningKey key_from_byte(std::uint8_t n);

// A line between two deterministic stations, with helpers to author entries on either side.
struct TestLine {
  TestLine();

  crypto::SigningKey alpha;
  crypto::SigningKey bravo;
  record::LineId id;
  std::vector<record::SignedEntry> alpha_chain;
  std::vector<record::SignedEntry> bravo_chain;
  Micros clock = 1'700'000'000'000'000;

  // Authors the next entry of the chain of `alpha` (or bravo), cross-linking the other chain's
  // latest entry, with a text body.
  const record::SignedEntry& author(bool by_alpha, const std::string& text);
  // The same with any kind and body, authored at `time`.
  const record::SignedEntry& author_entry(bool by_alpha, std::string kind, cbor::Value body,
                                          Micros time);
  record::SignedReceipt receipt(bool by_alpha);  // signer acknowledges the other chain's head
  record::SignedCheckpoint checkpoint(bool by_alpha);
};

// The first column of the first row of `sql` run on the SQLite database at `path` (read-only), as
// text: "(none)" without a row, "NULL" for a null, "(error)" if it cannot run.
std::string sql_value(const std::string& path, const std::string& sql);

}  // namespace hotline::testing
