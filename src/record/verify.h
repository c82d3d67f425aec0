// record/verify.h — the verification rules of the record, as pure functions.
//
// Each function checks one rule of docs/record-format.md §Verification and returns an error whose
// message names the rule that failed. None does I/O; callers fetch what they compare against.
// Signatures are checked separately (verify_*_signature), so that they can run in parallel.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "record/checkpoint.h"
#include "record/entry.h"
#include "record/receipt.h"

namespace hotline::record {

// The head of a chain as a verifier tracks it: position and the author time of its last entry.
struct ChainHead {
  ChainPosition position;
  Micros time = 0;
};

// Rule E1–E5: `next` belongs to `line`, is authored by `author`, takes sequence head+1, names the
// head's hash as its previous hash, and its author time is not earlier than the head's.
[[nodiscard]] Result<void> check_extends(const LineId& line, const PublicKey& author,
                                         const ChainHead& head, const SignedEntry& next);

// Rule E6: the entry's cross-link names an entry of the other chain that exists with that hash
// (`other_hashes[i]` is the hash of entry i+1), and does not move backwards from
// `previous_cross_seq`, the cross-link of the previous entry of the same chain.
[[nodiscard]] Result<void> check_cross_link(const SignedEntry& entry,
                                            std::span<const Hash> other_hashes,
                                            std::uint64_t previous_cross_seq);

// Rules R1–R3: the receipt is for `line`, signed by the other party of the chain it
// acknowledges (`peer_of_author`), and names an entry of that chain with its exact hash.
[[nodiscard]] Result<void> check_receipt(const SignedReceipt& receipt, const LineId& line,
                                         const PublicKey& peer_of_author,
                                         std::span<const Hash> chain_hashes);
// The same rules, given only the chain's length and the hash of the entry the receipt names
// (`held_hash`: that of entry receipt.fields.held.seq when it is within the chain, else unused),
// for a caller that need not load the whole chain to check one position.
[[nodiscard]] Result<void> check_receipt(const SignedReceipt& receipt, const LineId& line,
                                         const PublicKey& peer_of_author,
                                         std::uint64_t chain_length, const Hash& held_hash);

// Rule C1: how a checkpoint compares with the local copy of both chains.
enum class CheckpointMatch {
  kMatches,    // both heads are in the local copy with the same hashes
  kAhead,      // a head lies beyond the local copy (not yet received); nothing contradicts
  kDivergent,  // a head's hash differs from the local entry at that sequence: evidence
};
struct CheckpointComparison {
  CheckpointMatch match = CheckpointMatch::kMatches;
  std::string detail;  // for kAhead and kDivergent: which chain, which sequence
};
CheckpointComparison compare_checkpoint(const SignedCheckpoint& checkpoint,
                                        std::span<const Hash> signer_chain,
                                        std::span<const Hash> other_chain);

// Two validly signed, different entries for the same line, author and sequence number.
struct Equivocation {
  SignedEntry first;
  SignedEntry second;
};

// Returns the evidence if `held` and `incoming` are an equivocation; nullopt if they are the same
// entry, are for different places, or either signature fails (then it is a forgery, not
// equivocation by the author).
std::optional<Equivocation> find_equivocation(const SignedEntry& held, const SignedEntry& incoming);

}  // namespace hotline::record
