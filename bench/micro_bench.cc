// bench/micro_bench.cc — the cost of one cryptographic or codec step on one typical entry.
//
// Google Benchmark measures Ed25519 sign and verify (libsodium, through crypto::SigningKey::sign
// and crypto::verify_signature), the record's own sign_entry / decode_entry /
// verify_entry_signature, SHA-256 of an entry's signed bytes, and export_entry. Its JSON report
// (what --benchmark_format=json prints) is embedded whole in this program's one JSON document,
// next to a summary of medians in microseconds and the reference figures for this kind of machine.
#include <benchmark/benchmark.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/chain_author.h"
#include "bench/machine.h"
#include "bench/must.h"
#include "crypto/hash.h"
#include "record/entry.h"
#include "record/export_jsonl.h"

namespace hotline::bench {
namespace {

// Reference medians on this kind of machine (the figures), in microseconds.
constexpr double kReferenceSignMicros = 18;
constexpr double kReferenceVerifyMicros = 51;

// One entry in the middle of a long chain: large sequence numbers, real hashes, a cross-link.
struct TypicalEntry {
  crypto::SigningKey key = bench_key(0x11);
  record::EntryFields fields;
  record::SignedEntry entry;

  TypicalEntry() {
    const crypto::SigningKey peer = bench_key(0x22);
    fields.line = record::derive_line_id(key.public_key(), peer.public_key(), "benchmark line");
    fields.author = key.public_key();
    fields.seq = 123'456;
    fields.prev = crypto::sha256(as_bytes("previous entry"));
    fields.time = 1'700'000'000'000'000;
    fields.cross = {123'400, crypto::sha256(as_bytes("cross-linked entry"))};
    fields.kind = "message";
    fields.body = message_body(fields.seq);
    entry = must(record::sign_entry(key, fields), "sign the typical entry");
  }
};

const TypicalEntry& typical() {
  static const TypicalEntry instance;
  return instance;
}

void BM_Ed25519Sign(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.key.sign(crypto::SigningContext::kEntry, t.entry.envelope.payload));
  }
}

void BM_Ed25519Verify(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    const bool ok = crypto::verify_signature(t.key.public_key(), crypto::SigningContext::kEntry,
                                             t.entry.envelope.payload, t.entry.envelope.signature);
    if (!ok) {
      state.SkipWithError("the typical entry's signature does not verify");
      return;
    }
  }
}

// The same on every core at once: how well signature checks scale here (verify_export checks
// signatures on all cores). items_per_second is the machine's total rate.
void BM_Ed25519VerifyParallel(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        crypto::verify_signature(t.key.public_key(), crypto::SigningContext::kEntry,
                                 t.entry.envelope.payload, t.entry.envelope.signature));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SignEntry(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    auto signed_entry = record::sign_entry(t.key, t.fields);  // copies the fields, as callers do
    benchmark::DoNotOptimize(signed_entry);
  }
}

void BM_DecodeEntry(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    auto decoded = record::decode_entry(t.entry.signed_bytes);
    if (!decoded) {
      state.SkipWithError(decoded.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(decoded);
  }
}

void BM_VerifyEntrySignature(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    benchmark::DoNotOptimize(record::verify_entry_signature(t.entry));
  }
}

void BM_Sha256Entry(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::sha256(t.entry.signed_bytes));
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(t.entry.signed_bytes.size()));
}

void BM_ExportEntry(benchmark::State& state) {
  const TypicalEntry& t = typical();
  for (auto _ : state) {
    benchmark::DoNotOptimize(record::export_entry(t.entry));
  }
}

// Short, repeated runs: medians of 3 keep the whole program at a few seconds.
void configure(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMicrosecond)->MinTime(0.2)->Repetitions(3)->ReportAggregatesOnly(true);
}

BENCHMARK(BM_Ed25519Sign)->Apply(configure);
BENCHMARK(BM_Ed25519Verify)->Apply(configure);
BENCHMARK(BM_Ed25519VerifyParallel)->Apply(configure)->Threads(1)->ThreadPerCpu()->UseRealTime();
BENCHMARK(BM_SignEntry)->Apply(configure);
BENCHMARK(BM_DecodeEntry)->Apply(configure);
BENCHMARK(BM_VerifyEntrySignature)->Apply(configure);
BENCHMARK(BM_Sha256Entry)->Apply(configure);
BENCHMARK(BM_ExportEntry)->Apply(configure);

// {"BM_Ed25519Sign": median real time in µs, ...} from Google Benchmark's JSON report, for the
// single-threaded benchmarks.
nlohmann::json medians_us(const nlohmann::json& report) {
  nlohmann::json medians = nlohmann::json::object();
  for (const auto& run : report.at("benchmarks")) {
    if (run.value("threads", 1) != 1 || run.value("items_per_second", 0.0) > 0) {
      continue;
    }
    if (run.value("aggregate_name", "") != "median") {
      continue;
    }
    if (run.value("time_unit", "") != "us") {
      fail("expected microseconds in the report of " + run.value("run_name", std::string("?")));
    }
    // "BM_Ed25519Sign/min_time:0.200/repeats:3" -> "BM_Ed25519Sign"
    const std::string name = run.at("run_name").get<std::string>();
    medians[name.substr(0, name.find('/'))] = run.at("real_time").get<double>();
  }
  return medians;
}

// Verifications per second, all threads together, by thread count.
nlohmann::json parallel_verify_rates(const nlohmann::json& report) {
  nlohmann::json rates = nlohmann::json::object();
  for (const auto& run : report.at("benchmarks")) {
    if (run.value("aggregate_name", "") == "median" && run.contains("items_per_second")) {
      rates["threads_" + std::to_string(run.value("threads", 1))] =
          run.at("items_per_second").get<double>();
    }
  }
  return rates;
}

nlohmann::json against_reference(double measured_us, double reference_us) {
  return {{"median_us", measured_us},
          {"reference_us", reference_us},
          {"ratio_to_reference", measured_us / reference_us}};
}

int run(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  const double load_before = load_average();
  std::ostringstream json_text;
  benchmark::JSONReporter reporter;  // the reporter behind --benchmark_format=json
  reporter.SetOutputStream(&json_text);
  reporter.SetErrorStream(&std::cerr);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const nlohmann::json report = nlohmann::json::parse(json_text.str());
  for (const auto& run : report.at("benchmarks")) {
    if (run.value("error_occurred", false)) {
      fail(run.value("run_name", std::string("a benchmark")) +
           " failed: " + run.value("error_message", std::string()));
    }
  }
  const nlohmann::json medians = medians_us(report);
  const TypicalEntry& t = typical();
  nlohmann::json figures = {
      {"entry_payload_bytes", t.entry.envelope.payload.size()},
      {"entry_signed_bytes", t.entry.signed_bytes.size()},
      {"entry_export_line_bytes", record::export_entry(t.entry).size() + 1},
      {"median_us", medians},
      {"ed25519_verifications_per_second_by_threads", parallel_verify_rates(report)}};
  if (medians.contains("BM_Ed25519Sign") && medians.contains("BM_Ed25519Verify")) {
    figures["ed25519_sign"] = against_reference(medians["BM_Ed25519Sign"], kReferenceSignMicros);
    figures["ed25519_verify"] =
        against_reference(medians["BM_Ed25519Verify"], kReferenceVerifyMicros);
  }
  const nlohmann::json doc = {{"benchmark", "micro"},
                              {"machine", describe_machine()},
                              {"load_average_before", load_before},
                              {"load_average_after", load_average()},
                              {"figures", figures},
                              {"google_benchmark", report}};
  std::cout << doc.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace hotline::bench

int main(int argc, char** argv) { return hotline::bench::run(argc, argv); }
