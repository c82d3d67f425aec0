// store/limits.h — the storage subsystem's limits, with why each value was chosen.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hotline::store {

// "HLN1": written into the SQLite header (PRAGMA application_id) so that a database created by
// something else is refused instead of being migrated into a Hotline record.
inline constexpr std::int32_t kApplicationId = 0x484C4E31;

// The most write jobs the writer puts into one transaction. Group commit pays one fsync for the
// whole batch, but every job in it waits for the last one to be applied, so the batch is bounded
// to keep the latency of the first job (and the size of one WAL commit) small.
inline constexpr std::size_t kMaxJobsPerBatch = 512;
// How long a job submitted with GroupCommitWriter::Commit::kWithNext waits for another job to
// commit with before it is committed alone: long enough for the call that wrote it to make its
// own write, short enough that a call that writes nothing is not held up noticeably.
inline constexpr std::chrono::milliseconds kRideAlongDelay{5};

// How long a connection waits for a lock held by another process (a second station process, or a
// `verify` reader during WAL recovery) before the call fails with kIo.
inline constexpr int kBusyTimeoutMillis = 5000;

}  // namespace hotline::store
