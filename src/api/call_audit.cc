#include "api/call_audit.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace hotline::api {

std::shared_ptr<CallAudit> CallAudit::begin(store::RecordStore& store, Post post,
                                            store::AuditRow row) {
  std::string what = row.action + " by '" + row.user + "' from " + row.source;
  std::shared_ptr<CallAudit> audit(new CallAudit(store, std::move(what)));
  // The store's callback runs on its writer thread: hand the result to the io thread.
  audit->ticket_ =
      store.begin_audit(std::move(row), [audit, post = std::move(post)](Result<void> written) {
        post([audit, written = std::move(written)] { audit->begun(written); });
      });
  return audit;
}

void CallAudit::begun(const Result<void>& written) {
  if (!written.ok()) {
    spdlog::error("AUDIT could not record {}: {}", what_, written.error().message);
  }
  durable_ = true;
  if (held_) {
    std::exchange(held_, nullptr)();
  }
}

void CallAudit::answered(int status, std::string detail, std::function<void()> send) {
  store_.finish_audit(ticket_, status, std::move(detail),
                      [what = what_, status](Result<void> written) {
                        if (!written.ok()) {
                          spdlog::error("AUDIT could not record the outcome ({}) of {}: {}", status,
                                        what, written.error().message);
                        }
                      });
  if (durable_) {
    send();
  } else {
    held_ = std::move(send);
  }
}

}  // namespace hotline::api
