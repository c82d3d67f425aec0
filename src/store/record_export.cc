#include "store/record_export.h"

#include <algorithm>
#include <functional>

#include "record/export_jsonl.h"

namespace hotline::store {
namespace {

// Every item of a line, in export order, handed to `visit` one at a time.
struct ItemVisitor {
  std::function<void(const record::LineHeader&)> line;
  std::function<void(record::SignedEntry)> entry;
  std::function<void(record::SignedReceipt)> receipt;
  std::function<void(record::SignedCheckpoint)> checkpoint;
};

Result<void> walk_line(store::RecordStore& store, const store::LineParties& parties,
                       const ItemVisitor& visit) {
  const auto [first, second] = std::minmax(parties.local, parties.peer);
  visit.line(record::LineHeader{parties.id, parties.name, first, second});
  constexpr std::size_t kPage = 4096;
  for (const record::PublicKey& author : {first, second}) {
    std::uint64_t next = 1;
    for (;;) {
      HOTLINE_ASSIGN(auto page, store.read_entries(parties.id, author, next, kPage));
      for (auto& entry : page) {
        visit.entry(std::move(entry));
      }
      next += page.size();
      if (page.size() < kPage) {
        break;
      }
    }
  }
  HOTLINE_ASSIGN(auto receipts, store.receipts(parties.id));
  for (auto& r : receipts) {
    visit.receipt(std::move(r));
  }
  HOTLINE_ASSIGN(auto checkpoints, store.checkpoints(parties.id));
  for (auto& c : checkpoints) {
    visit.checkpoint(std::move(c));
  }
  return success();
}

Result<std::vector<store::LineParties>> select_lines(store::RecordStore& store,
                                                     const std::optional<record::LineId>& line) {
  HOTLINE_ASSIGN(auto all, store.lines());
  if (!line) {
    return all;
  }
  for (auto& l : all) {
    if (l.id == *line) {
      return std::vector<store::LineParties>{l};
    }
  }
  return make_error(Errc::kNotFound, "no line " + line->hex() + " in this station");
}

}  // namespace

Result<ExportCounts> export_record(store::RecordStore& store,
                                   const std::optional<record::LineId>& line, std::ostream& out) {
  HOTLINE_ASSIGN(auto lines, select_lines(store, line));
  ExportCounts counts;
  ItemVisitor visit{
      [&](const record::LineHeader& h) { out << record::export_line_header(h) << '\n'; },
      [&](record::SignedEntry e) { out << record::export_entry(e) << '\n'; },
      [&](record::SignedReceipt r) { out << record::export_receipt(r) << '\n'; },
      [&](record::SignedCheckpoint c) { out << record::export_checkpoint(c) << '\n'; }};
  for (const auto& l : lines) {
    HOTLINE_TRY(walk_line(store, l, visit));
    ++counts.lines;
  }
  out.flush();
  if (!out) {
    return make_error(Errc::kIo, "writing the export failed");
  }
  return counts;
}

Result<record::VerifySummary> verify_store(store::RecordStore& store, unsigned threads) {
  HOTLINE_ASSIGN(auto lines, store.lines());
  record::RecordVerifier verifier(threads);
  std::size_t item = 0;
  ItemVisitor visit{
      [&](const record::LineHeader& h) { verifier.add_line(++item, h); },
      [&](record::SignedEntry e) { verifier.add_entry(++item, std::move(e)); },
      [&](record::SignedReceipt r) { verifier.add_receipt(++item, std::move(r)); },
      [&](record::SignedCheckpoint c) { verifier.add_checkpoint(++item, std::move(c)); }};
  std::optional<record::Finding> evidence_finding;
  for (const auto& l : lines) {
    HOTLINE_TRY(walk_line(store, l, visit));
    HOTLINE_ASSIGN(auto evidence, store.evidence(l.id));
    if (!evidence.empty() && !evidence_finding) {
      const auto& e = evidence.front();
      const char* kind =
          e.kind == store::Evidence::Kind::kEquivocation ? "equivocation" : "divergence";
      evidence_finding =
          record::Finding{0,          "evidence",
                          l.id.hex(), e.culprit.fingerprint(),
                          e.seq,      std::string(kind) + " evidence held: " + e.detail};
    }
  }
  record::VerifySummary summary = verifier.finish();
  if (summary.sound() && evidence_finding) {
    summary.first_problem = evidence_finding;
  }
  return summary;
}

}  // namespace hotline::store
