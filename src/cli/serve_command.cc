// `hotline serve`, and the commands that talk to a serving station over its control socket:
// `send` and `status` (docs/cli.md).
#include <iostream>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/station_call.h"
#include "crypto/passphrase.h"
#include "station/station_server.h"

namespace hotline::cli {

namespace {

// "request 3fa9c2d1-12 on line L: incoming call, acknowledged, awaiting us until T: topic"
std::string request_line(const nlohmann::json& r) {
  std::string text = "request " + r.value("id", std::string()) + " on line " +
                     r.value("line", std::string()) + ": " + r.value("direction", std::string()) +
                     " " + r.value("kind", std::string()) + ", " + r.value("state", std::string());
  if (r["awaiting"].is_string()) {
    text += ", awaiting " + r["awaiting"].get<std::string>();
    if (r["deadline"].is_string()) {
      text += " until " + r["deadline"].get<std::string>();
    }
  }
  return text + ": " + r.value("topic", std::string());
}

// `status --request ID`: that request from the status's list; exit 2 if no line has it.
int print_one_request(const nlohmann::json& status, const std::string& id, bool json) {
  for (const auto& r : status["requests"]) {
    if (r.value("id", std::string()) == id) {
      if (json) {
        print_json({{"requests", nlohmann::json::array({r})}});
      } else {
        std::cout << request_line(r) << "\n";
      }
      return kExitOk;
    }
  }
  return report_error(make_error(Errc::kNotFound, "no request " + id + " on any line"), json);
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::string passphrase_file;
    bool test_clock = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("serve",
                                     "Run the station: its lines, listener and control "
                                     "socket, until SIGINT or SIGTERM");
  sub->add_option("--dir", flags->dir, "Data directory (default $HOTLINE_DIR or .)");
  sub->add_option("--passphrase-file", flags->passphrase_file,
                  "File holding the passphrase of a sealed identity key");
  sub->add_flag("--test-clock", flags->test_clock,
                "For tests and drills only: the station's clock can be advanced with `hotline "
                "clock advance` (the offset is kept in DIR/test-clock across restarts)");
  return {sub, [flags] {
            station::ServeOptions options;
            options.dir = resolve_dir(flags->dir);
            options.test_clock = flags->test_clock;
            if (!flags->passphrase_file.empty()) {
              auto passphrase = crypto::Passphrase::read_file(flags->passphrase_file);
              if (!passphrase) {
                return report_error(passphrase.error(), false);
              }
              options.passphrase.emplace(std::move(passphrase).value());
            }
            auto served = station::serve(std::move(options));
            if (!served) {
              return report_error(served.error(), false);
            }
            return static_cast<int>(kExitOk);
          }};
}

Command add_send_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::string line;
    std::string precedence = "ROUTINE";
    std::string text;
    double wait = 0;
    std::string as;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "send", "Send a message on a line of the running station (durable when this returns)");
  sub->add_option("--dir", flags->dir, "Data directory (default $HOTLINE_DIR or .)");
  sub->add_option("--line", flags->line, "The line's name")->required();
  sub->add_option("--precedence", flags->precedence,
                  "FLASH, IMMEDIATE, PRIORITY or ROUTINE (default ROUTINE)");
  sub->add_option("--text", flags->text, "The message")->required();
  sub->add_option("--wait", flags->wait,
                  "Wait up to SECONDS (at most 300) for the peer's signed receipt; exit 3 if it "
                  "has not come by then (the message stays durable and on its way)")
      ->check(CLI::Range(0.0, 300.0));
  sub->add_option("--as", flags->as,
                  "The user it is sent for (`hotline user add`): refused (exit 4) if unknown, "
                  "disabled, or a role that may not send; recorded in the message");
  sub->add_flag("--json", flags->json, "Print one JSON document");
  return {sub, [flags] {
            int exit_code = kExitOk;
            nlohmann::json body = {{"precedence", flags->precedence}, {"text", flags->text}};
            if (flags->wait > 0) {
              body["wait"] = flags->wait;
            }
            if (!flags->as.empty()) {
              body["as"] = flags->as;
            }
            const auto timeout =
                std::chrono::milliseconds(static_cast<long>(flags->wait * 1000) + 30'000);
            auto answer = call_station(resolve_dir(flags->dir), "POST",
                                       "/v1/lines/" + flags->line + "/messages", body.dump(),
                                       flags->json, exit_code, timeout);
            if (!answer) {
              return exit_code;
            }
            const std::string status = (*answer).value("status", "");
            const bool unconfirmed = flags->wait > 0 && status != "receipted";
            if (flags->json) {
              print_json(*answer);
            } else if (status == "receipted") {
              std::cout << "delivered: message on line " << flags->line << " ("
                        << (*answer)["precedence"].get<std::string>()
                        << "), stored by the peer, whose signed receipt is stored here\n";
            } else {
              const std::string precedence = (*answer)["precedence"].get<std::string>();
              if (unconfirmed) {
                std::cerr << "no receipt from the peer within " << flags->wait
                          << " s; the message is stored and is sent as soon as the line is up\n";
              }
              if (status == "authored") {
                std::cout << "sent: entry " << (*answer)["seq"].get<std::uint64_t>() << " on line "
                          << flags->line << " (" << precedence
                          << "), signed and stored; `hotline status` shows when it is receipted\n";
              } else {
                std::cout << "queued: message " << (*answer)["draft"].get<std::uint64_t>()
                          << " on line " << flags->line << " (" << precedence
                          << "); it is sent as soon as the line is up\n";
              }
            }
            return unconfirmed ? static_cast<int>(kExitUnreachable) : exit_code;
          }};
}

Command add_status_command(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::string request;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "status", "Show the running station's lines and links, and its requests and their states");
  sub->add_option("--dir", flags->dir, "Data directory (default $HOTLINE_DIR or .)");
  sub->add_option("--request", flags->request,
                  "Only this request (an id like 3fa9c2d1-12, on any line)");
  sub->add_flag("--json", flags->json, "Print one JSON document");
  return {sub, [flags] {
            int exit_code = kExitOk;
            auto answer = call_station(resolve_dir(flags->dir), "GET", "/v1/status", "",
                                       flags->json, exit_code);
            if (!answer) {
              return exit_code;
            }
            if (!flags->request.empty()) {
              return print_one_request(*answer, flags->request, flags->json);
            }
            if (flags->json) {
              print_json(*answer);
              return exit_code;
            }
            const auto& s = *answer;
            std::cout << s["station"].get<std::string>() << "  "
                      << s["fingerprint"].get<std::string>() << "\n";
            if (s.value("test_clock", false)) {
              std::cout << "TEST CLOCK: the station's clock reads "
                        << s.value("clock", std::string()) << "\n";
            }
            for (const auto& l : s["lines"]) {
              std::cout << "line " << l["name"].get<std::string>() << ": "
                        << l["state"].get<std::string>();
              if (l["route"].is_string()) {
                std::cout << " over " << l["route"].get<std::string>();
              }
              if (l["round_trip_us"].is_number()) {
                std::cout << ", round trip " << l["round_trip_us"].get<std::int64_t>() << " µs";
              }
              if (l.contains("peer_clock_offset_us") && l["peer_clock_offset_us"].is_number()) {
                std::cout << ", peer clock " << std::showpos
                          << l["peer_clock_offset_us"].get<std::int64_t>() / 1000 << std::noshowpos
                          << " ms";
              }
              std::cout << "\n  our chain " << l["own"]["seq"].get<std::uint64_t>()
                        << " (receipted " << l["receipted"].get<std::uint64_t>() << "), theirs "
                        << l["peer_chain"]["seq"].get<std::uint64_t>() << "\n  outbox";
              for (const auto& [precedence, n] : l["outbox"].items()) {
                std::cout << " " << precedence << " " << n.get<std::uint64_t>();
              }
              std::cout << "\n";
              if (l.contains("requests") && !l["requests"].empty()) {
                std::cout << "  requests";
                for (const auto& [state, n] : l["requests"].items()) {
                  std::cout << " " << state << " " << n.get<std::uint64_t>();
                }
                std::cout << "\n";
              }
              if (l.contains("link_tests") && l["link_tests"]["sent"].get<std::uint64_t>() > 0) {
                const auto& t = l["link_tests"];
                std::cout << "  link tests: " << t["answered"].get<std::uint64_t>() << " of "
                          << t["sent"].get<std::uint64_t>() << " answered";
                if (t["last_round_trip_us"].is_number()) {
                  std::cout << ", last round trip " << t["last_round_trip_us"].get<std::int64_t>()
                            << " µs";
                }
                if (t["missed"].get<std::uint64_t>() > 0) {
                  std::cout << "; ALARM: " << t["missed"].get<std::uint64_t>() << " missed";
                }
                std::cout << "\n";
              }
              if (l["counters"]["alarms"].get<std::uint64_t>() > 0) {
                std::cout << "  ALARM: " << l["counters"]["alarms"].get<std::uint64_t>()
                          << " equivocation or divergence alarm(s); evidence kept\n";
              }
            }
            for (const auto& r : s["requests"]) {
              if (r["awaiting"].is_string()) {
                std::cout << request_line(r) << "\n";
              }
            }
            return exit_code;
          }};
}

}  // namespace hotline::cli
