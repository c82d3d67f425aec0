// `hotline line add|list|show`: the lines of a station (design.md §6).
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "crypto/key_file.h"
#include "station/config.h"
#include "station/station_dir.h"
#include "store/record_store.h"

namespace hotline::cli {
namespace {

nlohmann::json line_json(const station::LineConfig& line, const crypto::PublicKey& own) {
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& r : line.routes) {
    routes.push_back(r.text());
  }
  nlohmann::json ack = nlohmann::json::object();
  for (Precedence p : kAllPrecedences) {
    ack[std::string(precedence_name(p))] =
        format_duration(line.terms.ack_deadline[static_cast<int>(p)]);
  }
  return {{"name", line.name},
          {"id", record::derive_line_id(own, line.peer, line.name).hex()},
          {"peer", line.peer.fingerprint()},
          {"routes", routes},
          {"response_deadline", format_duration(line.terms.response_deadline)},
          {"ack_deadline", ack},
          {"test_interval", format_duration(line.terms.test_interval)},
          {"test_answer_within", format_duration(line.terms.test_answer_within)},
          {"clock_tolerance", format_duration(line.terms.clock_tolerance)},
          {"two_person_rule", line.terms.two_person_rule},
          {"levels", line.terms.levels},
          {"languages", line.terms.languages}};
}

struct Station {
  station::StationPaths paths;
  station::StationConfig config;
  crypto::PublicKey key;
};

Result<Station> open_station(const std::string& dir) {
  HOTLINE_ASSIGN(auto paths, station::open_station_dir(dir));
  HOTLINE_ASSIGN(auto config, station::load_config(paths.config()));
  HOTLINE_ASSIGN(auto key, crypto::read_public_key(paths.key()));
  return Station{paths, std::move(config), key};
}

struct AddFlags {
  std::string dir;
  std::string name;
  std::string peer;
  std::vector<std::string> routes;
  std::string response_deadline;
  std::string ack_deadline;
  std::string test_interval;
  std::string test_answer_within;
  bool two_person_rule = false;
  bool json = false;
};

// Builds the line from the flags, applying the defaults of station::LineTerms.
Result<station::LineConfig> line_from_flags(const AddFlags& flags) {
  station::LineConfig line;
  line.name = flags.name;
  HOTLINE_ASSIGN(line.peer, crypto::PublicKey::from_fingerprint(flags.peer));
  for (const auto& text : flags.routes) {
    HOTLINE_ASSIGN(auto endpoint, station::Endpoint::parse(text));
    line.routes.push_back(endpoint);
  }
  if (!flags.response_deadline.empty()) {
    HOTLINE_ASSIGN(line.terms.response_deadline, parse_duration(flags.response_deadline));
  }
  if (!flags.ack_deadline.empty()) {
    // One value for every precedence; per-precedence values are set in hotline.toml.
    HOTLINE_ASSIGN(Micros ack, parse_duration(flags.ack_deadline));
    line.terms.ack_deadline.fill(ack);
  }
  if (!flags.test_interval.empty()) {
    HOTLINE_ASSIGN(line.terms.test_interval, parse_duration(flags.test_interval));
  }
  if (!flags.test_answer_within.empty()) {
    HOTLINE_ASSIGN(line.terms.test_answer_within, parse_duration(flags.test_answer_within));
  }
  line.terms.two_person_rule = flags.two_person_rule;
  return line;
}

Result<nlohmann::json> add_line(const AddFlags& flags) {
  HOTLINE_ASSIGN(Station s, open_station(resolve_dir(flags.dir)));
  HOTLINE_ASSIGN(station::LineConfig line, line_from_flags(flags));
  HOTLINE_TRY(station::validate_new_line(s.config, line, s.key));
  // The record learns the line first: if saving the configuration then fails, adding again is
  // harmless (add_line is idempotent), whereas the reverse order could leave a configured line the
  // record refuses.
  HOTLINE_ASSIGN(auto store, store::open_sqlite_store(s.paths.database(), {}));
  const auto id = record::derive_line_id(s.key, line.peer, line.name);
  HOTLINE_TRY(store->add_line({id, line.name, s.key, line.peer}));
  s.config.lines.push_back(line);
  HOTLINE_TRY(station::save_config(s.paths.config(), s.config));
  return line_json(line, s.key);
}

void print_line(const nlohmann::json& l) {
  std::cout << l["name"].get<std::string>() << "  id " << l["id"].get<std::string>() << "\n  peer  "
            << l["peer"].get<std::string>() << "\n  routes";
  for (const auto& r : l["routes"]) {
    std::cout << " " << r.get<std::string>();
  }
  std::cout << "\n  response deadline " << l["response_deadline"].get<std::string>()
            << ", test every " << l["test_interval"].get<std::string>() << " (answer within "
            << l["test_answer_within"].get<std::string>() << ")"
            << (l["two_person_rule"].get<bool>() ? ", two-person rule" : "") << "\n  ack deadlines";
  for (auto& [precedence, d] : l["ack_deadline"].items()) {
    std::cout << " " << precedence << " " << d.get<std::string>();
  }
  std::cout << "\n";
}

}  // namespace

Command add_line_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("line", "Add, list and show the station's lines");
  sub->require_subcommand(1);

  auto add = std::make_shared<AddFlags>();
  CLI::App* add_cmd = sub->add_subcommand("add", "Add a line to a peer station");
  add_cmd->add_option("--dir", add->dir, "Data directory (default $HOTLINE_DIR or .)");
  add_cmd->add_option("--name", add->name, "The line's name, agreed with the peer")->required();
  add_cmd->add_option("--peer", add->peer, "The peer station's fingerprint (hl1:…)")->required();
  add_cmd->add_option("--route", add->routes,
                      "HOST:PORT of the peer; repeat, preferred first. Without any, this station "
                      "only answers when the peer dials it");
  add_cmd->add_option("--response-deadline", add->response_deadline, "Default 48h");
  add_cmd->add_option("--ack-deadline", add->ack_deadline,
                      "One acknowledgement deadline for every precedence (default by precedence: "
                      "FLASH 10m, IMMEDIATE 30m, PRIORITY 3h, ROUTINE 6h)");
  add_cmd->add_option("--test-interval", add->test_interval, "Default 1h");
  add_cmd->add_option("--test-answer-within", add->test_answer_within,
                      "How long the peer's station has to answer a link test before the alarm "
                      "(default 5m)");
  add_cmd->add_flag("--two-person-rule", add->two_person_rule,
                    "An operator's decision is held until a principal confirms it");
  add_cmd->add_flag("--json", add->json, "Print one JSON document");

  struct ListFlags {
    std::string dir;
    std::string name;
    bool json = false;
  };
  auto list = std::make_shared<ListFlags>();
  CLI::App* list_cmd = sub->add_subcommand("list", "List the lines");
  list_cmd->add_option("--dir", list->dir, "Data directory (default $HOTLINE_DIR or .)");
  list_cmd->add_flag("--json", list->json, "Print one JSON document");
  auto show = std::make_shared<ListFlags>();
  CLI::App* show_cmd = sub->add_subcommand("show", "Show one line");
  show_cmd->add_option("--dir", show->dir, "Data directory (default $HOTLINE_DIR or .)");
  show_cmd->add_option("--name", show->name, "The line's name")->required();
  show_cmd->add_flag("--json", show->json, "Print one JSON document");

  return {sub, [=] {
            if (add_cmd->parsed()) {
              auto added = add_line(*add);
              if (!added) {
                return report_error(added.error(), add->json);
              }
              add->json ? print_json(*added) : print_line(*added);
              return static_cast<int>(kExitOk);
            }
            const bool showing = show_cmd->parsed();
            const ListFlags& flags = showing ? *show : *list;
            auto s = open_station(resolve_dir(flags.dir));
            if (!s) {
              return report_error(s.error(), flags.json);
            }
            nlohmann::json lines = nlohmann::json::array();
            for (const auto& line : s->config.lines) {
              if (!showing || line.name == flags.name) {
                lines.push_back(line_json(line, s->key));
              }
            }
            if (showing && lines.empty()) {
              return report_error(make_error(Errc::kNotFound, "no line named '" + flags.name + "'"),
                                  flags.json);
            }
            if (flags.json) {
              print_json(showing ? lines[0] : nlohmann::json{{"lines", lines}});
            } else {
              for (const auto& l : lines) {
                print_line(l);
              }
            }
            return static_cast<int>(kExitOk);
          }};
}

}  // namespace hotline::cli
