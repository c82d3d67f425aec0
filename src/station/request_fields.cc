#include "station/request_fields.h"

#include "core/duration.h"

namespace hotline::station {

using nlohmann::json;

Error field_error(const std::string& field, const std::string& what) {
  return make_error(Errc::kInvalidArgument, "field '" + field + "' " + what);
}

// The non-empty parts of `text` between separators.
std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t slash = text.find(separator, start);
    const std::size_t end = slash == std::string::npos ? text.size() : slash;
    if (end > start) {
      parts.push_back(text.substr(start, end - start));
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  return parts;
}

Result<std::pair<Micros, Micros>> report_period(const std::string& target) {
  // By default everything: to the last microsecond of 9999, which the calendar still names.
  std::pair<Micros, Micros> period{0, 253'402'300'799'999'999};
  const auto question = target.find('?');
  const std::string raw = question == std::string::npos ? "" : target.substr(question + 1);
  std::string query;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw.compare(i, 3, "%3A") == 0 || raw.compare(i, 3, "%3a") == 0) {
      query += ':';
      i += 2;
    } else {
      query += raw[i];
    }
  }
  for (const std::string& pair : split(query, '&')) {
    if (pair.empty()) {
      continue;
    }
    const auto equals = pair.find('=');
    const std::string key = pair.substr(0, equals);
    if (key != "from" && key != "to") {
      return make_error(Errc::kInvalidArgument,
                        "unknown report parameter '" + key + "' (from and to are known)");
    }
    auto time = parse_utc(equals == std::string::npos ? "" : pair.substr(equals + 1));
    if (!time.ok()) {
      return make_error(Errc::kInvalidArgument,
                        "report parameter '" + key + "': " + time.error().message);
    }
    (key == "from" ? period.first : period.second) = time.value();
  }
  if (period.first >= period.second) {
    return make_error(Errc::kInvalidArgument, "the report's period must end after it starts");
  }
  return period;
}

Result<Fields> Fields::parse(const std::string& body) {
  json document = json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (!document.is_object()) {
    return make_error(Errc::kInvalidArgument, "the body must be a JSON object");
  }
  return Fields(std::move(document));
}

Result<std::string> Fields::text(const std::string& key, bool required) const {
  if (!has(key)) {
    if (required) {
      return field_error(key, "is required");
    }
    return std::string();
  }
  if (!document_[key].is_string()) {
    return field_error(key, "must be a string");
  }
  return document_[key].get<std::string>();
}

// A point in time: ISO 8601 UTC, "now", or "+DURATION" from the station's clock.
Result<Micros> Fields::time(const std::string& key, const json& value, Micros now) const {
  if (!value.is_string()) {
    return field_error(key, "must be a time like 2027-01-15T08:00Z or +2h");
  }
  const std::string text = value.get<std::string>();
  if (text == "now" || text == "+0m" || text == "+0s" || text == "+0h") {
    return now;
  }
  if (!text.empty() && text[0] == '+') {
    auto after = parse_duration(text.substr(1));
    if (!after.ok()) {
      return field_error(key, after.error().message);
    }
    return now + after.value();
  }
  auto at = parse_utc(text);
  if (!at.ok()) {
    return field_error(key, at.error().message);
  }
  return at.value();
}

Result<procedure::TimeWindow> Fields::window_of(const std::string& key, const json& value,
                                                Micros now) const {
  if (!value.is_object() || !value.contains("start") || !value.contains("end")) {
    return field_error(key, "must be {\"start\": TIME, \"end\": TIME}");
  }
  HOTLINE_ASSIGN(Micros start, time(key + ".start", value["start"], now));
  HOTLINE_ASSIGN(Micros end, time(key + ".end", value["end"], now));
  if (start >= end) {
    return field_error(key, "must end after it starts");
  }
  return procedure::TimeWindow{start, end};
}

Result<std::optional<procedure::TimeWindow>> Fields::window(const std::string& key,
                                                            Micros now) const {
  if (!has(key)) {
    return std::optional<procedure::TimeWindow>();
  }
  HOTLINE_ASSIGN(auto w, window_of(key, document_[key], now));
  return std::optional<procedure::TimeWindow>(w);
}

Result<std::vector<procedure::TimeWindow>> Fields::windows(const std::string& key,
                                                           Micros now) const {
  std::vector<procedure::TimeWindow> out;
  if (!has(key)) {
    return out;
  }
  if (!document_[key].is_array()) {
    return field_error(key, "must be an array of {\"start\", \"end\"}");
  }
  for (const json& item : document_[key]) {
    HOTLINE_ASSIGN(auto w, window_of(key, item, now));
    out.push_back(w);
  }
  return out;
}

Result<std::optional<Micros>> Fields::duration(const std::string& key) const {
  if (!has(key)) {
    return std::optional<Micros>();
  }
  if (!document_[key].is_string()) {
    return field_error(key, "must be a duration like \"30m\" or \"48h\"");
  }
  auto d = parse_duration(document_[key].get<std::string>());
  if (!d.ok()) {
    return field_error(key, d.error().message);
  }
  return std::optional<Micros>(d.value());
}

Result<Precedence> Fields::precedence() const {
  HOTLINE_ASSIGN(std::string text, this->text("precedence", false));
  if (text.empty()) {
    return Precedence::kRoutine;
  }
  auto p = parse_precedence(text);
  if (!p) {
    return field_error("precedence", "must be FLASH, IMMEDIATE, PRIORITY or ROUTINE");
  }
  return *p;
}

Result<procedure::RequestKind> Fields::kind(const std::string& fallback) const {
  HOTLINE_ASSIGN(std::string text, this->text("kind", fallback.empty()));
  auto k = procedure::parse_request_kind(text.empty() ? fallback : text);
  if (!k) {
    return field_error("kind", "must be call, video or written");
  }
  return *k;
}

Result<bool> Fields::flag(const std::string& key) const {
  if (!has(key)) {
    return false;
  }
  if (!document_[key].is_boolean()) {
    return field_error(key, "must be true or false");
  }
  return document_[key].get<bool>();
}

}  // namespace hotline::station
