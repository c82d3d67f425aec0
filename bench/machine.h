// bench/machine.h — what every benchmark report says about where it ran.
//
// Figures mean little without the machine: each program's JSON document carries `describe_machine`
// and the load average before and after its run, so that a figure taken while something else was
// using the cores can be recognised as such.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace hotline::bench {

// nproc, CPU model, memory total, kernel, compiler, build type, and the filesystem under /tmp
// (where the benchmarks put their databases and files).
nlohmann::json describe_machine();

// The 1-minute load average, from /proc/loadavg; -1 if unreadable.
double load_average();

// Seconds between two monotonic_nanos() readings.
inline double seconds_between(std::int64_t start_nanos, std::int64_t end_nanos) {
  return static_cast<double>(end_nanos - start_nanos) / 1e9;
}

// An unsigned integer from the environment, or `fallback` if unset; exits on a malformed value.
std::uint64_t env_count(const char* name, std::uint64_t fallback);

}  // namespace hotline::bench
