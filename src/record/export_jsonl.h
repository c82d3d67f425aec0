// record/export_jsonl.h — the JSON Lines export of a record (docs/record-format.md §Export).
//
// Each line is one JSON object. Every signed item carries its exact signed bytes in base64
// ("signed"); the other fields are decoded copies for people and scripts, and a verifier checks
// that they agree with the signed bytes. Line headers ("type": "line") name each line's parties
// and name, from which anyone can re-derive the line id.
#pragma once

#include <istream>
#include <string>

#include "record/record_verifier.h"

namespace hotline::record {

std::string export_line_header(const LineHeader& header);
std::string export_entry(const SignedEntry& entry);
std::string export_receipt(const SignedReceipt& receipt);
std::string export_checkpoint(const SignedCheckpoint& checkpoint);

// Reads an export, one item per line, and verifies it. Blank lines are not allowed; every line
// counts as one item, numbered from 1, so that findings name the line of the file.
VerifySummary verify_export(std::istream& in, unsigned threads);

}  // namespace hotline::record
