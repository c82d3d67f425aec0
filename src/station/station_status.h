// station/station_status.h — a line as `hotline status` and the API show it (docs/cli.md,
// docs/api.yaml).
#pragma once

#include <nlohmann/json.hpp>

#include "line/line_link.h"
#include "station/config.h"
#include "station/line_desk.h"

namespace hotline::station {

// Everything about the line: state, route, both chains' heads, receipts, round trip, the peer's
// clock offset, the outbox by precedence, each route's history, the requests by state, link tests
// and the link's counters.
nlohmann::json line_status_json(const line::LineLink& link, const LineDesk& desk);

// Only its health, for every role (administrators included): whether and how it is connected,
// and its link tests; no requests, no content.
nlohmann::json line_health_json(const line::LineLink& link, const LineDesk& desk,
                                const LineConfig& config);

}  // namespace hotline::station
