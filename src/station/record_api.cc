#include "station/record_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "record/export_jsonl.h"
#include "record/verify.h"
#include "station/procedure_api.h"

namespace hotline::station {

using nlohmann::json;

namespace {

std::optional<std::uint64_t> number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

ControlResponse bad_query(const std::string& message) {
  return error_response(make_error(Errc::kInvalidArgument, message));
}

}  // namespace

std::optional<std::string> query_parameter(const std::string& query, const std::string& key) {
  for (std::size_t at = 0; at <= query.size();) {
    std::size_t end = query.find('&', at);
    if (end == std::string::npos) {
      end = query.size();
    }
    if (query.compare(at, key.size() + 1, key + "=") == 0) {
      return query.substr(at + key.size() + 1, end - at - key.size() - 1);
    }
    at = end + 1;
  }
  return std::nullopt;
}

ControlResponse record_page(store::RecordStore& store, const store::LineParties& line,
                            std::uint64_t own_receipted, const std::string& query) {
  const std::string chain = query_parameter(query, "chain").value_or("own");
  if (chain != "own" && chain != "peer") {
    return bad_query("query 'chain' must be own or peer");
  }
  const auto from = number(query_parameter(query, "from").value_or("1"));
  if (!from || *from == 0) {
    return bad_query("query 'from' must be a sequence number, 1 or more");
  }
  const auto limit = number(query_parameter(query, "limit").value_or("100"));
  if (!limit || *limit == 0 || *limit > kMaxRecordPage) {
    return bad_query("query 'limit' must be a number from 1 to " + std::to_string(kMaxRecordPage));
  }
  const record::PublicKey& author = chain == "own" ? line.local : line.peer;
  auto head = store.chain_head(line.id, author);
  if (!head.ok()) {
    return error_response(head.error());
  }
  // The entry before the page, to check the first entry's link to it.
  std::optional<record::SignedEntry> before;
  if (*from > 1) {
    auto previous = store.read_entries(line.id, author, *from - 1, 1);
    if (!previous.ok()) {
      return error_response(previous.error());
    }
    if (!previous->empty()) {
      before = previous->front();
    }
  }
  auto entries = store.read_entries(line.id, author, *from, *limit);
  if (!entries.ok()) {
    return error_response(entries.error());
  }
  json list = json::array();
  std::size_t failed = 0;
  std::string first_failure;
  for (const record::SignedEntry& entry : entries.value()) {
    record::ChainHead previous;
    if (before) {
      previous = {before->position(), before->fields.time};
    }
    std::string problem;
    if (!record::verify_entry_signature(entry)) {
      problem = "the signature does not verify";
    } else if (auto linked = record::check_extends(line.id, author, previous, entry);
               !linked.ok()) {
      problem = linked.error().message;
    }
    json item = json::parse(record::export_entry(entry));
    item["verified"] = problem.empty();
    if (!problem.empty()) {
      item["problem"] = problem;
      if (failed++ == 0) {
        first_failure = "seq " + std::to_string(entry.fields.seq) + ": " + problem;
      }
    }
    if (chain == "own") {
      item["receipted"] = entry.fields.seq <= own_receipted;
    }
    list.push_back(std::move(item));
    before = entry;
  }
  const std::uint64_t head_seq = head->position.seq;
  const std::uint64_t next = *from + list.size();
  return json_response(200, {{"line", line.name},
                             {"chain", chain},
                             {"author", author.fingerprint()},
                             {"head", head_seq},
                             {"from", *from},
                             {"entries", list},
                             {"next", next <= head_seq ? json(next) : json()},
                             {"verification",
                              {{"checked", list.size()},
                               {"failed", failed},
                               {"first_failure", failed ? json(first_failure) : json()}}}});
}

}  // namespace hotline::station
