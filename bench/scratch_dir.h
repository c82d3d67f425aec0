// bench/scratch_dir.h — a fresh directory under /tmp for one benchmark, removed afterwards.
//
// /tmp is on the machine's real disk here (describe_machine reports its filesystem), so fsync
// costs what it costs a station.
#pragma once

#include <string>

namespace hotline::bench {

class ScratchDir {
 public:
  // Creates /tmp/hotline-bench-XXXXXX; exits the program if it cannot.
  ScratchDir();
  // Removes the directory and everything in it.
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace hotline::bench
