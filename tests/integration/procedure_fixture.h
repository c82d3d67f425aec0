// integration/procedure_fixture.h — two real stations on loopback, each with its people, driven
// through the `hotline` command line as their duty officers would (issue 5).
//
// Alpha dials bravo through a fault proxy, so that a test can pull the cable; both run with
// `serve --test-clock`, so that a test makes hours pass with `hotline clock advance` instead of
// sleeping. The clocks are always moved together unless a test says otherwise.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/hotline_process.h"
#include "integration/station_process.h"
#include "testing/fault_proxy.h"
#include "testing/temp_dir.h"

namespace hotline::testing {

inline const std::string kLine = "alpha-bravo";

class ProcedureTest : public ::testing::Test {
 protected:
  // Alpha's people: ann (operator), paul (principal), ivan (interpreter), otto (auditor);
  // bravo's: bob (operator), bea (principal), irina (interpreter), olga (auditor).
  void SetUp() override;

  // Adds the line at both stations (`line_flags` go to both `line add`, `alpha_only` to alpha's
  // too), starts both with the test clock and waits until the line is open.
  void start(const std::vector<std::string>& line_flags = {},
             const std::vector<std::string>& alpha_only = {});

  // `hotline ARGS --dir DIR --json` at `station`; expects exit code `expected_exit` and returns
  // what it printed, parsed (null if not JSON).
  nlohmann::json cli(const StationProcess& station, std::vector<std::string> args,
                     int expected_exit = 0);
  // The request `id` as `station` shows it ({"request"}'s value).
  nlohmann::json request(const StationProcess& station, const std::string& id);
  std::string state(const StationProcess& station, const std::string& id);
  // Waits until `station` shows request `id` in `state`; true if it does.
  bool reaches(const StationProcess& station, const std::string& id, const std::string& state);
  // The notices of `station` about `subject` (all of them if empty), as kinds.
  std::vector<std::string> notice_kinds(const StationProcess& station, const std::string& subject);
  bool has_notice(const StationProcess& station, const std::string& subject,
                  const std::string& kind);
  // Moves both stations' test clocks forward by `by` (e.g. "2h").
  void advance_both(const std::string& by);
  // A request from alpha (ann) to bravo: returns its id once bravo's station has recorded its
  // delivery and alpha holds that entry.
  std::string request_from_alpha(const std::string& topic,
                                 const std::vector<std::string>& more_flags = {});

  TempDir root_;
  StationProcess alpha_{root_.path(), "alpha", 0x11};
  StationProcess bravo_{root_.path(), "bravo", 0x22};
  std::unique_ptr<FaultProxy> cable_;  // alpha's only route to bravo
};

}  // namespace hotline::testing
