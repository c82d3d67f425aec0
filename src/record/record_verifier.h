// record/record_verifier.h — verification of a whole record, as `hotline verify` runs it.
//
// A record is a sequence of items: for each line a header naming its parties, then entries,
// receipts and checkpoints. Items may arrive from an export file or from a station's database;
// either way the verifier applies every rule of docs/record-format.md §7 and reports the first bad
// item (with its position, line, chain, sequence and the rule), or that the record is sound.
// "First" blames the cause, not a symptom: the earliest item that is bad on its own (unreadable or
// badly signed) comes before any item that merely fails to fit with it, such as an entry whose
// cross-link names a tampered entry further down. Signatures are checked on all cores.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "record/checkpoint.h"
#include "record/entry.h"
#include "record/receipt.h"
#include "record/verify.h"

namespace hotline::record {

struct LineHeader {
  LineId id;
  std::string name;
  PublicKey first;  // the two parties, in any order
  PublicKey second;
};

// Where a problem was found and why.
struct Finding {
  std::size_t item = 0;  // 1-based position of the item in the input (the line of the file)
  std::string type;      // "line", "entry", "receipt", "checkpoint"
  std::string line;      // line id in hex, when known
  std::string chain;     // fingerprint of the chain's author (entries, receipts) or signer
  std::uint64_t seq = 0;
  std::string reason;
  // Bad on its own (does not decode, bad signature) rather than in relation to other items.
  bool intrinsic = false;

  std::string describe() const;
};

struct VerifySummary {
  std::size_t lines = 0;
  std::size_t entries = 0;
  std::size_t receipts = 0;
  std::size_t checkpoints = 0;
  std::size_t unconfirmed_checkpoints = 0;  // heads beyond the local copy: not yet verifiable
  std::optional<Finding> first_problem;

  bool sound() const { return !first_problem.has_value(); }
};

class RecordVerifier {
 public:
  // `threads` for signature checks; 0 means all cores.
  explicit RecordVerifier(unsigned threads = 0) : threads_(threads) {}

  void add_line(std::size_t item, const LineHeader& header);
  // Whether the caller already checked an item's signature (on its own threads, while parsing).
  enum class SignatureCheck { kPending, kValid, kInvalid };

  void add_entry(std::size_t item, SignedEntry entry,
                 SignatureCheck signature = SignatureCheck::kPending);
  void add_receipt(std::size_t item, SignedReceipt receipt,
                   SignatureCheck signature = SignatureCheck::kPending);
  void add_checkpoint(std::size_t item, SignedCheckpoint checkpoint,
                      SignatureCheck signature = SignatureCheck::kPending);
  // An item that could not even be decoded.
  void add_unreadable(std::size_t item, std::string type, std::string reason);

  // Runs every check. Call once, after all items were added.
  VerifySummary finish();

 private:
  struct ChainState {
    std::vector<Hash> hashes;
    std::vector<std::size_t> items;          // input position of each entry
    std::vector<ChainPosition> cross_links;  // each entry's cross-link
    ChainHead head;
    bool broken = false;  // a problem was reported; later entries of this chain are not checked
  };
  struct LineState {
    LineHeader header;
    std::size_t item = 0;
    std::map<PublicKey, ChainState> chains;  // exactly the two parties
  };
  struct SignedItem {
    std::size_t item;
    std::string type;
    LineId line;
    PublicKey signer;
    std::uint64_t seq;
    crypto::SigningContext context;
    Bytes payload;
    crypto::Signature signature;
  };

  void note(Finding finding);
  LineState* line_for(std::size_t item, const std::string& type, const LineId& id,
                      const PublicKey& who, std::uint64_t seq);
  void check_cross_links();
  void check_receipts();
  void check_checkpoints();
  void check_signatures();
  void note_bad_signature(std::size_t item, const std::string& type, const LineId& line,
                          const PublicKey& signer, std::uint64_t seq);

  unsigned threads_;
  std::map<LineId, LineState> lines_;
  std::vector<std::pair<std::size_t, SignedReceipt>> receipts_;
  std::vector<std::pair<std::size_t, SignedCheckpoint>> checkpoints_;
  std::vector<SignedItem> signed_items_;
  VerifySummary summary_;
};

}  // namespace hotline::record
