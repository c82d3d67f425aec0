// integration/record_checks.h — reading and comparing the records of stopped stations.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/station_process.h"
#include "record/entry.h"

namespace hotline::testing {

// The chain `author_fingerprint` signed on the station's one line, read from its database (the
// station should be stopped, or the read may miss its last writes).
std::vector<record::SignedEntry> read_chain(const StationProcess& station,
                                            const std::string& author_fingerprint);

// A message entry's text ({1: text}); empty for anything else.
std::string text_of(const record::SignedEntry& entry);
std::vector<std::string> texts(const std::vector<record::SignedEntry>& chain);
// prefix + from, …, prefix + (to - 1).
std::vector<std::string> numbered(const std::string& prefix, int from, int to);

// From a line of `status`: the peer's chain as held, and our chain as the peer's receipts cover.
std::uint64_t peer_seq(const nlohmann::json& line);
std::uint64_t receipted(const nlohmann::json& line);

// Both copies of each chain are byte for byte the same, and `hotline verify` passes on both
// databases (which also reports any evidence of equivocation either station holds).
void expect_identical_and_verified(const StationProcess& a, const StationProcess& b);

}  // namespace hotline::testing
