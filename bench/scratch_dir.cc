#include "bench/scratch_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "bench/must.h"

namespace hotline::bench {

ScratchDir::ScratchDir() {
  std::string pattern = "/tmp/hotline-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    fail("cannot create a scratch directory under /tmp");
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;  // a leftover directory in /tmp is not worth failing a benchmark for
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace hotline::bench
