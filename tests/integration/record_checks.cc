#include "integration/record_checks.h"

#include <gtest/gtest.h>

#include "integration/hotline_process.h"
#include "store/record_store.h"

namespace hotline::testing {

std::vector<record::SignedEntry> read_chain(const StationProcess& station,
                                            const std::string& author_fingerprint) {
  store::SqliteOptions options;
  options.read_only = true;
  auto store = store::open_sqlite_store(station.dir() + "/hotline.db", options).value();
  auto lines = store->lines().value();
  EXPECT_EQ(lines.size(), 1u);
  auto author = crypto::PublicKey::from_fingerprint(author_fingerprint).value();
  return store->read_entries(lines.at(0).id, author, 1, 1'000'000).value();
}

std::string text_of(const record::SignedEntry& entry) {
  const cbor::Value* text = entry.fields.body.is_map() ? entry.fields.body.find(1) : nullptr;
  return text != nullptr && text->is_text() ? text->as_text() : "";
}

std::vector<std::string> texts(const std::vector<record::SignedEntry>& chain) {
  std::vector<std::string> out;
  for (const auto& entry : chain) {
    out.push_back(text_of(entry));
  }
  return out;
}

std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    out.push_back(prefix + std::to_string(i));
  }
  return out;
}

std::uint64_t peer_seq(const nlohmann::json& line) {
  return line["peer_chain"]["seq"].get<std::uint64_t>();
}

std::uint64_t receipted(const nlohmann::json& line) {
  return line["receipted"].get<std::uint64_t>();
}

void expect_identical_and_verified(const StationProcess& a, const StationProcess& b) {
  for (const StationProcess* author : {&a, &b}) {
    auto at_a = read_chain(a, author->fingerprint());
    auto at_b = read_chain(b, author->fingerprint());
    ASSERT_EQ(at_a.size(), at_b.size()) << author->name() << "'s chain";
    for (std::size_t i = 0; i < at_a.size(); ++i) {
      ASSERT_EQ(at_a[i].signed_bytes, at_b[i].signed_bytes)
          << author->name() << "'s entry " << i + 1 << " differs between the stations";
    }
  }
  for (const StationProcess* station : {&a, &b}) {
    auto r = run_hotline({"verify", "--dir", station->dir()});
    EXPECT_EQ(r.exit_code, 0) << station->name() << ": " << r.out << r.err;
  }
}

}  // namespace hotline::testing
