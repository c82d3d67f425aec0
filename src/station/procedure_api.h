// station/procedure_api.h — the procedure's endpoints on the control socket (docs/cli.md, "The
// procedure"): requests and their steps, decision drafts (two-person rule), FLASH acknowledgements,
// translations, notices, the report, and the test clock.
//
// Every action names the user it is taken for (`as`), whose role is checked first (people.h);
// then the line's desk applies the procedure's rules (line_desk.h). Refusals answer 409 with the
// reason, bad input 400 naming the field, unknown lines, requests or drafts 404, and a line that
// has not connected since the station started 503.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "core/clock.h"
#include "station/control_socket.h"
#include "station/line_desk.h"
#include "store/record_store.h"

namespace hotline::station {

class ProcedureApi {
 public:
  // `test_clock` is null unless the station runs with `serve --test-clock`; `clock_moved` is
  // called after it was advanced.
  ProcedureApi(store::RecordStore& store, std::map<std::string, LineDesk*> desks,
               ShiftedClock* test_clock, std::function<void(Micros offset)> clock_moved);

  // Answers `request` if `path` is one of the procedure's endpoints; returns false otherwise.
  bool handle(const ControlRequest& request, const std::string& path, ControlResponder& respond);

 private:
  void line_endpoint(LineDesk& desk, const ControlRequest& request,
                     const std::vector<std::string>& parts, ControlResponder& respond);
  void create_request(LineDesk& desk, const std::string& body, ControlResponder respond);
  void step(LineDesk& desk, const std::string& id, const std::string& step_name,
            const std::string& body, ControlResponder respond);
  void clock(const ControlRequest& request, ControlResponder& respond);

  store::RecordStore& store_;
  std::map<std::string, LineDesk*> desks_;
  ShiftedClock* test_clock_;
  std::function<void(Micros)> clock_moved_;
};

// A response with a JSON body, and one with {"error": message} and the status for its code.
ControlResponse json_response(int status, const nlohmann::json& body);
ControlResponse error_response(const Error& error);

}  // namespace hotline::station
