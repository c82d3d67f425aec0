// station/record_api.h — the record of a line, page by page, verified as it is read
// (GET /v1/lines/{line}/record on the control socket, /api/v1/… over the API; docs/api.yaml).
//
// A page is up to `limit` entries of one chain (ours, "own", or the peer's, "peer") from seq
// `from`, each as the export writes it (docs/record-format.md §Export: the exact signed bytes and
// their decoded fields) plus what this station knows of it: whether its signature and its link to
// the entry before it check out now, read back from the disk ("verified"), and for our own entries
// whether the peer's receipt covers it ("receipted"). Checking costs one signature verification
// per entry, about 50 µs, so a page of the maximum 500 entries takes some 25 ms.
#pragma once

#include <cstdint>
#include <string>

#include "station/control_socket.h"
#include "store/record_store.h"

namespace hotline::station {

inline constexpr std::size_t kMaxRecordPage = 500;

// The page the query asks for ("chain=own|peer&from=N&limit=N", each optional: own, 1, 100).
// 400 naming a malformed parameter.
ControlResponse record_page(store::RecordStore& store, const store::LineParties& line,
                            std::uint64_t own_receipted, const std::string& query);

// The value of `key` in a query string ("a=1&b=2"), or nullopt if it is absent. Values are used
// as sent (no percent-decoding): the parameters read this way are names and numbers.
std::optional<std::string> query_parameter(const std::string& query, const std::string& key);

}  // namespace hotline::station
