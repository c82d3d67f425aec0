// `hotline verify` and `hotline export`.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "record/export_jsonl.h"
#include "station/station_dir.h"
#include "store/record_export.h"
#include "store/record_store.h"

namespace hotline::cli {
namespace {

Result<std::unique_ptr<store::RecordStore>> open_read_only(const std::string& dir) {
  HOTLINE_ASSIGN(auto paths, station::open_station_dir(dir));
  store::SqliteOptions options;
  options.read_only = true;
  return store::open_sqlite_store(paths.database(), options);
}

int print_summary(const record::VerifySummary& s, const std::string& what, bool json) {
  if (json) {
    nlohmann::json doc = {{"sound", s.sound()},
                          {"source", what},
                          {"lines", s.lines},
                          {"entries", s.entries},
                          {"receipts", s.receipts},
                          {"checkpoints", s.checkpoints},
                          {"unconfirmed_checkpoints", s.unconfirmed_checkpoints}};
    if (s.first_problem) {
      const record::Finding& f = *s.first_problem;
      doc["first_problem"] = {{"item", f.item},
                              {"type", f.type},
                              {"line", f.line},
                              {"chain", f.chain},
                              {"seq", f.seq},
                              {"reason", f.reason},
                              {"description", f.describe()}};
    }
    print_json(doc);
  } else if (s.sound()) {
    std::cout << "sound: " << what << ": " << s.lines << " line(s), " << s.entries << " entries, "
              << s.receipts << " receipts, " << s.checkpoints << " checkpoints verified";
    if (s.unconfirmed_checkpoints > 0) {
      std::cout << " (" << s.unconfirmed_checkpoints << " checkpoint(s) name entries not yet held)";
    }
    std::cout << "\n";
  } else {
    std::cout << "BAD: " << what << ": " << s.first_problem->describe() << "\n";
  }
  return s.sound() ? kExitOk : kExitBad;
}

}  // namespace

Command add_verify_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::string file;
    unsigned jobs = 0;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "verify", "Check a record offline: every signature, link and receipt (exit 1 if bad)");
  auto* dir = sub->add_option("--dir", flags->dir, "Verify the database of this station");
  auto* file = sub->add_option("file", flags->file, "Verify an export (JSON Lines)");
  dir->excludes(file);
  sub->add_option("--jobs", flags->jobs, "Threads for signature checks (default: all cores)");
  sub->add_flag("--json", flags->json, "Print one JSON document");
  return {sub, [flags] {
            if (!flags->file.empty()) {
              std::ifstream in(flags->file);
              if (!in) {
                return report_error(make_error(Errc::kNotFound, "cannot open " + flags->file),
                                    flags->json);
              }
              return print_summary(record::verify_export(in, flags->jobs), flags->file,
                                   flags->json);
            }
            const std::string dir = resolve_dir(flags->dir);
            auto store = open_read_only(dir);
            if (!store) {
              const int code = report_error(store.error(), flags->json);
              // A damaged or foreign database is a bad record, not a failure of the tool.
              return store.error().code == Errc::kCorrupt ? static_cast<int>(kExitBad) : code;
            }
            auto summary = store::verify_store(**store, flags->jobs);
            if (!summary) {
              report_error(summary.error(), flags->json);
              return static_cast<int>(kExitBad);
            }
            return print_summary(*summary, dir, flags->json);
          }};
}

Command add_export_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::string line;
    std::string out;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub =
      app.add_subcommand("export", "Write the record as JSON Lines with the exact signed bytes");
  sub->add_option("--dir", flags->dir, "Data directory (default $HOTLINE_DIR or .)");
  sub->add_option("--line", flags->line, "Only this line (its id in hex)");
  sub->add_option("--out", flags->out, "Write to this file instead of standard output");
  sub->add_flag("--json", flags->json, "Report the result as one JSON document (needs --out)");
  return {sub, [flags] {
            auto store = open_read_only(resolve_dir(flags->dir));
            if (!store) {
              return report_error(store.error(), flags->json);
            }
            std::optional<record::LineId> line;
            if (!flags->line.empty()) {
              auto id = record::LineId::from_hex(flags->line);
              if (!id) {
                return report_error(id.error(), flags->json);
              }
              line = *id;
            }
            std::ofstream file;
            if (!flags->out.empty()) {
              file.open(flags->out, std::ios::binary | std::ios::trunc);
              if (!file) {
                return report_error(make_error(Errc::kIo, "cannot write " + flags->out),
                                    flags->json);
              }
            }
            std::ostream& out = flags->out.empty() ? std::cout : file;
            auto counts = store::export_record(**store, line, out);
            if (!counts) {
              return report_error(counts.error(), flags->json);
            }
            if (flags->json && !flags->out.empty()) {
              print_json({{"out", flags->out}, {"lines", counts->lines}});
            }
            return static_cast<int>(kExitOk);
          }};
}

}  // namespace hotline::cli
