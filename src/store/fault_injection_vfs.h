// store/fault_injection_vfs.h — a SQLite VFS that fails writes or syncs on demand, for tests.
//
// It forwards every call to the default VFS (sqlite3_vfs_find(nullptr)) except when told to fail:
// then xWrite returns SQLITE_IOERR_WRITE or SQLITE_FULL without writing anything, and xSync
// returns SQLITE_IOERR_FSYNC (or SQLITE_FULL) after the data was handed to the operating system,
// as a failing fsync does. A store uses it when opened with SqliteOptions::vfs set to its name.
//
//   auto& vfs = FaultInjectionVfs::install("hotline-faulty");
//   SqliteOptions options;
//   options.vfs = "hotline-faulty";
//   auto store = open_sqlite_store(path, options);
//   vfs.fail_writes(FaultInjectionVfs::Fault::kDiskFull);
//   ... the next write transaction fails with kIo ...
//   vfs.clear();
//
// Faults apply to every file and connection opened through this VFS, in this process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

struct sqlite3_vfs;

namespace hotline::store {

class FaultInjectionVfs {
 public:
  enum class Fault {
    kIoError,   // SQLITE_IOERR_WRITE / SQLITE_IOERR_FSYNC: the disk failed
    kDiskFull,  // SQLITE_FULL: the disk is full
  };
  static constexpr int kEveryCall = -1;

  // Registers a VFS called `name` (once per name; later calls return the same controller) and
  // returns its controller. Both live until the process ends: SQLite keeps pointers to them.
  static FaultInjectionVfs& install(const std::string& name);

  // The next `count` writes (kEveryCall: all of them, until clear()) fail with `fault`.
  void fail_writes(Fault fault, int count = kEveryCall);
  // The next `count` syncs (kEveryCall: all of them, until clear()) fail with `fault`.
  void fail_syncs(Fault fault, int count = kEveryCall);
  // Stops failing calls and releases any held sync.
  void clear();

  // From now on every sync waits until release_syncs(): a test can queue work behind a commit
  // that is in progress, knowing exactly what is queued when it finishes.
  void hold_syncs();
  // Waits until a sync is being held, up to `timeout`; false if none came.
  bool wait_for_held_sync(std::chrono::milliseconds timeout);
  void release_syncs();

  // Calls failed on purpose so far.
  std::uint64_t injected_failures() const;

  // Called by the VFS's file methods: the SQLite result code to fail with, or 0 to go ahead.
  int before_write();
  int before_sync();

  FaultInjectionVfs(const FaultInjectionVfs&) = delete;
  FaultInjectionVfs& operator=(const FaultInjectionVfs&) = delete;

 private:
  explicit FaultInjectionVfs(std::string name);

  struct Plan {
    int remaining = 0;  // calls still to fail; kEveryCall for all; 0 for none
    int code = 0;       // SQLite result code to return
  };
  static int take(Plan& plan);

  std::string name_;  // SQLite keeps a pointer to its characters
  sqlite3_vfs* vfs_;  // owned; registered with SQLite under name_

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable syncs_changed_;
  Plan writes_;
  Plan syncs_;
  bool holding_syncs_ = false;
  int held_syncs_ = 0;  // syncs now waiting in hold_syncs()
  std::uint64_t injected_failures_ = 0;
};

}  // namespace hotline::store
