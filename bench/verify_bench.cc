// bench/verify_bench.cc — how long verifying a large exported record takes.
//
// Generates one line's record of HOTLINE_BENCH_ENTRIES entries (default 1,000,000; see
// record_generator.h) and times record::verify_export on it with all cores and, when given
// `--hotline PATH`, the real `hotline verify FILE`. Then the same with one thread (threads=1,
// `--jobs 1`) on a record of HOTLINE_BENCH_SINGLE_THREAD_ENTRIES entries (default 250,000).
// Target (the issue): 1,000,000 entries in under 30 s on 2 cores. A run on fewer entries reports a
// linear projection to 1,000,000 beside its own figure.
//
// To show what bounds the figure, it also measures the steps of verify_export's sequential front
// end per item on a sample of the file, and reports CPU time beside wall time for every run.
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bench/machine.h"
#include "bench/must.h"
#include "bench/record_generator.h"
#include "bench/scratch_dir.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "record/entry.h"
#include "record/export_jsonl.h"

namespace hotline::bench {
namespace {

using nlohmann::json;

constexpr std::uint64_t kDefaultEntries = 1'000'000;
// Single-thread runs take twice as long per entry; on a smaller record (projected to 1,000,000)
// they keep `make bench` within its few minutes. Set HOTLINE_BENCH_SINGLE_THREAD_ENTRIES to
// 1000000 to measure them at full size.
constexpr std::uint64_t kDefaultSingleThreadEntries = 250'000;
constexpr double kTargetSeconds = 30;
constexpr double kTargetEntries = 1'000'000;
constexpr std::uint64_t kFrontEndSampleLines = 100'000;

// `seconds` for `entries`, with the target, projected linearly to 1,000,000 entries if needed.
json against_target(double seconds, std::uint64_t entries) {
  const double projected = seconds * kTargetEntries / static_cast<double>(entries);
  json out = {{"seconds", seconds},
              {"entries_per_second", static_cast<double>(entries) / seconds},
              {"target_seconds_for_1m_entries", kTargetSeconds},
              {"meets_target", projected < kTargetSeconds}};
  if (entries != static_cast<std::uint64_t>(kTargetEntries)) {
    out["projected_seconds_for_1m_entries"] = projected;
  }
  return out;
}

double max_rss_mib(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024;  // ru_maxrss is in KiB on Linux
}

// User plus system CPU time so far of this process (RUSAGE_SELF) or its waited-for children.
double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// CPU time over wall time: about 1 for one busy thread, up to nproc when all cores work. Below 1
// for one thread means something else took the core: the figure is contention-affected.
void add_cpu(json& out, double cpu, double wall) {
  out["cpu_seconds"] = cpu;
  out["cpu_per_wall_second"] = cpu / wall;
}

json describe(const GeneratedRecord& generated) {
  return {{"entries", generated.entries},         {"receipts", generated.receipts},
          {"checkpoints", generated.checkpoints}, {"file_bytes", generated.file_bytes},
          {"seconds", generated.seconds},         {"signer_threads", generated.signer_threads}};
}

// Exits unless `summary` says the generated record is sound and complete.
void expect_sound(const record::VerifySummary& summary, const GeneratedRecord& generated) {
  if (!summary.sound()) {
    fail("the generated record does not verify: " + summary.first_problem->describe());
  }
  if (summary.entries != generated.entries || summary.receipts != generated.receipts ||
      summary.checkpoints != generated.checkpoints || summary.unconfirmed_checkpoints != 0) {
    fail("verify_export counted other items than were generated");
  }
}

json time_library(const std::string& path, unsigned threads, const GeneratedRecord& generated) {
  std::cerr << "verify bench: verify_export threads=" << threads << "\n";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail("cannot open " + path);
  }
  const double cpu_start = cpu_seconds(RUSAGE_SELF);
  const std::int64_t start = monotonic_nanos();
  const record::VerifySummary summary = record::verify_export(in, threads);
  const double seconds = seconds_between(start, monotonic_nanos());
  expect_sound(summary, generated);
  json out = against_target(seconds, generated.entries);
  out["entries"] = generated.entries;
  add_cpu(out, cpu_seconds(RUSAGE_SELF) - cpu_start, seconds);
  out["threads_argument"] = threads;
  out["process_max_rss_mib_so_far"] = max_rss_mib(RUSAGE_SELF);
  return out;
}

// Runs `hotline verify FILE [--jobs N] --json` and times it, wall clock, start to exit.
json time_binary(const std::string& hotline, const std::string& path, const std::string& jobs,
                 const GeneratedRecord& generated) {
  for (const std::string* text : {&hotline, &path}) {
    if (text->find('\'') != std::string::npos) {
      fail("path with a quote: " + *text);
    }
  }
  const std::string command = "'" + hotline + "' verify '" + path + "' " + jobs + " --json";
  std::cerr << "verify bench: " << command << "\n";
  const double cpu_start = cpu_seconds(RUSAGE_CHILDREN);
  const std::int64_t start = monotonic_nanos();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    fail("cannot run " + command);
  }
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  const double seconds = seconds_between(start, monotonic_nanos());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail(command + " failed: " + output);
  }
  const json result = json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded() || !result.value("sound", false) ||
      result.value("entries", std::uint64_t{0}) != generated.entries) {
    fail(command + " did not report the record sound and complete: " + output);
  }
  json out = against_target(seconds, generated.entries);
  out["entries"] = generated.entries;
  out["command"] = command;
  add_cpu(out, cpu_seconds(RUSAGE_CHILDREN) - cpu_start, seconds);
  out["children_max_rss_mib_so_far"] = max_rss_mib(RUSAGE_CHILDREN);
  return out;
}

// The sequential front end of verify_export, measured step by step on the first lines of the file
// (the header, then entries), in µs per item: getline + JSON parse; base64 + decode_entry; and the
// check that the line's decoded copies agree with its signed bytes, which verify_export does by
// exporting the decoded entry again and comparing the two parsed documents.
json front_end_sample(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string text; lines.size() < kFrontEndSampleLines && std::getline(in, text);) {
    lines.push_back(std::move(text));
  }
  std::vector<json> parsed;
  parsed.reserve(lines.size());
  std::int64_t start = monotonic_nanos();
  for (const std::string& text : lines) {
    parsed.push_back(json::parse(text, nullptr, /*allow_exceptions=*/false));
  }
  const double parse_seconds = seconds_between(start, monotonic_nanos());

  std::vector<std::pair<const json*, record::SignedEntry>> entries;
  entries.reserve(parsed.size());
  start = monotonic_nanos();
  for (const json& item : parsed) {
    if (item.value("type", "") == "entry") {
      const Bytes raw = must(from_base64(item.at("signed").get<std::string>()), "base64");
      entries.emplace_back(&item, must(record::decode_entry(raw), "decode_entry"));
    }
  }
  const double decode_seconds = seconds_between(start, monotonic_nanos());

  start = monotonic_nanos();
  for (const auto& [item, entry] : entries) {
    if (*item != json::parse(record::export_entry(entry))) {
      fail("an exported entry's decoded copies disagree with its signed bytes");
    }
  }
  const double copies_seconds = seconds_between(start, monotonic_nanos());

  const auto per_item = [](double seconds, std::size_t n) {
    return n == 0 ? 0.0 : seconds * 1e6 / static_cast<double>(n);
  };
  return {{"lines", lines.size()},
          {"json_parse_us_per_line", per_item(parse_seconds, lines.size())},
          {"base64_and_decode_entry_us_per_entry", per_item(decode_seconds, entries.size())},
          {"export_reparse_compare_us_per_entry", per_item(copies_seconds, entries.size())}};
}

int run(int argc, char** argv) {
  std::string hotline;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--hotline" && i + 1 < argc) {
      hotline = argv[++i];
    } else {
      std::cerr << "usage: " << argv[0] << " [--hotline PATH]\n";
      return 2;
    }
  }
  const std::uint64_t entries = env_count("HOTLINE_BENCH_ENTRIES", kDefaultEntries);
  const std::uint64_t single_thread_entries = std::min(
      entries, env_count("HOTLINE_BENCH_SINGLE_THREAD_ENTRIES", kDefaultSingleThreadEntries));
  const double load_before = load_average();
  json figures;
  {
    ScratchDir dir;
    std::cerr << "verify bench: generating " << entries << " entries\n";
    const GeneratedRecord generated = write_record_export(dir, "record.jsonl", entries);
    const std::string path = dir.file("record.jsonl");
    figures["generation"] = describe(generated);
    figures["front_end_sample"] = front_end_sample(path);
    figures["verify_export_all_cores"] = time_library(path, 0, generated);
    if (!hotline.empty()) {
      figures["hotline_verify_all_cores"] = time_binary(hotline, path, "", generated);
    }
  }
  {
    ScratchDir dir;
    std::cerr << "verify bench: generating " << single_thread_entries
              << " entries for the single-thread runs\n";
    const GeneratedRecord generated =
        write_record_export(dir, "record.jsonl", single_thread_entries);
    const std::string path = dir.file("record.jsonl");
    figures["single_thread_generation"] = describe(generated);
    figures["verify_export_threads_1"] = time_library(path, 1, generated);
    if (!hotline.empty()) {
      figures["hotline_verify_jobs_1"] = time_binary(hotline, path, "--jobs 1", generated);
    }
  }
  const json doc = {{"benchmark", "verify"},
                    {"machine", describe_machine()},
                    {"load_average_before", load_before},
                    {"load_average_after", load_average()},
                    {"figures", figures}};
  std::cout << doc.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace hotline::bench

int main(int argc, char** argv) { return hotline::bench::run(argc, argv); }
