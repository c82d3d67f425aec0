// line/session_test_fixtures.h — two stations' sides of one line, joined in memory, for the
// Session tests (session_test.cc: the protocol; session_writes_test.cc: writes in flight and
// failed writes). Frames are delivered, or lost, when a test says so, and the store's completions
// run when it drains them, as a network and an io_context would. Header-only, because every .cc
// in this folder that is not a test goes into the library.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>

#include "core/cbor.h"
#include "line/session.h"
#include "store/fault_injection_vfs.h"
#include "testing/fixtures.h"
#include "testing/temp_dir.h"

namespace hotline::line {

// Frames queued by a Session, for the test to deliver (or lose) as a network would.
class QueueTransport : public SessionTransport {
 public:
  void send_frame(Bytes frame) override {
    bytes_ += frame.size();
    frames.push_back(std::move(frame));
  }
  std::size_t queued_bytes() const override { return bytes_; }
  void drained() { bytes_ = 0; }
  std::deque<Bytes> frames;

 private:
  std::size_t bytes_ = 0;
};

// What the store's writer thread hands back to the line's thread (LineRecord's Post): the test
// runs it when it chooses, as an io_context would.
class Completions {
 public:
  Post post() {
    return [this](std::function<void()> fn) {
      {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(fn));
      }
      ready_.notify_one();
    };
  }
  // Runs completions until `record` has no write in flight and nothing is left to run.
  void drain(const LineRecord& record) {
    for (;;) {
      std::function<void()> next;
      {
        std::unique_lock lock(mutex_);
        if (queue_.empty() && record.writes_in_flight() == 0) {
          return;
        }
        ready_.wait(lock, [this] { return !queue_.empty(); });
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      next();
    }
  }
  void clear() {
    std::lock_guard lock(mutex_);
    queue_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
};

inline Bytes message_body(const std::string& text) {
  return cbor::encode(cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text(text)}}));
}

// One station's side of the line: its store, record and current connection.
struct Side {
  Side(const std::string& db, std::uint8_t own, std::uint8_t peer, const Clock& clock)
      : path(db), key(testing::key_from_byte(own)), clock(&clock) {
    const auto peer_key = testing::key_from_byte(peer).public_key();
    const auto& a = own < peer ? key.public_key() : peer_key;
    const auto& b = own < peer ? peer_key : key.public_key();
    parties = {record::derive_line_id(a, b, "l"), "l", key.public_key(), peer_key};
    reopen();
  }
  // Closes the store (and what uses it): the database file is complete on its own.
  void close() {
    session.reset();
    record.reset();
    store.reset();
  }
  void reopen() {
    close();
    completions.clear();
    store::SqliteOptions options;
    options.vfs = vfs;
    store = store::open_sqlite_store(path, options).value();
    EXPECT_TRUE(store->add_line(parties).ok());
    record.emplace(LineRecord::open(*store, key, parties, *clock, completions.post()).value());
    RecordListener listener;
    listener.own_durable = [this] {
      if (session) {
        EXPECT_TRUE(session->pump().ok());
      }
    };
    listener.peer_durable = [this](const SignedReceipt& receipt) {
      if (session) {
        session->send_receipt(receipt);
      }
    };
    listener.own_checkpoint = [this](const SignedCheckpoint& checkpoint) {
      if (session) {
        session->send_stored_checkpoint(checkpoint);
      }
    };
    listener.write_failed = [this](const Error&) { ++write_failures; };
    record->set_listener(std::move(listener));
  }
  void connect() {
    drain();
    transport = QueueTransport();
    session = std::make_unique<Session>(*record, *store, counters, transport);
    ASSERT_TRUE(session->start().ok());
  }
  void drain() { completions.drain(*record); }
  Result<void> pump() {
    HOTLINE_TRY(session->pump());
    drain();
    return success();
  }
  // Pumps as the connection does after each write (Connection::write_loop), while the writes are
  // still running: a pump signs one batch, so this repeats until nothing more is signed.
  Result<void> pump_as_writes_end() {
    std::uint64_t before = 0;
    do {
      before = own_seq();
      HOTLINE_TRY(session->pump());
    } while (own_seq() != before);
    return success();
  }
  void queue(const std::string& text, Precedence precedence = Precedence::kRoutine) {
    ASSERT_TRUE(record->enqueue(precedence, "message", message_body(text)).ok());
  }
  std::uint64_t own_seq() const { return record->own_head().position.seq; }
  std::uint64_t peer_seq() const { return record->peer_head().position.seq; }

  std::string path;
  std::string vfs;  // the store's SQLite VFS (empty: the default)
  int write_failures = 0;
  crypto::SigningKey key;
  const Clock* clock;
  store::LineParties parties;
  std::unique_ptr<store::RecordStore> store;
  Completions completions;
  std::optional<LineRecord> record;
  LineCounters counters;
  QueueTransport transport;
  std::unique_ptr<Session> session;
};

// The oldest frame `from` queued, taken off its transport.
inline Result<link::Frame> take_frame(Side& from) {
  Bytes bytes = std::move(from.transport.frames.front());
  from.transport.frames.pop_front();
  link::FrameReader reader;
  reader.append(bytes);
  HOTLINE_ASSIGN(auto frame, reader.next());
  if (!frame) {
    return make_error(Errc::kInternal, "a queued frame is incomplete");
  }
  return std::move(*frame);
}

// Hands every frame `from` queued to `to`, letting each side's writes end as they go; the first
// error ends the delivery and is returned.
inline Result<void> deliver(Side& from, Side& to) {
  from.drain();
  while (!from.transport.frames.empty()) {
    HOTLINE_ASSIGN(link::Frame frame, take_frame(from));
    HOTLINE_ASSIGN(bool more, to.session->on_frame(frame));
    if (!more) {
      return make_error(Errc::kRefused, "goodbye");
    }
    to.drain();
    from.drain();
  }
  from.transport.drained();
  return from.pump();
}

// Delivers both ways until neither side has anything more to say, nor a write in flight whose end
// would queue a frame (a checkpoint goes out once durable).
inline Result<void> settle(Side& a, Side& b) {
  for (int round = 0; round < 1000; ++round) {
    a.drain();
    b.drain();
    if (a.transport.frames.empty() && b.transport.frames.empty()) {
      return success();
    }
    HOTLINE_TRY(deliver(a, b));
    HOTLINE_TRY(deliver(b, a));
  }
  return make_error(Errc::kInternal, "the sessions never settled");
}

class SessionTest : public ::testing::Test {
 protected:
  void copy_alpha_database(const std::string& to) {
    alpha_.close();
    std::filesystem::copy_file(alpha_.path, to);
    alpha_.reopen();
  }
  void restore_alpha_database(const std::string& from) {
    alpha_.close();
    std::filesystem::remove(alpha_.path + "-wal");
    std::filesystem::remove(alpha_.path + "-shm");
    std::filesystem::copy_file(from, alpha_.path,
                               std::filesystem::copy_options::overwrite_existing);
    alpha_.reopen();
  }

  // Alpha's store on a disk whose faults the test injects, and the line open.
  store::FaultInjectionVfs& alpha_open_on_faulty_disk(const std::string& vfs_name) {
    auto& vfs = store::FaultInjectionVfs::install(vfs_name);
    alpha_.vfs = vfs_name;
    alpha_.reopen();
    alpha_.connect();
    bravo_.connect();
    EXPECT_TRUE(settle(alpha_, bravo_).ok());
    return vfs;
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  Side alpha_{dir_.file("alpha.db"), 1, 2, clock_};
  Side bravo_{dir_.file("bravo.db"), 2, 1, clock_};
};

}  // namespace hotline::line
