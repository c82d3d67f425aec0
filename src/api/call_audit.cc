#include "api/call_audit.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <utility>

namespace hotline::api {

std::string audit_detail(const std::string& reply_body) {
  const auto body = nlohmann::json::parse(reply_body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return body["error"].get<std::string>();
  }
  if (body.is_object() && body.contains("id") && body["id"].is_string()) {
    return "id " + body["id"].get<std::string>();
  }
  return "";
}

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
  // An answer held for the row (the call wrote nothing) commits it now; otherwise the outcome
  // rides with the next write.
  store_.finish_audit(ticket_, status, std::move(detail), /*answer_waits=*/!durable_,
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

void CallAudit::record(store::RecordStore& store, const Post& post, store::AuditRow row,
                       std::function<void()> send) {
  std::string what =
      row.action + " " + std::to_string(row.outcome) + " by '" + row.user + "' from " + row.source;
  // Runs on the store's writer thread, possibly after the caller is gone: it captures only what
  // it needs, and hands the answer to the io thread.
  store.add_audit_then(
      std::move(row), [post, what = std::move(what), send = std::move(send)](Result<void> written) {
        post([what, send, written = std::move(written)] {
          if (!written.ok()) {
            spdlog::error("AUDIT could not record {}: {}", what, written.error().message);
          }
          send();
        });
      });
}

}  // namespace hotline::api
