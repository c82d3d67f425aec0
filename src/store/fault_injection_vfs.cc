#include "store/fault_injection_vfs.h"

#include <sqlite3.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

namespace hotline::store {
namespace {

// SQLite allocates szOsFile bytes for each open file: our header, then the wrapped VFS's file.
struct FaultFile {
  sqlite3_file base;  // first, so that SQLite's sqlite3_file* is a FaultFile*
  FaultInjectionVfs* owner;
  sqlite3_file* real;  // points just past this struct
};

FaultFile* fault_file(sqlite3_file* file) { return reinterpret_cast<FaultFile*>(file); }
sqlite3_file* real_file(sqlite3_file* file) { return fault_file(file)->real; }

// The wrapped VFS is kept in pAppData's controller; SQLite hands us only our own sqlite3_vfs.
struct VfsData {
  FaultInjectionVfs* owner;
  sqlite3_vfs* real;
};
sqlite3_vfs* real_vfs(sqlite3_vfs* vfs) { return static_cast<VfsData*>(vfs->pAppData)->real; }

// --- file methods: forward, except where a fault is due ---------------------------------------

int file_close(sqlite3_file* file) { return real_file(file)->pMethods->xClose(real_file(file)); }
int file_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return real_file(file)->pMethods->xRead(real_file(file), buffer, amount, offset);
}
int file_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  if (int code = fault_file(file)->owner->before_write(); code != 0) {
    return code;
  }
  return real_file(file)->pMethods->xWrite(real_file(file), buffer, amount, offset);
}
int file_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return real_file(file)->pMethods->xTruncate(real_file(file), size);
}
int file_sync(sqlite3_file* file, int flags) {
  if (int code = fault_file(file)->owner->before_sync(); code != 0) {
    return code;
  }
  return real_file(file)->pMethods->xSync(real_file(file), flags);
}
int file_size(sqlite3_file* file, sqlite3_int64* size) {
  return real_file(file)->pMethods->xFileSize(real_file(file), size);
}
int file_lock(sqlite3_file* file, int level) {
  return real_file(file)->pMethods->xLock(real_file(file), level);
}
int file_unlock(sqlite3_file* file, int level) {
  return real_file(file)->pMethods->xUnlock(real_file(file), level);
}
int file_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_file(file)->pMethods->xCheckReservedLock(real_file(file), out);
}
int file_control(sqlite3_file* file, int op, void* arg) {
  return real_file(file)->pMethods->xFileControl(real_file(file), op, arg);
}
int file_sector_size(sqlite3_file* file) {
  return real_file(file)->pMethods->xSectorSize(real_file(file));
}
int file_device_characteristics(sqlite3_file* file) {
  return real_file(file)->pMethods->xDeviceCharacteristics(real_file(file));
}
int file_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return real_file(file)->pMethods->xShmMap(real_file(file), region, size, extend, out);
}
int file_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_file(file)->pMethods->xShmLock(real_file(file), offset, n, flags);
}
void file_shm_barrier(sqlite3_file* file) {
  real_file(file)->pMethods->xShmBarrier(real_file(file));
}
int file_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_file(file)->pMethods->xShmUnmap(real_file(file), delete_flag);
}
int file_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return real_file(file)->pMethods->xFetch(real_file(file), offset, amount, out);
}
int file_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return real_file(file)->pMethods->xUnfetch(real_file(file), offset, page);
}

// Version 3: WAL needs the shared-memory methods (2), and the default VFS has all of them.
const sqlite3_io_methods kFileMethods = {
    3,
    file_close,
    file_read,
    file_write,
    file_truncate,
    file_sync,
    file_size,
    file_lock,
    file_unlock,
    file_check_reserved_lock,
    file_control,
    file_sector_size,
    file_device_characteristics,
    file_shm_map,
    file_shm_lock,
    file_shm_barrier,
    file_shm_unmap,
    file_fetch,
    file_unfetch,
};

// --- VFS methods: forward to the wrapped VFS --------------------------------------------------

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  FaultFile* wrapper = fault_file(file);
  wrapper->owner = static_cast<VfsData*>(vfs->pAppData)->owner;
  wrapper->real = reinterpret_cast<sqlite3_file*>(wrapper + 1);
  sqlite3_vfs* real = real_vfs(vfs);
  int rc = real->xOpen(real, name, wrapper->real, flags, out_flags);
  // SQLite calls xClose exactly when pMethods is set: mirror the wrapped file.
  wrapper->base.pMethods = wrapper->real->pMethods != nullptr ? &kFileMethods : nullptr;
  return rc;
}
int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, size, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  real_vfs(vfs)->xDlError(real_vfs(vfs), size, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return real_vfs(vfs)->xDlSym(real_vfs(vfs), handle, symbol);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* handle) {
  real_vfs(vfs)->xDlClose(real_vfs(vfs), handle);
}
int vfs_randomness(sqlite3_vfs* vfs, int size, char* out) {
  return real_vfs(vfs)->xRandomness(real_vfs(vfs), size, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int micros) { return real_vfs(vfs)->xSleep(real_vfs(vfs), micros); }
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  return real_vfs(vfs)->xGetLastError(real_vfs(vfs), size, out);
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}

// Controllers by name. Never destroyed: SQLite may use a registered VFS until the process ends.
std::mutex registry_mutex;
std::map<std::string, FaultInjectionVfs*>& registry() {
  static auto* controllers = new std::map<std::string, FaultInjectionVfs*>();
  return *controllers;
}

int fault_code(FaultInjectionVfs::Fault fault, int io_error) {
  return fault == FaultInjectionVfs::Fault::kDiskFull ? SQLITE_FULL : io_error;
}

}  // namespace

FaultInjectionVfs& FaultInjectionVfs::install(const std::string& name) {
  std::lock_guard lock(registry_mutex);
  auto found = registry().find(name);
  if (found != registry().end()) {
    return *found->second;
  }
  auto* controller = new FaultInjectionVfs(name);
  registry().emplace(name, controller);
  return *controller;
}

FaultInjectionVfs::FaultInjectionVfs(std::string name) : name_(std::move(name)) {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 2) {
    std::cerr << "hotline: no default SQLite VFS with WAL support to wrap\n";
    std::abort();
  }
  vfs_ = new sqlite3_vfs{};
  vfs_->iVersion = 2;  // version 3 adds only system-call overrides, which tests do not need
  vfs_->szOsFile = static_cast<int>(sizeof(FaultFile)) + real->szOsFile;
  vfs_->mxPathname = real->mxPathname;
  vfs_->zName = name_.c_str();
  vfs_->pAppData = new VfsData{this, real};
  vfs_->xOpen = vfs_open;
  vfs_->xDelete = vfs_delete;
  vfs_->xAccess = vfs_access;
  vfs_->xFullPathname = vfs_full_pathname;
  vfs_->xDlOpen = vfs_dl_open;
  vfs_->xDlError = vfs_dl_error;
  vfs_->xDlSym = vfs_dl_sym;
  vfs_->xDlClose = vfs_dl_close;
  vfs_->xRandomness = vfs_randomness;
  vfs_->xSleep = vfs_sleep;
  vfs_->xCurrentTime = vfs_current_time;
  vfs_->xGetLastError = vfs_get_last_error;
  vfs_->xCurrentTimeInt64 = vfs_current_time_int64;
  if (int rc = sqlite3_vfs_register(vfs_, /*makeDflt=*/0); rc != SQLITE_OK) {
    std::cerr << "hotline: cannot register SQLite VFS " << name_ << ": " << sqlite3_errstr(rc)
              << "\n";
    std::abort();
  }
}

void FaultInjectionVfs::fail_writes(Fault fault, int count) {
  std::lock_guard lock(mutex_);
  writes_ = {count, fault_code(fault, SQLITE_IOERR_WRITE)};
}

void FaultInjectionVfs::fail_syncs(Fault fault, int count) {
  std::lock_guard lock(mutex_);
  syncs_ = {count, fault_code(fault, SQLITE_IOERR_FSYNC)};
}

void FaultInjectionVfs::clear() {
  {
    std::lock_guard lock(mutex_);
    writes_ = {};
    syncs_ = {};
    holding_syncs_ = false;
  }
  syncs_changed_.notify_all();
}

void FaultInjectionVfs::hold_syncs() {
  std::lock_guard lock(mutex_);
  holding_syncs_ = true;
}

bool FaultInjectionVfs::wait_for_held_sync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return syncs_changed_.wait_for(lock, timeout, [this] { return held_syncs_ > 0; });
}

void FaultInjectionVfs::release_syncs() {
  {
    std::lock_guard lock(mutex_);
    holding_syncs_ = false;
  }
  syncs_changed_.notify_all();
}

std::uint64_t FaultInjectionVfs::injected_failures() const {
  std::lock_guard lock(mutex_);
  return injected_failures_;
}

int FaultInjectionVfs::take(Plan& plan) {
  if (plan.remaining == 0) {
    return 0;
  }
  if (plan.remaining > 0) {
    --plan.remaining;
  }
  return plan.code;
}

int FaultInjectionVfs::before_write() {
  std::lock_guard lock(mutex_);
  int code = take(writes_);
  injected_failures_ += code != 0 ? 1 : 0;
  return code;
}

int FaultInjectionVfs::before_sync() {
  std::unique_lock lock(mutex_);
  if (holding_syncs_) {
    ++held_syncs_;
    syncs_changed_.notify_all();
    syncs_changed_.wait(lock, [this] { return !holding_syncs_; });
    --held_syncs_;
  }
  int code = take(syncs_);
  injected_failures_ += code != 0 ? 1 : 0;
  return code;
}

}  // namespace hotline::store
