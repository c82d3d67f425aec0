#include "record/record_verifier.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "record/verify.h"

namespace hotline::record {
namespace {

const PublicKey& other_party(const LineHeader& header, const PublicKey& key) {
  return key == header.first ? header.second : header.first;
}

}  // namespace

std::string Finding::describe() const {
  std::string out = (item > 0 ? "item " + std::to_string(item) + " (" : "(") + type;
  if (!line.empty()) {
    out += ", line " + line;
  }
  if (!chain.empty()) {
    out += ", chain " + chain;
  }
  if (seq > 0) {
    out += ", seq " + std::to_string(seq);
  }
  return out + "): " + reason;
}

void RecordVerifier::note(Finding finding) {
  const auto& first = summary_.first_problem;
  const bool earlier = !first || (finding.intrinsic && !first->intrinsic) ||
                       (finding.intrinsic == first->intrinsic && finding.item < first->item);
  if (earlier) {
    summary_.first_problem = std::move(finding);
  }
}

void RecordVerifier::add_unreadable(std::size_t item, std::string type, std::string reason) {
  note(Finding{item, std::move(type), "", "", 0, std::move(reason), /*intrinsic=*/true});
}

void RecordVerifier::add_line(std::size_t item, const LineHeader& header) {
  ++summary_.lines;
  const std::string id = header.id.hex();
  if (header.name.empty() || header.name.size() > kMaxLineNameLength) {
    note({item, "line", id, "", 0, "a line name must be 1 to 128 bytes"});
    return;
  }
  if (header.first == header.second) {
    note({item, "line", id, "", 0, "a line's two parties must be different stations"});
    return;
  }
  if (derive_line_id(header.first, header.second, header.name) != header.id) {
    note({item, "line", id, "", 0,
          "line id does not derive from the parties and the name '" + header.name + "'"});
    return;
  }
  if (lines_.contains(header.id)) {
    note({item, "line", id, "", 0, "line header appears twice"});
    return;
  }
  LineState state;
  state.header = header;
  state.item = item;
  state.chains[header.first];
  state.chains[header.second];
  lines_.emplace(header.id, std::move(state));
}

RecordVerifier::LineState* RecordVerifier::line_for(std::size_t item, const std::string& type,
                                                    const LineId& id, const PublicKey& who,
                                                    std::uint64_t seq) {
  auto it = lines_.find(id);
  if (it == lines_.end()) {
    note({item, type, id.hex(), who.fingerprint(), seq, "no header for this line precedes it"});
    return nullptr;
  }
  if (!it->second.chains.contains(who)) {
    note({item, type, id.hex(), who.fingerprint(), seq,
          "signed by a station not party to the line"});
    return nullptr;
  }
  return &it->second;
}

void RecordVerifier::add_entry(std::size_t item, SignedEntry entry, SignatureCheck signature) {
  ++summary_.entries;
  const EntryFields& f = entry.fields;
  if (signature == SignatureCheck::kPending) {
    signed_items_.push_back({item, "entry", f.line, f.author, f.seq, crypto::SigningContext::kEntry,
                             std::move(entry.envelope.payload), entry.envelope.signature});
  } else if (signature == SignatureCheck::kInvalid) {
    note_bad_signature(item, "entry", f.line, f.author, f.seq);
  }
  LineState* line = line_for(item, "entry", f.line, f.author, f.seq);
  if (line == nullptr) {
    return;
  }
  ChainState& chain = line->chains[f.author];
  if (chain.broken) {
    return;
  }
  // Built only on a problem: formatting hex and fingerprints costs more than the checks.
  auto where = [&] {
    return Finding{item, "entry", f.line.hex(), f.author.fingerprint(), f.seq, ""};
  };
  if (f.seq >= 1 && f.seq <= chain.head.position.seq) {
    const bool same = chain.hashes[f.seq - 1] == entry.hash;
    Finding finding = where();
    finding.reason =
        same ? "duplicate of the entry at item " + std::to_string(chain.items[f.seq - 1])
             : "a second, different entry for this sequence number (equivocation if "
               "both are validly signed)";
    chain.broken = true;
    note(std::move(finding));
    return;
  }
  if (auto extends = check_extends(f.line, f.author, chain.head, entry); !extends) {
    Finding finding = where();
    finding.reason = extends.error().message;
    chain.broken = true;
    note(std::move(finding));
    return;
  }
  chain.hashes.push_back(entry.hash);
  chain.items.push_back(item);
  chain.cross_links.push_back(f.cross);
  chain.head = {entry.position(), f.time};
}

void RecordVerifier::add_receipt(std::size_t item, SignedReceipt receipt,
                                 SignatureCheck signature) {
  ++summary_.receipts;
  const ReceiptFields& f = receipt.fields;
  if (signature == SignatureCheck::kPending) {
    signed_items_.push_back({item, "receipt", f.line, f.signer, f.held.seq,
                             crypto::SigningContext::kReceipt, receipt.envelope.payload,
                             receipt.envelope.signature});
  } else if (signature == SignatureCheck::kInvalid) {
    note_bad_signature(item, "receipt", f.line, f.signer, f.held.seq);
  }
  receipts_.emplace_back(item, std::move(receipt));
}

void RecordVerifier::add_checkpoint(std::size_t item, SignedCheckpoint checkpoint,
                                    SignatureCheck signature) {
  ++summary_.checkpoints;
  const CheckpointFields& f = checkpoint.fields;
  if (signature == SignatureCheck::kPending) {
    signed_items_.push_back({item, "checkpoint", f.line, f.signer, f.own.seq,
                             crypto::SigningContext::kCheckpoint, checkpoint.envelope.payload,
                             checkpoint.envelope.signature});
  } else if (signature == SignatureCheck::kInvalid) {
    note_bad_signature(item, "checkpoint", f.line, f.signer, f.own.seq);
  }
  checkpoints_.emplace_back(item, std::move(checkpoint));
}

void RecordVerifier::check_cross_links() {
  for (auto& [id, line] : lines_) {
    for (auto& [author, chain] : line.chains) {
      const ChainState& other = line.chains[other_party(line.header, author)];
      std::uint64_t previous = 0;
      for (std::size_t i = 0; i < chain.hashes.size(); ++i) {
        if (other.broken && chain.cross_links[i].seq > other.hashes.size()) {
          // The other chain was cut short where a problem was already reported; a link past that
          // point cannot be judged, and blaming this entry would name a symptom, not the cause.
          break;
        }
        // Only the cross-link fields matter here; rebuild a minimal entry view.
        SignedEntry view;
        view.fields.seq = i + 1;
        view.fields.cross = chain.cross_links[i];
        if (auto ok = check_cross_link(view, other.hashes, previous); !ok) {
          note(
              {chain.items[i], "entry", id.hex(), author.fingerprint(), i + 1, ok.error().message});
          break;
        }
        previous = chain.cross_links[i].seq;
      }
    }
  }
}

void RecordVerifier::check_receipts() {
  std::set<Hash> seen;
  std::map<std::pair<LineId, PublicKey>, std::uint64_t> latest;
  for (const auto& [item, receipt] : receipts_) {
    const ReceiptFields& f = receipt.fields;
    Finding where{item, "receipt", f.line.hex(), f.chain_author.fingerprint(), f.held.seq, ""};
    LineState* line = line_for(item, "receipt", f.line, f.chain_author, f.held.seq);
    if (line == nullptr) {
      continue;
    }
    if (!seen.insert(receipt.hash).second) {
      where.reason = "duplicate receipt";
      note(std::move(where));
      continue;
    }
    const PublicKey& peer = other_party(line->header, f.chain_author);
    if (auto ok = check_receipt(receipt, f.line, peer, line->chains[f.chain_author].hashes); !ok) {
      where.reason = ok.error().message;
      note(std::move(where));
      continue;
    }
    std::uint64_t& last = latest[{f.line, f.chain_author}];
    if (f.held.seq < last) {
      where.reason = "receipt goes back from seq " + std::to_string(last) +
                     " (receipts are cumulative and stored in arrival order)";
      note(std::move(where));
      continue;
    }
    last = f.held.seq;
  }
}

void RecordVerifier::check_checkpoints() {
  std::set<Hash> seen;
  for (const auto& [item, checkpoint] : checkpoints_) {
    const CheckpointFields& f = checkpoint.fields;
    Finding where{item, "checkpoint", f.line.hex(), f.signer.fingerprint(), f.own.seq, ""};
    LineState* line = line_for(item, "checkpoint", f.line, f.signer, f.own.seq);
    if (line == nullptr) {
      continue;
    }
    if (!seen.insert(checkpoint.hash).second) {
      where.reason = "duplicate checkpoint";
      note(std::move(where));
      continue;
    }
    const PublicKey& other = other_party(line->header, f.signer);
    CheckpointComparison c =
        compare_checkpoint(checkpoint, line->chains[f.signer].hashes, line->chains[other].hashes);
    if (c.match == CheckpointMatch::kDivergent) {
      where.reason = "divergence: " + c.detail;
      note(std::move(where));
    } else if (c.match == CheckpointMatch::kAhead) {
      ++summary_.unconfirmed_checkpoints;
    }
  }
}

void RecordVerifier::note_bad_signature(std::size_t item, const std::string& type,
                                        const LineId& line, const PublicKey& signer,
                                        std::uint64_t seq) {
  note({item, type, line.hex(), signer.fingerprint(), seq,
        "signature does not verify (signed by " + signer.fingerprint() + ")", /*intrinsic=*/true});
}

void RecordVerifier::check_signatures() {
  unsigned threads = threads_ != 0 ? threads_ : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, std::max<std::size_t>(1, signed_items_.size() / 64));
  std::vector<std::size_t> bad_items(threads, SIZE_MAX);
  std::atomic<std::size_t> next{0};
  constexpr std::size_t kChunk = 256;
  auto work = [&](unsigned worker) {
    for (;;) {
      const std::size_t begin = next.fetch_add(kChunk);
      if (begin >= signed_items_.size()) {
        return;
      }
      const std::size_t end = std::min(begin + kChunk, signed_items_.size());
      for (std::size_t i = begin; i < end; ++i) {
        const SignedItem& s = signed_items_[i];
        if (!crypto::verify_signature(s.signer, s.context, s.payload, s.signature)) {
          bad_items[worker] = std::min(bad_items[worker], i);
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < threads; ++w) {
    pool.emplace_back(work, w);
  }
  work(0);
  for (auto& t : pool) {
    t.join();
  }
  for (std::size_t i : bad_items) {
    if (i != SIZE_MAX) {
      const SignedItem& s = signed_items_[i];
      note_bad_signature(s.item, s.type, s.line, s.signer, s.seq);
    }
  }
}

VerifySummary RecordVerifier::finish() {
  check_cross_links();
  check_receipts();
  check_checkpoints();
  check_signatures();
  return summary_;
}

}  // namespace hotline::record
