// station/procedure_json.h — how the procedure is shown to clients of the control socket (and
// later the API): requests, messages, decision drafts and notices as JSON (docs/cli.md).
#pragma once

#include <nlohmann/json.hpp>

#include "station/line_desk.h"

namespace hotline::station {

nlohmann::json request_json(const LineDesk& desk, const procedure::Request& request);
// The request in one line of `status` (design.md §6): id, line, direction, state, kind, topic,
// precedence, awaiting, and the deadline that matters now: the acknowledgement deadline until it
// is acknowledged or that deadline passed, then the response deadline; null once decided.
nlohmann::json request_summary_json(const LineDesk& desk, const procedure::Request& request);
nlohmann::json message_json(const LineDesk& desk, const procedure::EntryRef& id,
                            const procedure::MessageBody& body, Micros sent_at);
nlohmann::json draft_json(const store::DecisionDraft& draft);
nlohmann::json notice_json(const store::NoticeRow& notice);
nlohmann::json link_tests_json(const LinkTestStatus& tests);
// The line's report (procedure/report.h) for the requests authored in [from, to), from the record
// the desk holds: the same at both stations but for "seen_from".
nlohmann::json line_report_json(const LineDesk& desk, Micros from, Micros to);

}  // namespace hotline::station
