// integration/station_process.h — a real `hotline serve` process for multi-station tests.
//
// Each StationProcess is one data directory and, while started, one `hotline serve` child whose
// output goes to DIR/../NAME.log. Tests drive it as an operator would (the CLI and the control
// socket), kill it with SIGKILL, restart it, and read its record back from disk afterwards.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hotline::testing {

// A TCP port on 127.0.0.1, below the ephemeral range, that was free a moment ago.
std::uint16_t free_port();

// Calls `done` until it returns true or `timeout` passes; returns its last answer. What a test
// waits for is an event in another process, so a deadline is the only way to notice it never
// comes; the check itself is what the test asserts, never the time it took.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

class StationProcess {
 public:
  // `seed_byte` makes the identity deterministic (init --seed-hex).
  StationProcess(std::string root, std::string name, std::uint8_t seed_byte,
                 std::string listen_host = "127.0.0.1");
  ~StationProcess();  // kills the child if still running

  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }
  std::string log_path() const;
  std::string log() const;
  std::string listen() const;  // host:port
  std::uint16_t listen_port() const { return port_; }
  std::uint16_t api_port() const { return api_port_; }  // the HTTP API, on 127.0.0.1
  std::string fingerprint() const { return fingerprint_; }
  std::string seed_hex() const;

  // `hotline init`, then remembers the fingerprint.
  void init();
  // `hotline line add` (routes may be empty: the peer dials).
  void add_line(const std::string& line, const std::string& peer_fingerprint,
                const std::vector<std::string>& routes,
                const std::vector<std::string>& more_flags = {});
  // Flags added to `hotline serve` from the next start on (e.g. "--test-clock").
  void set_serve_flags(std::vector<std::string> flags) { serve_flags_ = std::move(flags); }

  // Starts `hotline serve` and waits until its control socket answers.
  void start();
  void kill9();
  void terminate();  // SIGTERM and wait
  bool running() const { return pid_ > 0; }

  // Over the control socket. Throws std::runtime_error if the station does not answer 2xx.
  nlohmann::json status() const;
  // Returns the answer: {"status": "authored", "seq"} or {"status": "queued", "draft"}.
  // With `wait_seconds`, the station answers once the peer's receipt is stored ("receipted").
  nlohmann::json send(const std::string& line, const std::string& precedence,
                      const std::string& text, double wait_seconds = 0) const;
  // The status of one line.
  nlohmann::json line_status(const std::string& line) const;

 private:
  std::string root_;
  std::string name_;
  std::uint8_t seed_byte_;
  std::string host_;
  std::uint16_t port_;
  std::uint16_t api_port_;
  std::string dir_;
  std::string fingerprint_;
  std::vector<std::string> serve_flags_;
  pid_t pid_ = -1;
};

}  // namespace hotline::testing
