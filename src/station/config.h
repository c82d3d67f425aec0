// station/config.h — hotline.toml: the station and its lines (design.md §1, §6).
//
// The file has a [station] table and one [[line]] table per line; every key has a default except
// the ones that identify something (a line's name, peer and routes). Loading is strict: an unknown
// key, a wrong type or a bad value is an error naming the key and its line in the file, so that a
// typo never silently falls back to a default. docs/configuration.md lists every key.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/duration.h"
#include "core/precedence.h"
#include "core/result.h"
#include "crypto/identity.h"

namespace hotline::station {

// HOST:PORT. Hosts are names or IPv4 addresses; IPv6 is written [addr]:port.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  std::string text() const;
  static Result<Endpoint> parse(std::string_view text);
  // 127.0.0.0/8 or ::1: reachable from this machine only.
  bool is_loopback() const;
  bool operator==(const Endpoint&) const = default;
};

// The terms of a line (the standing agreement): deadlines and who may use it.
struct LineTerms {
  Micros response_deadline = 48 * 3600 * kMicrosPerSecond;
  // Acknowledgement deadline by precedence, indexed by Precedence: the handling-time objectives of
  // ACP 121 (FLASH 10 min, IMMEDIATE 30 min, PRIORITY 3 h, ROUTINE 6 h).
  std::array<Micros, 4> ack_deadline = {10 * 60 * kMicrosPerSecond, 30 * 60 * kMicrosPerSecond,
                                        3 * 3600 * kMicrosPerSecond, 6 * 3600 * kMicrosPerSecond};
  Micros test_interval = 3600 * kMicrosPerSecond;
  // A link test unanswered this long raises the alarm.
  Micros test_answer_within = 5 * 60 * kMicrosPerSecond;
  // A peer's decision whose author time is ahead of this station's clock by more than this is
  // flagged as implausible (design.md §2).
  Micros clock_tolerance = 5 * 60 * kMicrosPerSecond;
  // Decisions drafted by an operator wait for a principal's confirmation (design.md §2).
  bool two_person_rule = false;
  std::vector<std::string> levels;     // e.g. "minister", "chief-of-defence"; empty: any
  std::vector<std::string> languages;  // BCP 47 tags, e.g. "en", "vi", "zh-Hans"

  bool operator==(const LineTerms&) const = default;
};

struct LineConfig {
  std::string name;
  crypto::PublicKey peer;
  std::vector<Endpoint> routes;  // in order of preference; none: the peer dials this station
  LineTerms terms;

  bool operator==(const LineConfig&) const = default;
};

struct StationConfig {
  std::string name;
  Endpoint listen{"0.0.0.0", 7400};
  Endpoint api{"127.0.0.1", 7480};
  std::string log_level = "info";   // trace, debug, info, warn, error
  std::string log_format = "text";  // text (for people) or json (one object per line)
  // The API over HTTPS (false: plain HTTP, allowed only when `api` is a loopback address), with
  // the certificate and key made by init, or the operator's own (paths relative to the data
  // directory unless absolute).
  bool api_tls = true;
  std::string api_certificate = "api-cert.pem";
  std::string api_key = "api-key.pem";
  // Sessions end after this long without a call, and this long after login regardless.
  Micros session_idle = 15 * 60 * kMicrosPerSecond;
  Micros session_max_age = 12 * 3600 * kMicrosPerSecond;
  // The console's built files (web/dist); empty: the one installed beside the binary, if any.
  std::string console_dir;
  std::vector<LineConfig> lines;

  const LineConfig* find_line(std::string_view name) const;
};

// Parses the text of a hotline.toml; `source` names it in errors.
[[nodiscard]] Result<StationConfig> parse_config(std::string_view text, const std::string& source);
[[nodiscard]] Result<StationConfig> load_config(const std::string& path);
// `serve --test-clock` is refused in a production configuration: one that listens or dials
// anywhere but loopback (design.md §6). kRefused names the address.
[[nodiscard]] Result<void> check_test_configuration(const StationConfig& config,
                                                    const std::string& path);

// The TOML text of `config` (what `init` and `line add` write).
std::string render_config(const StationConfig& config);
// Writes atomically and durably (a crash leaves the old or the new file, never half of one).
[[nodiscard]] Result<void> save_config(const std::string& path, const StationConfig& config);

// Checks what a new line needs beside what parsing checks: a name of 1-128 bytes not used by
// another line, a peer that is not this station itself.
[[nodiscard]] Result<void> validate_new_line(const StationConfig& config, const LineConfig& line,
                                             const crypto::PublicKey& own_key);

}  // namespace hotline::station
