// api/call_audit.h — the audit row of one state-changing call, over HTTPS or the control socket.
//
// Who, what, when and from where are written before the call acts; the outcome after it has
// answered (RecordStore::begin_audit). The store commits in submission order, so the row is
// durable no later than the call's own writes and the answer waits for no commit of its own:
// a message sent with a wait for the peer's receipt is answered when the receipt is stored, not
// one fsync later. The answer is still never sent before the row is on disk: a call that wrote
// nothing (refused by its handler) is held until the row is. Both writes ride with the next
// commit (RecordStore::begin_audit), so a call costs no fsync of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/record_store.h"

namespace hotline::api {

// What the audit trail says of an answer: its error, or the id it created, or nothing.
std::string audit_detail(const std::string& reply_body);

class CallAudit : public std::enable_shared_from_this<CallAudit> {
 public:
  // Runs a closure on the io thread.
  using Post = std::function<void(std::function<void()>)>;

  // Writes `row` (its outcome is ignored) ahead of anything the call will write. `store` must
  // outlive the writes, as it does the station.
  static std::shared_ptr<CallAudit> begin(store::RecordStore& store, Post post,
                                          store::AuditRow row);

  // The call answered `status`; `detail` is what the trail says of it (audit_detail). Calls
  // `send` on the io thread once the row is durable: at once, when the call's own writes came
  // after it. A row that could not be written is logged as an error, and the answer still goes.
  void answered(int status, std::string detail, std::function<void()> send);

  // The answer function to hand the call in place of `send`: it records the call's outcome and
  // sends the answer (anything with `status` and `body`) once the row is durable.
  template <class Answer>
  static std::function<void(Answer)> answer_through(std::shared_ptr<CallAudit> audit,
                                                    std::function<void(Answer)> send) {
    return [audit = std::move(audit), send = std::move(send)](Answer answer) {
      const int status = answer.status;
      std::string detail = audit_detail(answer.body);
      auto held = std::make_shared<Answer>(std::move(answer));
      audit->answered(status, std::move(detail), [held, send] { send(std::move(*held)); });
    };
  }

  // A call whose outcome is known before it acts (a refusal, a login): one row, and `send` on the
  // io thread once it is durable. A row that could not be written is logged, and the answer goes.
  static void record(store::RecordStore& store, const Post& post, store::AuditRow row,
                     std::function<void()> send);

 private:
  CallAudit(store::RecordStore& store, std::string what) : store_(store), what_(std::move(what)) {}
  void begun(const Result<void>& written);

  store::RecordStore& store_;
  std::string what_;  // for the log: "POST /api/v1/… by 'ann' from …"
  store::RecordStore::AuditTicket ticket_;
  bool durable_ = false;        // io thread only
  std::function<void()> held_;  // the answer, while the row is not yet durable
};

}  // namespace hotline::api
