#include "bench/machine.h"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "bench/must.h"

namespace hotline::bench {
namespace {

// The value after "key<spaces>:" on the first line of `path` that starts with `key`.
std::string field_of(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) {
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "unknown";
}

// Total memory in MiB, from "MemTotal:  24684272 kB".
std::uint64_t memory_total_mib() {
  const std::string text = field_of("/proc/meminfo", "MemTotal");
  return std::strtoull(text.c_str(), nullptr, 10) / 1024;
}

std::string kernel() {
  utsname name{};
  if (uname(&name) != 0) {
    return "unknown";
  }
  return std::string(name.sysname) + " " + name.release + " " + name.machine;
}

// The filesystems we expect under /tmp; a tmpfs would make the durable-append figures meaningless.
std::string filesystem_of(const char* path) {
  struct statfs fs {};
  if (statfs(path, &fs) != 0) {
    return "unknown";
  }
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "ext2/3/4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    default:
      return "other";
  }
}

}  // namespace

nlohmann::json describe_machine() {
  return {{"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
          {"hardware_concurrency", std::thread::hardware_concurrency()},
          {"cpu_model", field_of("/proc/cpuinfo", "model name")},
          {"memory_total_mib", memory_total_mib()},
          {"kernel", kernel()},
          {"compiler", std::string(HOTLINE_COMPILER_ID) + " " + __VERSION__},
          {"build_type", HOTLINE_BUILD_TYPE},
          {"tmp_filesystem", filesystem_of("/tmp")}};
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one_minute = -1;
  if (!(in >> one_minute)) {
    return -1;
  }
  return one_minute;
}

std::uint64_t env_count(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') {
    return fallback;
  }
  char* end = nullptr;
  const std::uint64_t value = std::strtoull(text, &end, 10);
  if (*end != '\0' || value == 0) {
    fail(std::string(name) + " must be a positive integer, not '" + text + "'");
  }
  return value;
}

}  // namespace hotline::bench
