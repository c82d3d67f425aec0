// bench/must.h — benchmarks stop at the first failure.
//
// A figure measured after an error means nothing, so every benchmark program exits non-zero with a
// message on stderr as soon as a call fails; bench/run.sh then reports the program as failed.
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace hotline::bench {

[[noreturn]] inline void fail(std::string_view what) {
  std::cerr << "hotline bench: " << what << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> result, std::string_view what) {
  if (!result) {
    fail(std::string(what) + ": " + result.error().message);
  }
  return std::move(result).value();
}

inline void must(const Result<void>& result, std::string_view what) {
  if (!result) {
    fail(std::string(what) + ": " + result.error().message);
  }
}

}  // namespace hotline::bench
