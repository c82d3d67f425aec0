// api/metrics.h — what /metrics shows, in Prometheus' text format (design.md §6, "Operations").
//
// Two kinds of figures: those the API server counts as they happen (requests by status class and
// their latency, logins by outcome), kept in a prometheus-cpp registry; and the station's own
// (entries, receipts, queue depths per precedence, route state, security events, round trips),
// which the station already counts and reports at each scrape through a collector, so that the
// figures are never two copies that could disagree. Both are serialised by prometheus-cpp.
// Metric names follow Prometheus' conventions: hotline_…_total for counters, units in the name.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hotline::api {

class Metrics {
 public:
  using Collector = std::function<std::vector<prometheus::MetricFamily>()>;

  Metrics();

  // One API request answered with `status` after `seconds`.
  void request_answered(int status, double seconds);
  // One login attempt: "success", "wrong-password", "wrong-code", "rate-limited", "disabled".
  void login(const std::string& outcome);
  // One heartbeat round trip measured on `line`.
  void round_trip(const std::string& line, double seconds);

  // The station's figures, asked for at every scrape.
  void set_station_collector(Collector collector) { station_ = std::move(collector); }

  // Everything, in the text exposition format 0.0.4.
  std::string scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Histogram* request_histogram_;
  prometheus::Family<prometheus::Counter>& logins_;
  prometheus::Family<prometheus::Histogram>& round_trip_seconds_;
  std::map<std::string, prometheus::Histogram*> round_trips_;
  Collector station_;
};

// A family of counters or gauges with one sample per label set, for station collectors.
struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};
prometheus::MetricFamily counter_family(std::string name, std::string help,
                                        const std::vector<Sample>& samples);
prometheus::MetricFamily gauge_family(std::string name, std::string help,
                                      const std::vector<Sample>& samples);

}  // namespace hotline::api
