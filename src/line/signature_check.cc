#include "line/signature_check.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace hotline::line {

namespace {

// A second thread for signature checks, kept for the life of the process: starting a thread per
// batch costs more than checking a few signatures.
class HelperThread {
 public:
  static HelperThread& instance() {
    // Never destroyed: its thread may still be parked when the process exits.
    static HelperThread* helper = new HelperThread();
    return *helper;
  }

  // Runs `mine` here and `theirs` on the helper thread, and returns when both are done.
  void run_both(const std::function<void()>& theirs, const std::function<void()>& mine) {
    std::lock_guard caller(callers_);
    {
      std::lock_guard lock(mutex_);
      job_ = &theirs;
      done_ = false;
    }
    wake_.notify_one();
    mine();
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [this] { return done_; });
  }

 private:
  HelperThread() {
    std::thread([this] { loop(); }).detach();
  }

  void loop() {
    for (;;) {
      const std::function<void()>* job = nullptr;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return job_ != nullptr; });
        job = job_;
      }
      (*job)();
      {
        std::lock_guard lock(mutex_);
        job_ = nullptr;
        done_ = true;
      }
      finished_.notify_one();
    }
  }

  std::mutex callers_;  // one batch at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  const std::function<void()>* job_ = nullptr;
  bool done_ = false;
};

}  // namespace

std::vector<char> check_entry_signatures(const std::vector<record::SignedEntry>& entries) {
  std::vector<char> valid(entries.size(), 0);
  // Both threads take the next few entries until none are left, rather than half each: the
  // cores are shared with the rest of the station (and, on a small machine, with the peer), so
  // one thread is often slower, and a fixed split would wait for it.
  constexpr std::size_t kChunk = 4;
  std::atomic<std::size_t> next{0};
  auto verify_shared = [&] {
    for (;;) {
      const std::size_t from = next.fetch_add(kChunk, std::memory_order_relaxed);
      if (from >= entries.size()) {
        return;
      }
      const std::size_t to = std::min(from + kChunk, entries.size());
      for (std::size_t i = from; i < to; ++i) {
        valid[i] = record::verify_entry_signature(entries[i]) ? 1 : 0;
      }
    }
  };
  constexpr std::size_t kParallelFrom = 8;  // below this, handing over costs more than it saves
  // Asked once: std::thread::hardware_concurrency reads /sys on every call.
  static const bool several_cores = std::thread::hardware_concurrency() >= 2;
  if (entries.size() < kParallelFrom || !several_cores) {
    verify_shared();
    return valid;
  }
  HelperThread::instance().run_both(verify_shared, verify_shared);
  return valid;
}

}  // namespace hotline::line
