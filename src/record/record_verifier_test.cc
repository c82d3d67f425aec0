#include "record/record_verifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "record/export_jsonl.h"
#include "testing/fixtures.h"

namespace hotline::record {
namespace {

// A record of 55 entries in both directions, receipts after every few, and two checkpoints, as
// export lines in export order.
std::vector<std::string> make_export() {
  testing::TestLine line;
  std::vector<SignedReceipt> receipts;
  for (int i = 1; i <= 55; ++i) {
    line.author(i % 3 != 0, "message " + std::to_string(i));
    if (i % 5 == 0) {
      receipts.push_back(line.receipt(true));
      receipts.push_back(line.receipt(false));
    }
  }
  auto [first, second] = std::minmax(line.alpha.public_key(), line.bravo.public_key());
  const bool alpha_first = first == line.alpha.public_key();
  std::vector<std::string> out;
  out.push_back(export_line_header({line.id, "test line", first, second}));
  for (const auto* chain : {alpha_first ? &line.alpha_chain : &line.bravo_chain,
                            alpha_first ? &line.bravo_chain : &line.alpha_chain}) {
    for (const auto& e : *chain) {
      out.push_back(export_entry(e));
    }
  }
  for (const auto& r : receipts) {
    out.push_back(export_receipt(r));
  }
  out.push_back(export_checkpoint(line.checkpoint(true)));
  out.push_back(export_checkpoint(line.checkpoint(false)));
  return out;
}

VerifySummary verify_lines(const std::vector<std::string>& lines) {
  std::stringstream in;
  for (const auto& l : lines) {
    in << l << '\n';
  }
  return verify_export(in, 1);
}

// Replaces the "signed" field of an export line.
std::string with_signed(const std::string& line, const Bytes& signed_bytes) {
  auto j = nlohmann::json::parse(line);
  j["signed"] = to_base64(signed_bytes);
  return j.dump();
}

Bytes signed_of(const std::string& line) {
  return from_base64(nlohmann::json::parse(line)["signed"].get<std::string>()).value();
}

TEST(RecordVerifier, AnUntouchedRecordIsSound) {
  auto lines = make_export();
  VerifySummary s = verify_lines(lines);
  ASSERT_TRUE(s.sound()) << s.first_problem->describe();
  EXPECT_EQ(s.entries, 55u);
  EXPECT_EQ(s.receipts, 22u);
  EXPECT_EQ(s.checkpoints, 2u);
}

// Verifies items given as (type, exact signed bytes) in export order, the way `verify` does after
// reading the JSON: the exhaustive tamper test below runs this tens of thousands of times, so it
// skips JSON parsing, which the sampled test after it covers.
VerifySummary verify_signed_items(const LineHeader& header,
                                  const std::vector<std::pair<std::string, Bytes>>& items) {
  RecordVerifier verifier(2);
  verifier.add_line(1, header);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& [type, bytes] = items[i];
    const std::size_t item = i + 2;
    if (type == "entry") {
      auto e = decode_entry(bytes);
      e.ok() ? verifier.add_entry(item, std::move(e).value())
             : verifier.add_unreadable(item, type, e.error().message);
    } else if (type == "receipt") {
      auto r = decode_receipt(bytes);
      r.ok() ? verifier.add_receipt(item, std::move(r).value())
             : verifier.add_unreadable(item, type, r.error().message);
    } else {
      auto c = decode_checkpoint(bytes);
      c.ok() ? verifier.add_checkpoint(item, std::move(c).value())
             : verifier.add_unreadable(item, type, c.error().message);
    }
  }
  return verifier.finish();
}

// Flipping a byte of a signed item makes verification fail and name that item: every byte of one
// item of each kind (first and middle entries of both chains, a receipt, a checkpoint), and every
// 13th byte of all the others at a different offset each, which together cover every field of
// every kind. (Every byte of every item is ~17,000 full verifications: minutes under ASan.)
TEST(RecordVerifier, FlippingAnyByteOfAnySignedItemIsCaughtAndNamed) {
  const auto lines = make_export();
  auto header_json = nlohmann::json::parse(lines[0]);
  LineHeader header{
      LineId::from_hex(header_json["line"].get<std::string>()).value(), header_json["name"],
      PublicKey::from_fingerprint(header_json["parties"][0].get<std::string>()).value(),
      PublicKey::from_fingerprint(header_json["parties"][1].get<std::string>()).value()};
  std::vector<std::pair<std::string, Bytes>> items;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    items.emplace_back(nlohmann::json::parse(lines[i])["type"], signed_of(lines[i]));
  }
  ASSERT_TRUE(verify_signed_items(header, items).sound());
  const std::set<std::size_t> exhaustive = {0, 20, 36, 45, 60, items.size() - 1};
  std::size_t variants = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::size_t step = exhaustive.contains(i) ? 1 : 13;
    for (std::size_t pos = i % step; pos < items[i].second.size(); pos += step) {
      auto copy = items;
      copy[i].second[pos] ^= 0x01;
      VerifySummary s = verify_signed_items(header, copy);
      ASSERT_FALSE(s.sound()) << "item " << i + 2 << " byte " << pos;
      ASSERT_EQ(s.first_problem->item, i + 2)
          << "byte " << pos << " of item " << i + 2 << ": " << s.first_problem->describe();
      ++variants;
    }
  }
  EXPECT_GT(variants, 2000u);
}

// The same through the JSON Lines reader, at the first, middle and last byte of every item.
TEST(RecordVerifier, FlippedBytesInAnExportFileAreNamedByLine) {
  const auto lines = make_export();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const Bytes original = signed_of(lines[i]);
    for (std::size_t pos : {std::size_t{0}, original.size() / 2, original.size() - 1}) {
      Bytes tampered = original;
      tampered[pos] ^= 0x80;
      auto copy = lines;
      copy[i] = with_signed(lines[i], tampered);
      VerifySummary s = verify_lines(copy);
      ASSERT_FALSE(s.sound());
      EXPECT_EQ(s.first_problem->item, i + 1) << s.first_problem->describe();
    }
  }
}

TEST(RecordVerifier, DeletingAnyEntryIsCaught) {
  const auto lines = make_export();
  for (std::size_t i = 1; i <= 55; ++i) {
    auto copy = lines;
    copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(i));
    EXPECT_FALSE(verify_lines(copy).sound()) << "deleted line " << i + 1;
  }
}

TEST(RecordVerifier, ReorderingEntriesIsCaught) {
  const auto lines = make_export();
  for (std::size_t i = 1; i < 55; ++i) {
    auto copy = lines;
    auto author = [](const std::string& l) { return nlohmann::json::parse(l)["author"]; };
    if (author(lines[i]) != author(lines[i + 1])) {
      continue;  // the boundary between the two chains: their relative order is free
    }
    std::swap(copy[i], copy[i + 1]);
    EXPECT_FALSE(verify_lines(copy).sound()) << "swapped lines " << i + 1 << " and " << i + 2;
  }
}

TEST(RecordVerifier, DuplicatingAnEntryIsCaughtAndNamed) {
  const auto lines = make_export();
  auto copy = lines;
  copy.insert(copy.begin() + 6, lines[5]);
  VerifySummary s = verify_lines(copy);
  ASSERT_FALSE(s.sound());
  EXPECT_EQ(s.first_problem->item, 7u);
  EXPECT_NE(s.first_problem->reason.find("duplicate"), std::string::npos);
}

TEST(RecordVerifier, JsonFieldsMustAgreeWithSignedBytes) {
  auto lines = make_export();
  auto j = nlohmann::json::parse(lines[3]);
  j["seq"] = 99;
  lines[3] = j.dump();
  VerifySummary s = verify_lines(lines);
  ASSERT_FALSE(s.sound());
  EXPECT_EQ(s.first_problem->item, 4u);
}

TEST(RecordVerifier, ForgedDecodedCopiesAreCaught) {
  auto lines = make_export();
  auto j = nlohmann::json::parse(lines[4]);
  j["body"]["1"] = "a different text than the one signed";
  lines[4] = j.dump();
  VerifySummary s = verify_lines(lines);
  ASSERT_FALSE(s.sound());
  EXPECT_EQ(s.first_problem->item, 5u);
  EXPECT_NE(s.first_problem->reason.find("decoded fields"), std::string::npos);
}

TEST(RecordVerifier, ADeletedEntryOfTheSecondChainIsNamedNotAnInnocentCrossLink) {
  const auto lines = make_export();
  auto author = [](const std::string& l) { return nlohmann::json::parse(l)["author"]; };
  std::size_t second_chain_start = 2;
  while (author(lines[second_chain_start]) == author(lines[1])) {
    ++second_chain_start;
  }
  auto copy = lines;
  copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(second_chain_start + 3));
  VerifySummary s = verify_lines(copy);
  ASSERT_FALSE(s.sound());
  // The entry after the gap (now at the deleted one's position) breaks rule E3.
  EXPECT_EQ(s.first_problem->item, second_chain_start + 4) << s.first_problem->describe();
}

TEST(RecordVerifier, LineHeaderMustDeriveTheLineId) {
  auto lines = make_export();
  auto j = nlohmann::json::parse(lines[0]);
  j["name"] = "another name";
  lines[0] = j.dump();
  VerifySummary s = verify_lines(lines);
  ASSERT_FALSE(s.sound());
  EXPECT_EQ(s.first_problem->item, 1u);
}

TEST(RecordVerifier, UnreadableLinesAreNamed) {
  auto lines = make_export();
  lines[2] = "{not json";
  VerifySummary s = verify_lines(lines);
  ASSERT_FALSE(s.sound());
  EXPECT_EQ(s.first_problem->item, 3u);
}

TEST(RecordVerifier, EquivocationInAnExportIsCaught) {
  testing::TestLine a;
  testing::TestLine b;
  a.author(true, "one");
  b.author(true, "two");  // same key, same line, same seq, different content
  std::vector<std::string> lines = {
      export_line_header({a.id, "test line", a.alpha.public_key(), a.bravo.public_key()}),
      export_entry(a.alpha_chain[0]), export_entry(b.alpha_chain[0])};
  VerifySummary s = verify_lines(lines);
  ASSERT_FALSE(s.sound());
  EXPECT_EQ(s.first_problem->item, 3u);
  EXPECT_NE(s.first_problem->reason.find("equivocation"), std::string::npos);
}

}  // namespace
}  // namespace hotline::record
