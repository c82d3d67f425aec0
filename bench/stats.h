// bench/stats.h — summaries of timed samples, as the benchmarks print them.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace hotline::bench {

// Nearest-rank percentiles (p50, p90, p99), minimum, maximum and mean of `micros`, which it
// sorts, as {"samples", "min_us", "p50_us", …}.
nlohmann::json distribution(std::vector<double>& micros);

double median(std::vector<double> values);

}  // namespace hotline::bench
