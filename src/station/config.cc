#include "station/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include "core/file_io.h"
#include "record/types.h"

namespace hotline::station {
namespace {

// Where a value sits, for error messages: "hotline.toml:12: line.routes".
struct Place {
  const std::string& source;
  std::string key;
  std::int64_t line = 0;

  Error error(const std::string& what) const {
    // Appended piece by piece: GCC 12 at -O3 warns wrongly (-Wrestrict, GCC bug 105329) about
    // `":" + std::to_string(line)`.
    std::string where = source;
    if (line > 0) {
      where.append(":").append(std::to_string(line));
    }
    where.append(": ").append(key).append(": ").append(what);
    return make_error(Errc::kInvalidArgument, where);
  }
};

Place place_of(const std::string& source, const std::string& key, const toml::node& node) {
  return Place{source, key, static_cast<std::int64_t>(node.source().begin.line)};
}

Result<std::string> read_string(const toml::node& node, const Place& at) {
  if (!node.is_string()) {
    return at.error("must be a string");
  }
  return *node.value<std::string>();
}

Result<Micros> read_duration(const toml::node& node, const Place& at) {
  HOTLINE_ASSIGN(std::string text, read_string(node, at));
  auto parsed = parse_duration(text);
  if (!parsed) {
    return at.error(parsed.error().message);
  }
  return *parsed;
}

Result<Endpoint> read_endpoint(const toml::node& node, const Place& at) {
  HOTLINE_ASSIGN(std::string text, read_string(node, at));
  auto parsed = Endpoint::parse(text);
  if (!parsed) {
    return at.error(parsed.error().message);
  }
  return *parsed;
}

Result<std::vector<std::string>> read_strings(const toml::node& node, const Place& at) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    return at.error("must be an array of strings");
  }
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    HOTLINE_ASSIGN(std::string s, read_string(item, place_of(at.source, at.key, item)));
    out.push_back(std::move(s));
  }
  return out;
}

Result<void> read_station(const toml::table& table, const std::string& source,
                          StationConfig& config) {
  std::optional<Place> api_tls_at;
  for (auto&& [key, node] : table) {
    const Place at = place_of(source, "station." + std::string(key.str()), node);
    if (key == "name") {
      HOTLINE_ASSIGN(config.name, read_string(node, at));
    } else if (key == "listen") {
      HOTLINE_ASSIGN(config.listen, read_endpoint(node, at));
    } else if (key == "api") {
      HOTLINE_ASSIGN(config.api, read_endpoint(node, at));
    } else if (key == "log_level") {
      HOTLINE_ASSIGN(config.log_level, read_string(node, at));
      static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
      if (!kLevels.contains(config.log_level)) {
        return at.error("must be one of trace, debug, info, warn, error");
      }
    } else if (key == "log_format") {
      HOTLINE_ASSIGN(config.log_format, read_string(node, at));
      if (config.log_format != "text" && config.log_format != "json") {
        return at.error("must be text or json");
      }
    } else if (key == "api_tls") {
      if (!node.is_boolean()) {
        return at.error("must be true or false");
      }
      config.api_tls = *node.value<bool>();
      api_tls_at.emplace(at);
    } else if (key == "api_certificate") {
      HOTLINE_ASSIGN(config.api_certificate, read_string(node, at));
    } else if (key == "api_key") {
      HOTLINE_ASSIGN(config.api_key, read_string(node, at));
    } else if (key == "session_idle") {
      HOTLINE_ASSIGN(config.session_idle, read_duration(node, at));
    } else if (key == "session_max_age") {
      HOTLINE_ASSIGN(config.session_max_age, read_duration(node, at));
    } else if (key == "console_dir") {
      HOTLINE_ASSIGN(config.console_dir, read_string(node, at));
    } else {
      return at.error("unknown key");
    }
  }
  if (config.name.empty()) {
    return Place{source, "station.name"}.error("is required");
  }
  // Sessions, passwords and the record would cross the network in clear text.
  if (!config.api_tls && !config.api.is_loopback()) {
    return api_tls_at->error(
        "plain HTTP (false) is allowed only when station.api is a loopback "
        "address, and it is " +
        config.api.text());
  }
  if (config.session_idle <= 0 || config.session_max_age <= 0) {
    return Place{source, "station.session_idle"}.error("sessions need a positive duration");
  }
  return success();
}

Result<void> read_ack_deadlines(const toml::node& node, const Place& at, LineTerms& terms) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return at.error("must be a table of precedence = duration");
  }
  for (auto&& [key, value] : *table) {
    const Place here = place_of(at.source, at.key + "." + std::string(key.str()), value);
    auto precedence = parse_precedence(key.str());
    if (!precedence) {
      return here.error("unknown precedence (use flash, immediate, priority, routine)");
    }
    HOTLINE_ASSIGN(terms.ack_deadline[static_cast<int>(*precedence)], read_duration(value, here));
  }
  return success();
}

Result<void> read_line_key(std::string_view key, const toml::node& node, const Place& at,
                           LineConfig& line) {
  if (key == "name") {
    HOTLINE_ASSIGN(line.name, read_string(node, at));
  } else if (key == "peer") {
    HOTLINE_ASSIGN(std::string text, read_string(node, at));
    auto peer = crypto::PublicKey::from_fingerprint(text);
    if (!peer) {
      return at.error(peer.error().message);
    }
    line.peer = *peer;
  } else if (key == "routes") {
    HOTLINE_ASSIGN(auto texts, read_strings(node, at));
    for (const auto& text : texts) {
      auto endpoint = Endpoint::parse(text);
      if (!endpoint) {
        return at.error(endpoint.error().message);
      }
      line.routes.push_back(*endpoint);
    }
  } else if (key == "response_deadline") {
    HOTLINE_ASSIGN(line.terms.response_deadline, read_duration(node, at));
  } else if (key == "ack_deadline") {
    HOTLINE_TRY(read_ack_deadlines(node, at, line.terms));
  } else if (key == "test_interval") {
    HOTLINE_ASSIGN(line.terms.test_interval, read_duration(node, at));
  } else if (key == "test_answer_within") {
    HOTLINE_ASSIGN(line.terms.test_answer_within, read_duration(node, at));
  } else if (key == "clock_tolerance") {
    HOTLINE_ASSIGN(line.terms.clock_tolerance, read_duration(node, at));
  } else if (key == "two_person_rule") {
    if (!node.is_boolean()) {
      return at.error("must be true or false");
    }
    line.terms.two_person_rule = node.as_boolean()->get();
  } else if (key == "levels") {
    HOTLINE_ASSIGN(line.terms.levels, read_strings(node, at));
  } else if (key == "languages") {
    HOTLINE_ASSIGN(line.terms.languages, read_strings(node, at));
  } else {
    return at.error("unknown key");
  }
  return success();
}

Result<LineConfig> read_line(const toml::table& table, const std::string& source) {
  LineConfig line;
  bool has_peer = false;
  for (auto&& [key, node] : table) {
    const Place at = place_of(source, "line." + std::string(key.str()), node);
    HOTLINE_TRY(read_line_key(key.str(), node, at, line));
    has_peer = has_peer || key == "peer";
  }
  const Place at{source, "line", static_cast<std::int64_t>(table.source().begin.line)};
  if (line.name.empty() || line.name.size() > record::kMaxLineNameLength) {
    return at.error("every line needs a name of 1 to 128 bytes");
  }
  if (!has_peer) {
    return at.error("line '" + line.name + "' needs a peer fingerprint");
  }
  return line;
}

Result<void> read_lines(const toml::node& node, const std::string& source, StationConfig& config) {
  const toml::array* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return place_of(source, "line", node).error("must be written as [[line]] tables");
  }
  for (const toml::node& item : *array) {
    HOTLINE_ASSIGN(LineConfig line, read_line(*item.as_table(), source));
    if (config.find_line(line.name) != nullptr) {
      return place_of(source, "line.name", item).error("line '" + line.name + "' is defined twice");
    }
    config.lines.push_back(std::move(line));
  }
  return success();
}

toml::array string_array(const std::vector<std::string>& values) {
  toml::array out;
  for (const auto& v : values) {
    out.push_back(v);
  }
  return out;
}

toml::table line_table(const LineConfig& line) {
  toml::array routes;
  for (const auto& r : line.routes) {
    routes.push_back(r.text());
  }
  toml::table ack;
  for (Precedence p : kAllPrecedences) {
    std::string name(precedence_name(p));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    ack.insert(name, format_duration(line.terms.ack_deadline[static_cast<int>(p)]));
  }
  return toml::table{{"name", line.name},
                     {"peer", line.peer.fingerprint()},
                     {"routes", routes},
                     {"response_deadline", format_duration(line.terms.response_deadline)},
                     {"test_interval", format_duration(line.terms.test_interval)},
                     {"test_answer_within", format_duration(line.terms.test_answer_within)},
                     {"clock_tolerance", format_duration(line.terms.clock_tolerance)},
                     {"two_person_rule", line.terms.two_person_rule},
                     {"levels", string_array(line.terms.levels)},
                     {"languages", string_array(line.terms.languages)},
                     {"ack_deadline", ack}};
}

}  // namespace

std::string Endpoint::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool Endpoint::is_loopback() const { return host.rfind("127.", 0) == 0 || host == "::1"; }

Result<void> check_test_configuration(const StationConfig& config, const std::string& path) {
  auto refuse = [&](const std::string& what, const Endpoint& e) {
    return make_error(Errc::kRefused,
                      "--test-clock is for tests and exercises on one machine, and " + path +
                          " is a production configuration: " + what + " " + e.text() +
                          " is not a loopback address");
  };
  if (!config.listen.is_loopback()) {
    return refuse("the station listens on", config.listen);
  }
  if (!config.api.is_loopback()) {
    return refuse("the API listens on", config.api);
  }
  for (const LineConfig& line : config.lines) {
    for (const Endpoint& route : line.routes) {
      if (!route.is_loopback()) {
        return refuse("line " + line.name + " dials", route);
      }
    }
  }
  return success();
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return make_error(Errc::kInvalidArgument,
                      "address '" + std::string(text) + "' must be HOST:PORT");
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return make_error(Errc::kInvalidArgument,
                      "address '" + std::string(text) + "': write IPv6 hosts as [addr]:port");
  }
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      host.empty()) {
    return make_error(Errc::kInvalidArgument,
                      "address '" + std::string(text) + "' must be HOST:PORT with a port 0-65535");
  }
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

const LineConfig* StationConfig::find_line(std::string_view name) const {
  for (const auto& line : lines) {
    if (line.name == name) {
      return &line;
    }
  }
  return nullptr;
}

Result<StationConfig> parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::kInvalidArgument, source + ":" + std::to_string(e.source().begin.line) +
                                                  ": " + std::string(e.description()));
  }
  StationConfig config;
  bool has_station = false;
  for (auto&& [key, node] : root) {
    if (key == "station" && node.is_table()) {
      HOTLINE_TRY(read_station(*node.as_table(), source, config));
      has_station = true;
    } else if (key == "line") {
      HOTLINE_TRY(read_lines(node, source, config));
    } else {
      return place_of(source, std::string(key.str()), node)
          .error("unknown key (expected [station] and [[line]] tables)");
    }
  }
  if (!has_station) {
    return Place{source, "station"}.error("the [station] table is required");
  }
  return config;
}

Result<StationConfig> load_config(const std::string& path) {
  HOTLINE_ASSIGN(Bytes raw, read_whole_file(path, 1 << 20));
  return parse_config(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()),
                      path);
}

std::string render_config(const StationConfig& config) {
  toml::table root{
      {"station", toml::table{{"name", config.name},
                              {"listen", config.listen.text()},
                              {"api", config.api.text()},
                              {"log_level", config.log_level},
                              {"log_format", config.log_format},
                              {"api_tls", config.api_tls},
                              {"api_certificate", config.api_certificate},
                              {"api_key", config.api_key},
                              {"session_idle", format_duration(config.session_idle)},
                              {"session_max_age", format_duration(config.session_max_age)}}}};
  if (!config.console_dir.empty()) {
    root["station"].as_table()->insert("console_dir", config.console_dir);
  }
  if (!config.lines.empty()) {
    toml::array lines;
    for (const auto& line : config.lines) {
      lines.push_back(line_table(line));
    }
    root.insert("line", std::move(lines));
  }
  std::ostringstream out;
  out << "# Hotline station configuration; every key is described in docs/configuration.md.\n"
      << root << "\n";
  return out.str();
}

Result<void> save_config(const std::string& path, const StationConfig& config) {
  const std::string text = render_config(config);
  return replace_file_durably(path, as_bytes(text), 0600);
}

Result<void> validate_new_line(const StationConfig& config, const LineConfig& line,
                               const crypto::PublicKey& own_key) {
  if (line.name.empty() || line.name.size() > record::kMaxLineNameLength) {
    return make_error(Errc::kInvalidArgument, "a line name must be 1 to 128 bytes");
  }
  if (config.find_line(line.name) != nullptr) {
    return make_error(Errc::kRefused, "this station already has a line named '" + line.name + "'");
  }
  if (line.peer == own_key) {
    return make_error(Errc::kInvalidArgument, "the peer fingerprint is this station's own");
  }
  return success();
}

}  // namespace hotline::station
