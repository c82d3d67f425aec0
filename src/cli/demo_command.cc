// `hotline demo`: two stations and a line between them, with a record written and verified
// offline. (Once the link exists, `make demo` runs real stations; this stays as the quick tour.)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "crypto/key_file.h"
#include "line/line_record.h"
#include "station/station_dir.h"
#include "store/record_export.h"
#include "store/record_store.h"

namespace hotline::cli {
namespace {

struct DemoStation {
  std::string name;
  station::StationPaths paths;
  crypto::SigningKey key;
  std::unique_ptr<store::RecordStore> store;
};

Result<DemoStation> create_station(const std::string& dir, const std::string& name) {
  station::InitOptions options;
  options.dir = dir + "/" + name;
  options.name = name;
  HOTLINE_TRY(station::init_station(options));
  station::StationPaths paths{options.dir};
  HOTLINE_ASSIGN(auto key, crypto::read_key_file(paths.key(), std::nullopt));
  HOTLINE_ASSIGN(auto store, store::open_sqlite_store(paths.database(), {}));
  return DemoStation{name, paths, std::move(key), std::move(store)};
}

cbor::Value message_body(const std::string& text) {
  return cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}});
}

// Alternates authorship as a real exchange would, delivering each entry and its receipt.
Result<void> exchange(line::LineRecord& alpha, line::LineRecord& bravo, int entries) {
  for (int i = 1; i <= entries; ++i) {
    const bool from_alpha = (i % 3) != 0;
    line::LineRecord& author = from_alpha ? alpha : bravo;
    line::LineRecord& reader = from_alpha ? bravo : alpha;
    std::vector<line::Draft> drafts;
    drafts.push_back({"message", message_body("demo message " + std::to_string(i))});
    HOTLINE_ASSIGN(auto sent, author.author(std::move(drafts)));
    HOTLINE_ASSIGN(auto receipt, reader.accept_entries(sent));
    HOTLINE_TRY(author.accept_receipt(receipt));
    if (i % 25 == 0 || i == entries) {
      HOTLINE_ASSIGN(auto from_a, alpha.checkpoint());
      HOTLINE_ASSIGN(auto from_b, bravo.checkpoint());
      HOTLINE_TRY(bravo.accept_checkpoint(from_a));
      HOTLINE_TRY(alpha.accept_checkpoint(from_b));
    }
  }
  return success();
}

Result<nlohmann::json> run_demo(const std::string& dir, int entries) {
  HOTLINE_ASSIGN(DemoStation a, create_station(dir, "alpha"));
  HOTLINE_ASSIGN(DemoStation b, create_station(dir, "bravo"));
  const std::string line_name = "demo";
  const auto id = record::derive_line_id(a.key.public_key(), b.key.public_key(), line_name);
  const store::LineParties a_side{id, line_name, a.key.public_key(), b.key.public_key()};
  const store::LineParties b_side{id, line_name, b.key.public_key(), a.key.public_key()};
  HOTLINE_TRY(a.store->add_line(a_side));
  HOTLINE_TRY(b.store->add_line(b_side));
  SystemClock clock;
  HOTLINE_ASSIGN(auto alpha, line::LineRecord::open(*a.store, a.key, a_side, clock));
  HOTLINE_ASSIGN(auto bravo, line::LineRecord::open(*b.store, b.key, b_side, clock));
  HOTLINE_TRY(exchange(alpha, bravo, entries));
  nlohmann::json report = {{"line", id.hex()}, {"stations", nlohmann::json::array()}};
  for (DemoStation* s : {&a, &b}) {
    HOTLINE_ASSIGN(auto summary, store::verify_store(*s->store, 0));
    const std::string export_path = dir + "/" + s->name + ".jsonl";
    std::ofstream out(export_path);
    HOTLINE_TRY(store::export_record(*s->store, std::nullopt, out));
    report["stations"].push_back({{"name", s->name},
                                  {"dir", s->paths.dir},
                                  {"fingerprint", s->key.public_key().fingerprint()},
                                  {"export", export_path},
                                  {"entries", summary.entries},
                                  {"receipts", summary.receipts},
                                  {"checkpoints", summary.checkpoints},
                                  {"sound", summary.sound()}});
  }
  return report;
}

}  // namespace

Command add_demo_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    int entries = 60;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "demo", "Create two stations with a line and write and verify a record between them");
  sub->add_option("--dir", flags->dir, "An empty or new directory for the two stations")
      ->required();
  sub->add_option("--entries", flags->entries, "How many entries to exchange")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_flag("--json", flags->json, "Print one JSON document");
  return {sub, [flags] {
            auto report = run_demo(flags->dir, flags->entries);
            if (!report) {
              return report_error(report.error(), flags->json);
            }
            if (flags->json) {
              print_json(*report);
            } else {
              std::cout << "line " << (*report)["line"].get<std::string>() << "\n";
              for (const auto& s : (*report)["stations"]) {
                std::cout << "  " << s["name"].get<std::string>() << "  "
                          << s["fingerprint"].get<std::string>() << "\n    " << s["entries"]
                          << " entries, " << s["receipts"] << " receipts, " << s["checkpoints"]
                          << " checkpoints: " << (s["sound"] ? "record sound" : "RECORD BAD")
                          << "\n    data " << s["dir"].get<std::string>() << ", export "
                          << s["export"].get<std::string>() << "\n";
              }
            }
            return static_cast<int>(kExitOk);
          }};
}

}  // namespace hotline::cli
