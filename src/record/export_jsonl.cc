#include "record/export_jsonl.h"

#include <nlohmann/json.hpp>

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

struct Claims {
  std::string type;
  std::string line;
  std::string author;
  std::uint64_t seq = 0;
  Bytes signed_bytes;
};

// Reads the fields every signed item must have. Returns an error naming the missing field.
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
  c.line = j["line"];
  c.author = j["author"];
  c.seq = j["seq"];
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
Result<void> check_copies(const json& line, const std::string& expected) {
  if (line != json::parse(expected)) {
    return make_error(Errc::kMalformed,
                      "the decoded fields of this line disagree with its signed bytes");
  }
  return success();
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

// Decodes one export line and hands it to the verifier; returns an error for unreadable lines.
Result<void> feed(RecordVerifier& verifier, std::size_t item, const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::kMalformed, "not a JSON object");
  }
  if (j.contains("type") && j["type"] == "line") {
    HOTLINE_ASSIGN(LineHeader header, read_header(j));
    verifier.add_line(item, header);
    return success();
  }
  HOTLINE_ASSIGN(Claims c, read_claims(j));
  if (c.type == "entry") {
    HOTLINE_ASSIGN(SignedEntry e, decode_entry(c.signed_bytes));
    HOTLINE_TRY(check_copies(j, export_entry(e)));
    verifier.add_entry(item, std::move(e));
  } else if (c.type == "receipt") {
    HOTLINE_ASSIGN(SignedReceipt r, decode_receipt(c.signed_bytes));
    HOTLINE_TRY(check_copies(j, export_receipt(r)));
    verifier.add_receipt(item, std::move(r));
  } else if (c.type == "checkpoint") {
    HOTLINE_ASSIGN(SignedCheckpoint k, decode_checkpoint(c.signed_bytes));
    HOTLINE_TRY(check_copies(j, export_checkpoint(k)));
    verifier.add_checkpoint(item, std::move(k));
  } else {
    return make_error(Errc::kMalformed, "unknown type \"" + c.type + "\"");
  }
  return success();
}

std::string type_of(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_object() && j.contains("type") && j["type"].is_string()) {
    return j["type"];
  }
  return "unknown";
}

}  // namespace

std::string export_line_header(const LineHeader& header) {
  return dump({{"type", "line"},
               {"line", header.id.hex()},
               {"name", header.name},
               {"parties", {header.first.fingerprint(), header.second.fingerprint()}}});
}

std::string export_entry(const SignedEntry& e) {
  const EntryFields& f = e.fields;
  return dump({{"type", "entry"},
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
               {"body", body_to_json(f.body)}});
}

std::string export_receipt(const SignedReceipt& r) {
  const ReceiptFields& f = r.fields;
  return dump({{"type", "receipt"},
               {"line", f.line.hex()},
               {"author", f.signer.fingerprint()},
               {"seq", f.held.seq},
               {"signed", to_base64(r.signed_bytes)},
               {"chain", f.chain_author.fingerprint()},
               {"hash", to_hex(f.held.hash)},
               {"time", f.time}});
}

std::string export_checkpoint(const SignedCheckpoint& k) {
  const CheckpointFields& f = k.fields;
  return dump({{"type", "checkpoint"},
               {"line", f.line.hex()},
               {"author", f.signer.fingerprint()},
               {"seq", f.own.seq},
               {"signed", to_base64(k.signed_bytes)},
               {"own_seq", f.own.seq},
               {"own_hash", to_hex(f.own.hash)},
               {"peer_seq", f.peer.seq},
               {"peer_hash", to_hex(f.peer.hash)},
               {"time", f.time}});
}

VerifySummary verify_export(std::istream& in, unsigned threads) {
  RecordVerifier verifier(threads);
  std::string text;
  std::size_t item = 0;
  while (std::getline(in, text)) {
    ++item;
    if (auto fed = feed(verifier, item, text); !fed) {
      verifier.add_unreadable(item, type_of(text), fed.error().message);
    }
  }
  return verifier.finish();
}

}  // namespace hotline::record
