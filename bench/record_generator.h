// bench/record_generator.h — a large, sound record of one line, written as a JSON Lines export.
//
// The record looks like a busy line: the two stations author alternately, every entry
// cross-links the other chain, each station signs a receipt for the other's chain every
// kReceiptEvery of its own entries, and one checkpoint closes it. The file is laid out as
// `hotline export` lays out a station's record (station/record_export.h): the line header, the
// two chains in ascending order of their authors' keys, the receipts, the checkpoint.
#pragma once

#include <cstdint>
#include <string>

#include "bench/scratch_dir.h"

namespace hotline::bench {

struct GeneratedRecord {
  std::uint64_t entries = 0;
  std::uint64_t receipts = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t file_bytes = 0;
  double seconds = 0;  // to sign everything and write the file
  unsigned signer_threads = 0;
};

// Writes a record of `entries` entries (at least 2) to `dir`/`name`, using `dir` for its parts.
// Exits the program on failure.
GeneratedRecord write_record_export(const ScratchDir& dir, const std::string& name,
                                    std::uint64_t entries);

}  // namespace hotline::bench
