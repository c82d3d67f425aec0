// fuzz/fuzz_check.h — a property that must hold for every input the fuzzer tries.
//
// A failed check aborts, which libFuzzer reports as a crash and saves the input as an artifact
// (fuzz/run.sh prints where). Checks are plain code, not assert(), so that they also run in
// builds with NDEBUG.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                          \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "fuzz property failed at %s:%d: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
