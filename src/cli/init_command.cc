// `hotline init` and `hotline fingerprint`.
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "crypto/key_file.h"
#include "station/station_dir.h"

namespace hotline::cli {

Command add_init_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::string name;
    std::string listen = "0.0.0.0:7400";
    std::string api = "127.0.0.1:7480";
    std::string passphrase_file;
    std::string seed_hex;
    bool json = false;
    bool no_api_tls = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub =
      app.add_subcommand("init", "Create a station: identity key, configuration, database");
  sub->add_option("--dir", flags->dir, "Data directory (default $HOTLINE_DIR or .)");
  sub->add_option("--name", flags->name, "The station's name, e.g. mod-hanoi")->required();
  sub->add_option("--listen", flags->listen, "Where peers' links arrive (HOST:PORT)")
      ->capture_default_str();
  sub->add_option("--api", flags->api, "Where the API and console are served (HOST:PORT)")
      ->capture_default_str();
  sub->add_flag("--no-api-tls", flags->no_api_tls,
                "Serve the API over plain HTTP (only on a loopback --api: the demo, or a reverse "
                "proxy on this host)");
  sub->add_option("--passphrase-file", flags->passphrase_file,
                  "Seal the identity key with the passphrase in this file (Argon2id)");
  sub->add_option("--seed-hex", flags->seed_hex,
                  "Deterministic identity from a 32-byte hex seed (tests and demos only)")
      ->group("");
  sub->add_flag("--json", flags->json, "Print one JSON document");
  return {sub, [flags] {
            station::InitOptions options;
            options.dir = resolve_dir(flags->dir);
            options.name = flags->name;
            options.listen = flags->listen;
            options.api = flags->api;
            options.api_tls = !flags->no_api_tls;
            if (!flags->seed_hex.empty()) {
              options.seed_hex = flags->seed_hex;
            }
            if (!flags->passphrase_file.empty()) {
              auto passphrase = crypto::Passphrase::read_file(flags->passphrase_file);
              if (!passphrase) {
                return report_error(passphrase.error(), flags->json);
              }
              options.passphrase.emplace(std::move(passphrase).value());
            }
            auto result = station::init_station(options);
            if (!result) {
              return report_error(result.error(), flags->json);
            }
            const std::string fingerprint = result->public_key.fingerprint();
            if (flags->json) {
              print_json({{"fingerprint", fingerprint},
                          {"dir", options.dir},
                          {"key_sealed", result->key_sealed},
                          {"api_fingerprint", result->api_fingerprint}});
            } else {
              std::cout << fingerprint << "\n";
              std::cerr << "hotline: the API's certificate (what browsers show) has SHA-256 "
                           "fingerprint "
                        << result->api_fingerprint << "\n";
            }
            if (!result->key_sealed) {
              std::cerr << "hotline: note: the identity key is stored unencrypted in "
                        << options.dir << "/identity.key (permissions 0600); use "
                        << "--passphrase-file to seal it\n";
            }
            return static_cast<int>(kExitOk);
          }};
}

Command add_fingerprint_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("fingerprint", "Print the station's fingerprint (hl1:…)");
  sub->add_option("--dir", flags->dir, "Data directory (default $HOTLINE_DIR or .)");
  sub->add_flag("--json", flags->json, "Print one JSON document");
  return {sub, [flags] {
            auto paths = station::open_station_dir(resolve_dir(flags->dir));
            if (!paths) {
              return report_error(paths.error(), flags->json);
            }
            auto key = crypto::read_public_key(paths->key());
            if (!key) {
              return report_error(key.error(), flags->json);
            }
            if (flags->json) {
              print_json({{"fingerprint", key->fingerprint()}});
            } else {
              std::cout << key->fingerprint() << "\n";
            }
            return static_cast<int>(kExitOk);
          }};
}

}  // namespace hotline::cli
