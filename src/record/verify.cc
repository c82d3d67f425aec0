#include "record/verify.h"

namespace hotline::record {
namespace {

Error broken(const std::string& why) { return make_error(Errc::kBrokenChain, why); }

std::string seq_text(std::uint64_t seq) { return "seq " + std::to_string(seq); }

}  // namespace

Result<void> check_extends(const LineId& line, const PublicKey& author, const ChainHead& head,
                           const SignedEntry& next) {
  const EntryFields& f = next.fields;
  if (f.line != line) {  // E1
    return broken("entry belongs to line " + f.line.hex() + ", not " + line.hex());
  }
  if (f.author != author) {  // E2
    return broken("entry is authored by " + f.author.fingerprint() +
                  ", not by the chain's author " + author.fingerprint());
  }
  if (f.seq != head.position.seq + 1) {  // E3
    return broken("expected " + seq_text(head.position.seq + 1) + ", found " + seq_text(f.seq));
  }
  if (f.prev != head.position.hash) {  // E4
    return broken(seq_text(f.seq) + ": prev does not match the hash of " +
                  seq_text(head.position.seq));
  }
  if (f.time < head.time) {  // E5
    return broken(seq_text(f.seq) + ": author time goes backwards (" + std::to_string(f.time) +
                  " < " + std::to_string(head.time) + ")");
  }
  return success();
}

Result<void> check_cross_link(const SignedEntry& entry, std::span<const Hash> other_hashes,
                              std::uint64_t previous_cross_seq) {
  const ChainPosition& cross = entry.fields.cross;
  const std::string where = seq_text(entry.fields.seq) + ": cross-link to other chain's ";
  if (cross.seq < previous_cross_seq) {
    return broken(where + seq_text(cross.seq) + " goes back from " + seq_text(previous_cross_seq));
  }
  if (cross.seq == 0) {
    return success();  // the author held nothing of the other chain; zero hash checked on decode
  }
  if (cross.seq > other_hashes.size()) {
    return broken(where + seq_text(cross.seq) + " names an entry not in the record (it has " +
                  std::to_string(other_hashes.size()) + ")");
  }
  if (other_hashes[cross.seq - 1] != cross.hash) {
    return broken(where + seq_text(cross.seq) + " has a hash that does not match that entry");
  }
  return success();
}

Result<void> check_receipt(const SignedReceipt& receipt, const LineId& line,
                           const PublicKey& peer_of_author, std::span<const Hash> chain_hashes) {
  const std::uint64_t seq = receipt.fields.held.seq;
  static const Hash kNone{};
  return check_receipt(receipt, line, peer_of_author, chain_hashes.size(),
                       seq >= 1 && seq <= chain_hashes.size() ? chain_hashes[seq - 1] : kNone);
}

Result<void> check_receipt(const SignedReceipt& receipt, const LineId& line,
                           const PublicKey& peer_of_author, std::uint64_t chain_length,
                           const Hash& held_hash) {
  const ReceiptFields& f = receipt.fields;
  if (f.line != line) {  // R1
    return broken("receipt belongs to line " + f.line.hex() + ", not " + line.hex());
  }
  if (f.signer != peer_of_author) {  // R2
    return broken("receipt for chain " + f.chain_author.fingerprint() + " is signed by " +
                  f.signer.fingerprint() + ", not by the line's other party");
  }
  if (f.held.seq > chain_length) {  // R3
    return broken("receipt acknowledges " + seq_text(f.held.seq) +
                  ", beyond the chain in the record (" + std::to_string(chain_length) +
                  " entries)");
  }
  if (f.held.seq > 0 && held_hash != f.held.hash) {
    return broken("receipt for " + seq_text(f.held.seq) +
                  " names a hash that does not match that entry");
  }
  return success();
}

CheckpointComparison compare_checkpoint(const SignedCheckpoint& checkpoint,
                                        std::span<const Hash> signer_chain,
                                        std::span<const Hash> other_chain) {
  struct Head {
    const char* name;
    const ChainPosition& claimed;
    std::span<const Hash> local;
  };
  const Head heads[] = {{"signer's own chain", checkpoint.fields.own, signer_chain},
                        {"other chain", checkpoint.fields.peer, other_chain}};
  CheckpointComparison result;
  for (const Head& head : heads) {
    const std::uint64_t seq = head.claimed.seq;
    if (seq > head.local.size()) {
      result.match = CheckpointMatch::kAhead;
      result.detail = std::string(head.name) + " at " + seq_text(seq) +
                      " is beyond the local copy (" + std::to_string(head.local.size()) +
                      " entries)";
      continue;
    }
    const Hash local = seq == 0 ? Hash{} : head.local[seq - 1];
    if (local != head.claimed.hash) {
      return {CheckpointMatch::kDivergent, std::string(head.name) + " at " + seq_text(seq) +
                                               " has a hash that differs from the local copy"};
    }
  }
  return result;
}

std::optional<Equivocation> find_equivocation(const SignedEntry& held,
                                              const SignedEntry& incoming) {
  const EntryFields& a = held.fields;
  const EntryFields& b = incoming.fields;
  if (a.line != b.line || a.author != b.author || a.seq != b.seq ||
      held.signed_bytes == incoming.signed_bytes) {
    return std::nullopt;
  }
  if (!verify_entry_signature(held) || !verify_entry_signature(incoming)) {
    return std::nullopt;
  }
  return Equivocation{held, incoming};
}

}  // namespace hotline::record
