#include "api/metrics.h"

#include <prometheus/text_serializer.h>

namespace hotline::api {
namespace {

// Latency buckets from 0.5 ms to 10 s: the API answers reads in well under a millisecond and a
// write once it is durable; a round trip on a healthy line takes a few milliseconds.
const prometheus::Histogram::BucketBoundaries kSecondsBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string status_class(int status) { return std::to_string(status / 100) + "xx"; }

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                const std::vector<Sample>& samples) {
  prometheus::MetricFamily family{std::move(name), std::move(help), type, {}};
  for (const Sample& sample : samples) {
    prometheus::ClientMetric metric;
    for (const auto& [key, value] : sample.labels) {
      metric.label.push_back({key, value});
    }
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = sample.value;
    } else {
      metric.gauge.value = sample.value;
    }
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("hotline_api_requests_total")
                    .Help("API requests answered, by status class")
                    .Register(*registry_)),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("hotline_api_request_duration_seconds")
                           .Help("Time from reading an API request to its answer")
                           .Register(*registry_)),
      request_histogram_(&request_seconds_.Add({}, kSecondsBuckets)),
      logins_(prometheus::BuildCounter()
                  .Name("hotline_logins_total")
                  .Help("Login attempts, by outcome")
                  .Register(*registry_)),
      round_trip_seconds_(prometheus::BuildHistogram()
                              .Name("hotline_line_round_trip_seconds")
                              .Help("Heartbeat round trips on each line")
                              .Register(*registry_)) {}

void Metrics::request_answered(int status, double seconds) {
  requests_.Add({{"code", status_class(status)}}).Increment();
  request_histogram_->Observe(seconds);
}

void Metrics::login(const std::string& outcome) { logins_.Add({{"outcome", outcome}}).Increment(); }

void Metrics::round_trip(const std::string& line, double seconds) {
  auto it = round_trips_.find(line);
  if (it == round_trips_.end()) {
    it = round_trips_.emplace(line, &round_trip_seconds_.Add({{"line", line}}, kSecondsBuckets))
             .first;
  }
  it->second->Observe(seconds);
}

std::string Metrics::scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  if (station_) {
    for (prometheus::MetricFamily& family : station_()) {
      families.push_back(std::move(family));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

prometheus::MetricFamily counter_family(std::string name, std::string help,
                                        const std::vector<Sample>& samples) {
  return family(std::move(name), std::move(help), prometheus::MetricType::Counter, samples);
}

prometheus::MetricFamily gauge_family(std::string name, std::string help,
                                      const std::vector<Sample>& samples) {
  return family(std::move(name), std::move(help), prometheus::MetricType::Gauge, samples);
}

}  // namespace hotline::api
