// store/record_export.h — a station's record as items: exported as JSON Lines, or verified.
//
// Both walk the store in the same order (for each line: header, the two chains in ascending
// order of their authors' keys, receipts, checkpoints), so that `hotline verify --dir` and
// `hotline verify FILE` apply identical rules to identical items.
#pragma once

#include <optional>
#include <ostream>

#include "record/record_verifier.h"
#include "store/record_store.h"

namespace hotline::store {

struct ExportCounts {
  std::size_t lines = 0;
  std::size_t items = 0;
};

// Writes the record (one line, or all) as JSON Lines. kNotFound for an unknown line.
[[nodiscard]] Result<ExportCounts> export_record(store::RecordStore& store,
                                                 const std::optional<record::LineId>& line,
                                                 std::ostream& out);

// Verifies every line of the store, and reports any evidence of equivocation or divergence the
// station holds as a finding.
[[nodiscard]] Result<record::VerifySummary> verify_store(store::RecordStore& store,
                                                         unsigned threads);

}  // namespace hotline::store
