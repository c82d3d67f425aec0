#include "record/export_jsonl.h"

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <variant>
#include <vector>

namespace hotline::record {
namespace {

using nlohmann::json;

json body_to_json(const cbor::Value& v) {
  switch (v.type()) {
    case cbor::Value::Type::kUnsigned:
      return v.as_uint();
    case cbor::Value::Type::kNegative:
      return -1 - static_cast<std::int64_t>(v.negative_argument());
    case cbor::Value::Type::kBytes:
      return json{{"base64", to_base64(v.as_bytes())}};
    case cbor::Value::Type::kText:
      return v.as_text();
    case cbor::Value::Type::kArray: {
      json out = json::array();
      for (const auto& item : v.as_array()) {
        out.push_back(body_to_json(item));
      }
      return out;
    }
    case cbor::Value::Type::kMap: {
      json out = json::object();
      for (const auto& [key, value] : v.as_map()) {
        const std::string name = key.is_uint()   ? std::to_string(key.as_uint())
                                 : key.is_text() ? key.as_text()
                                                 : to_hex(cbor::encode(key));
        out[name] = body_to_json(value);
      }
      return out;
    }
    case cbor::Value::Type::kBool:
      return v.as_bool();
    case cbor::Value::Type::kNull:
      return nullptr;
  }
  return nullptr;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::strict); }

// What a signed item's line is read for; the other fields are compared whole by check_copies.
struct Claims {
  std::string type;
  Bytes signed_bytes;
};

// Reads the fields every signed item must have. Returns an error naming the missing field, which
// says more than the copy check would.
Result<Claims> read_claims(const json& j) {
  Claims c;
  for (const char* field : {"type", "line", "author", "signed"}) {
    if (!j.contains(field) || !j[field].is_string()) {
      return make_error(Errc::kMalformed,
                        std::string("field \"") + field + "\" is missing or not a string");
    }
  }
  if (!j.contains("seq") || !j["seq"].is_number_unsigned()) {
    return make_error(Errc::kMalformed, "field \"seq\" is missing or not an unsigned integer");
  }
  c.type = j["type"];
  auto raw = from_base64(j["signed"].get<std::string>());
  if (!raw) {
    return make_error(Errc::kMalformed, "field \"signed\" is not valid base64");
  }
  c.signed_bytes = std::move(raw).value();
  return c;
}

// Every field beside "signed" is a decoded copy for readers; a forged copy (say, a changed body
// text over untouched signed bytes) would mislead them, so the line must be exactly what `export`
// writes for those signed bytes.
Result<void> check_copies(const json& line, const json& expected) {
  if (line != expected) {
    return make_error(Errc::kMalformed,
                      "the decoded fields of this line disagree with its signed bytes");
  }
  return success();
}

json header_json(const LineHeader& header) {
  return {{"type", "line"},
          {"line", header.id.hex()},
          {"name", header.name},
          {"parties", {header.first.fingerprint(), header.second.fingerprint()}}};
}

json entry_json(const SignedEntry& e) {
  const EntryFields& f = e.fields;
  return {{"type", "entry"},
          {"line", f.line.hex()},
          {"author", f.author.fingerprint()},
          {"seq", f.seq},
          {"signed", to_base64(e.signed_bytes)},
          {"hash", to_hex(e.hash)},
          {"prev", to_hex(f.prev)},
          {"time", f.time},
          {"cross_seq", f.cross.seq},
          {"cross_hash", to_hex(f.cross.hash)},
          {"kind", f.kind},
          {"body", body_to_json(f.body)}};
}

json receipt_json(const SignedReceipt& r) {
  const ReceiptFields& f = r.fields;
  return {{"type", "receipt"},
          {"line", f.line.hex()},
          {"author", f.signer.fingerprint()},
          {"seq", f.held.seq},
          {"signed", to_base64(r.signed_bytes)},
          {"chain", f.chain_author.fingerprint()},
          {"hash", to_hex(f.held.hash)},
          {"time", f.time}};
}

json checkpoint_json(const SignedCheckpoint& k) {
  const CheckpointFields& f = k.fields;
  return {{"type", "checkpoint"},
          {"line", f.line.hex()},
          {"author", f.signer.fingerprint()},
          {"seq", f.own.seq},
          {"signed", to_base64(k.signed_bytes)},
          {"own_seq", f.own.seq},
          {"own_hash", to_hex(f.own.hash)},
          {"peer_seq", f.peer.seq},
          {"peer_hash", to_hex(f.peer.hash)},
          {"time", f.time}};
}

Result<LineHeader> read_header(const json& j) {
  if (!j.contains("line") || !j["line"].is_string() || !j.contains("name") ||
      !j["name"].is_string() || !j.contains("parties") || !j["parties"].is_array() ||
      j["parties"].size() != 2 || !j["parties"][0].is_string() || !j["parties"][1].is_string()) {
    return make_error(Errc::kMalformed,
                      "a line header needs \"line\", \"name\" and two \"parties\" fingerprints");
  }
  LineHeader header;
  const std::string id = j["line"];
  if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return make_error(Errc::kMalformed, "\"line\" must be 32 lowercase hex digits");
  }
  HOTLINE_ASSIGN(header.id, LineId::from_hex(id));
  header.name = j["name"];
  HOTLINE_ASSIGN(header.first, PublicKey::from_fingerprint(j["parties"][0].get<std::string>()));
  HOTLINE_ASSIGN(header.second, PublicKey::from_fingerprint(j["parties"][1].get<std::string>()));
  return header;
}

struct Unreadable {
  std::string type;
  std::string reason;
};
// An entry whose signature was checked by the parsing thread: signatures are most of the cost of
// verification, so they are checked where the parsing already runs on all cores.
struct CheckedEntry {
  SignedEntry entry;
  bool signature_valid = false;
};
using ParsedLine =
    std::variant<LineHeader, CheckedEntry, SignedReceipt, SignedCheckpoint, Unreadable>;

Error bad_signature(const PublicKey& signer) {
  return make_error(Errc::kBadSignature,
                    "signature does not verify (signed by " + signer.fingerprint() + ")");
}

// Decodes one export line into the item it holds; pure, so lines are parsed on all cores.
Result<ParsedLine> decode_line(const json& j) {
  if (j.contains("type") && j["type"] == "line") {
    HOTLINE_ASSIGN(LineHeader header, read_header(j));
    HOTLINE_TRY(check_copies(j, header_json(header)));
    return ParsedLine(std::move(header));
  }
  HOTLINE_ASSIGN(Claims c, read_claims(j));
  if (c.type == "entry") {
    HOTLINE_ASSIGN(SignedEntry e, decode_entry(c.signed_bytes));
    // The signature first: if the signed bytes were altered, that is the finding to report, not
    // the copies that no longer match them.
    if (!verify_entry_signature(e)) {
      return ParsedLine(CheckedEntry{std::move(e), false});
    }
    HOTLINE_TRY(check_copies(j, entry_json(e)));
    return ParsedLine(CheckedEntry{std::move(e), true});
  }
  if (c.type == "receipt") {
    HOTLINE_ASSIGN(SignedReceipt r, decode_receipt(c.signed_bytes));
    if (!verify_receipt_signature(r)) {
      return bad_signature(r.fields.signer);
    }
    HOTLINE_TRY(check_copies(j, receipt_json(r)));
    return ParsedLine(std::move(r));
  }
  if (c.type == "checkpoint") {
    HOTLINE_ASSIGN(SignedCheckpoint k, decode_checkpoint(c.signed_bytes));
    if (!verify_checkpoint_signature(k)) {
      return bad_signature(k.fields.signer);
    }
    HOTLINE_TRY(check_copies(j, checkpoint_json(k)));
    return ParsedLine(std::move(k));
  }
  return make_error(Errc::kMalformed, "unknown type \"" + c.type + "\"");
}

ParsedLine parse_line(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Unreadable{"unknown", "not a JSON object"};
  }
  auto decoded = decode_line(j);
  if (!decoded) {
    const bool typed = j.contains("type") && j["type"].is_string();
    return Unreadable{typed ? j["type"].get<std::string>() : "unknown", decoded.error().message};
  }
  return std::move(decoded).value();
}

// Parses `lines` on `threads` threads into `out` (same indices).
void parse_lines(const std::vector<std::string>& lines, unsigned threads,
                 std::vector<ParsedLine>& out) {
  out.assign(lines.size(), Unreadable{});
  std::atomic<std::size_t> next{0};
  constexpr std::size_t kChunk = 256;
  auto work = [&] {
    for (std::size_t begin; (begin = next.fetch_add(kChunk)) < lines.size();) {
      for (std::size_t i = begin; i < std::min(begin + kChunk, lines.size()); ++i) {
        out[i] = parse_line(lines[i]);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    pool.emplace_back(work);
  }
  work();
  for (auto& t : pool) {
    t.join();
  }
}

void feed(RecordVerifier& verifier, std::size_t item, ParsedLine&& parsed) {
  std::visit(
      [&](auto&& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, LineHeader>) {
          verifier.add_line(item, value);
        } else if constexpr (std::is_same_v<T, CheckedEntry>) {
          verifier.add_entry(item, std::move(value.entry),
                             value.signature_valid ? RecordVerifier::SignatureCheck::kValid
                                                   : RecordVerifier::SignatureCheck::kInvalid);
        } else if constexpr (std::is_same_v<T, SignedReceipt>) {
          // decode_line refused badly signed receipts and checkpoints already.
          verifier.add_receipt(item, std::move(value), RecordVerifier::SignatureCheck::kValid);
        } else if constexpr (std::is_same_v<T, SignedCheckpoint>) {
          verifier.add_checkpoint(item, std::move(value), RecordVerifier::SignatureCheck::kValid);
        } else {
          verifier.add_unreadable(item, value.type, value.reason);
        }
      },
      std::move(parsed));
}

}  // namespace

std::string export_line_header(const LineHeader& header) { return dump(header_json(header)); }
std::string export_entry(const SignedEntry& entry) { return dump(entry_json(entry)); }
std::string export_receipt(const SignedReceipt& receipt) { return dump(receipt_json(receipt)); }
std::string export_checkpoint(const SignedCheckpoint& checkpoint) {
  return dump(checkpoint_json(checkpoint));
}

VerifySummary verify_export(std::istream& in, unsigned threads) {
  const unsigned workers =
      threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  RecordVerifier verifier(threads);
  // Lines are read and parsed a block at a time: parsing (JSON, base64, CBOR, the copy check) runs
  // on all cores, while the verifier takes the items in file order.
  constexpr std::size_t kBlock = 16384;
  std::vector<std::string> lines;
  std::vector<ParsedLine> parsed;
  std::size_t item = 0;
  for (bool more = true; more;) {
    lines.clear();
    std::string text;
    while (lines.size() < kBlock && (more = static_cast<bool>(std::getline(in, text)))) {
      lines.push_back(std::move(text));
    }
    parse_lines(lines, workers, parsed);
    for (auto& p : parsed) {
      feed(verifier, ++item, std::move(p));
    }
  }
  return verifier.finish();
}

}  // namespace hotline::record
