#include "bench/stats.h"

#include <algorithm>
#include <cmath>

namespace hotline::bench {

using nlohmann::json;

json distribution(std::vector<double>& micros) {
  if (micros.empty()) {
    return {{"samples", 0}};
  }
  std::sort(micros.begin(), micros.end());
  auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(std::ceil(p * static_cast<double>(micros.size())));
    return micros[std::max<std::size_t>(index, 1) - 1];
  };
  double sum = 0;
  for (double m : micros) {
    sum += m;
  }
  return {{"samples", micros.size()},
          {"min_us", micros.front()},
          {"p50_us", rank(0.50)},
          {"p90_us", rank(0.90)},
          {"p99_us", rank(0.99)},
          {"max_us", micros.back()},
          {"mean_us", sum / static_cast<double>(micros.size())}};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace hotline::bench
