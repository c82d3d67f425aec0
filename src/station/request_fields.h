// station/request_fields.h — reading what clients send to the procedure's endpoints: JSON
// bodies field by field, with every error naming the field (400), request paths, and the
// report's query.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "procedure/entry_kinds.h"

namespace hotline::station {

// kInvalidArgument: "field 'FIELD' WHAT".
Error field_error(const std::string& field, const std::string& what);

// The non-empty parts of `text` between separators ("/v1/lines/L" → v1, lines, L).
std::vector<std::string> split(const std::string& text, char separator);

// The report's period from the query of `target`, "?from=T&to=T" (UTC times as format_utc
// writes them, either optional, ':' possibly sent as %3A): [from, to). By default from the epoch
// to the end of 9999. kInvalidArgument names the parameter.
[[nodiscard]] Result<std::pair<Micros, Micros>> report_period(const std::string& target);

// The fields of one JSON request body. Times are ISO 8601 UTC, "now", or "+DURATION" from `now`
// (the station's clock); durations as core/duration.h reads them ("30m", "48h").
class Fields {
 public:
  // kInvalidArgument unless `body` is a JSON object (an empty body is {}).
  static Result<Fields> parse(const std::string& body);

  bool has(const std::string& key) const { return document_.contains(key); }
  // A string field; "" when absent and not `required`.
  Result<std::string> text(const std::string& key, bool required) const;
  Result<std::optional<procedure::TimeWindow>> window(const std::string& key, Micros now) const;
  Result<std::vector<procedure::TimeWindow>> windows(const std::string& key, Micros now) const;
  Result<std::optional<Micros>> duration(const std::string& key) const;
  // "precedence", ROUTINE when absent.
  Result<Precedence> precedence() const;
  // "kind"; `fallback` when absent, and required when `fallback` is empty.
  Result<procedure::RequestKind> kind(const std::string& fallback) const;
  // A boolean field, false when absent.
  Result<bool> flag(const std::string& key) const;

 private:
  explicit Fields(nlohmann::json document) : document_(std::move(document)) {}
  Result<Micros> time(const std::string& key, const nlohmann::json& value, Micros now) const;
  Result<procedure::TimeWindow> window_of(const std::string& key, const nlohmann::json& value,
                                          Micros now) const;
  nlohmann::json document_;
};

}  // namespace hotline::station
