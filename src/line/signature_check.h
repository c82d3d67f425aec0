// line/signature_check.h — checking a batch of received entries' signatures on two cores.
//
// One Ed25519 verification per entry is what bounds how fast a station can receive
// (docs/benchmarks.md), so a batch of more than a few is split between the calling thread and one
// helper thread kept for the life of the process (starting a thread per batch costs more than
// checking a few signatures).
#pragma once

#include <vector>

#include "record/entry.h"

namespace hotline::line {

// Whether each entry carries its author's valid signature (1) or not (0), in order.
std::vector<char> check_entry_signatures(const std::vector<record::SignedEntry>& entries);

}  // namespace hotline::line
