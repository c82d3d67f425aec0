#include "line/session.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>

#include "core/cbor.h"
#include "store/fault_injection_vfs.h"
#include "testing/fixtures.h"
#include "testing/temp_dir.h"

namespace hotline::line {
namespace {

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

Bytes message_body(const std::string& text) {
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
  void reopen() {
    session.reset();
    record.reset();
    store.reset();
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

// Hands every frame `from` queued to `to`, letting each side's writes end as they go; the first
// error ends the delivery and is returned.
// The oldest frame `from` queued, taken off its transport.
Result<link::Frame> take_frame(Side& from) {
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

Result<void> deliver(Side& from, Side& to) {
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

// Delivers both ways until neither side has anything more to say.
Result<void> settle(Side& a, Side& b) {
  for (int round = 0; round < 1000; ++round) {
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
    alpha_.session.reset();
    alpha_.record.reset();
    alpha_.store.reset();  // closed: the database file is complete on its own
    std::filesystem::copy_file(alpha_.path, to);
    alpha_.reopen();
  }
  void restore_alpha_database(const std::string& from) {
    alpha_.session.reset();
    alpha_.record.reset();
    alpha_.store.reset();
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

TEST_F(SessionTest, QueuedDraftsAreDeliveredWithReceiptsOnceTheHelloIsDone) {
  for (int i = 0; i < 3; ++i) alpha_.queue("m" + std::to_string(i));
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(alpha_.session->state(), SessionState::kOpen);
  EXPECT_EQ(bravo_.peer_seq(), 3u);
  EXPECT_EQ(alpha_.record->receipted_seq(), 3u);
  EXPECT_EQ(alpha_.store->count_drafts(alpha_.parties.id, std::nullopt).value(), 0u);
  EXPECT_EQ(bravo_.counters.entries_received, 3u);
}

TEST_F(SessionTest, NothingIsAuthoredBeforeTheHello) {
  alpha_.queue("m");
  alpha_.connect();
  ASSERT_TRUE(alpha_.pump().ok());
  EXPECT_EQ(alpha_.own_seq(), 0u);
  EXPECT_EQ(alpha_.transport.frames.size(), 1u);  // the HELLO only
}

TEST_F(SessionTest, FlashIsSignedFirstAndTheWindowBoundsWhatIsInFlight) {
  for (int i = 0; i < 600; ++i) alpha_.queue("r" + std::to_string(i));
  alpha_.queue("flash", Precedence::kFlash);
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(deliver(bravo_, alpha_).ok());  // alpha gets the HELLO and fills its window
  EXPECT_EQ(alpha_.own_seq(), kInFlightWindow);
  auto first = alpha_.store->read_entries(alpha_.parties.id, alpha_.key.public_key(), 1, 1);
  ASSERT_EQ(first.value().size(), 1u);
  EXPECT_EQ(first.value()[0].fields.body.find(1)->as_text(), "flash");
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(bravo_.peer_seq(), 601u);
}

// A pump signs one batch and queues it; the next batch is signed at the next pump, which the
// connection makes once it has written the first. So the peer checks one batch while this station
// signs the next, rather than waiting for a whole window signed in one go.
TEST_F(SessionTest, EachPumpSignsOneBatchAndSendsItBeforeTheNext) {
  for (int i = 0; i < 100; ++i) alpha_.queue("m" + std::to_string(i));
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(deliver(alpha_, bravo_).ok());  // HELLO
  ASSERT_TRUE(bravo_.pump().ok());
  ASSERT_TRUE(alpha_.session->on_frame(take_frame(bravo_).value()).ok());  // bravo's HELLO
  EXPECT_EQ(alpha_.own_seq(), kAuthorBatch);
  std::size_t entries_frames = 0;
  while (!alpha_.transport.frames.empty()) {
    auto frame = take_frame(alpha_);
    ASSERT_TRUE(frame.ok());
    entries_frames += frame.value().type == link::FrameType::kEntries ? 1 : 0;
  }
  EXPECT_EQ(entries_frames, 1u) << "the first batch is queued before the next is signed";
  ASSERT_TRUE(alpha_.session->pump().ok());
  EXPECT_EQ(alpha_.own_seq(), 2 * kAuthorBatch);
  ASSERT_TRUE(alpha_.pump_as_writes_end().ok());
  EXPECT_EQ(alpha_.own_seq(), 100u);
  // No write may still be in flight when the sides are destroyed.
  alpha_.drain();
  bravo_.drain();
}

TEST_F(SessionTest, AFlashQueuedWhileTheWindowIsFullIsSignedAtOnce) {
  for (int i = 0; i < 600; ++i) alpha_.queue("r" + std::to_string(i));
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(deliver(bravo_, alpha_).ok());
  ASSERT_EQ(alpha_.own_seq(), kInFlightWindow);  // full: more ROUTINE waits for receipts
  ASSERT_TRUE(alpha_.pump().ok());
  EXPECT_EQ(alpha_.own_seq(), kInFlightWindow);
  alpha_.queue("flash", Precedence::kFlash);
  ASSERT_TRUE(alpha_.pump().ok());
  ASSERT_EQ(alpha_.own_seq(), kInFlightWindow + 1);
  auto flash = alpha_.store->read_entries(alpha_.parties.id, alpha_.key.public_key(),
                                          kInFlightWindow + 1, 1);
  EXPECT_EQ(flash.value().at(0).fields.body.find(1)->as_text(), "flash");
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(bravo_.peer_seq(), 601u);
}

TEST_F(SessionTest, AReconnectResendsExactlyWhatThePeerLacks) {
  for (int i = 0; i < 10; ++i) alpha_.queue("m" + std::to_string(i));
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(deliver(alpha_, bravo_).ok());  // HELLO
  ASSERT_TRUE(deliver(bravo_, alpha_).ok());  // HELLO: alpha signs and queues the 10 entries
  ASSERT_EQ(alpha_.own_seq(), 10u);
  auto lost = alpha_.transport.frames;  // the connection dies with these in flight
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(bravo_.peer_seq(), 10u);
  EXPECT_EQ(alpha_.counters.entries_resent, 10u);
  EXPECT_EQ(alpha_.own_seq(), 10u) << "resending must not sign anything again";

  // The lost frames turn up late on a new connection: harmless duplicates.
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  for (Bytes& frame : lost) {
    link::FrameReader reader;
    reader.append(frame);
    auto next = reader.next();
    ASSERT_TRUE(next.ok() && next.value().has_value());
    const link::Frame& f = *next.value();
    if (f.type == link::FrameType::kEntries) {
      ASSERT_TRUE(bravo_.session->on_frame(f).ok());
    }
  }
  EXPECT_EQ(bravo_.counters.duplicates_dropped, 10u);
  EXPECT_EQ(bravo_.peer_seq(), 10u);
}

TEST_F(SessionTest, ARestoredStationRecoversItsChainBeforeAuthoringAndNeverForks) {
  for (int i = 0; i < 5; ++i) alpha_.queue("old" + std::to_string(i));
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  alpha_.queue("queued-at-backup");
  const std::string backup = dir_.file("alpha-backup.db");
  copy_alpha_database(backup);
  bravo_.queue("from-bravo");
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  ASSERT_EQ(bravo_.peer_seq(), 6u);  // 5 + the draft queued at backup time
  ASSERT_EQ(alpha_.peer_seq(), 1u);

  restore_alpha_database(backup);  // 5 own entries and the draft queued again; bravo's lost
  ASSERT_EQ(alpha_.own_seq(), 5u);
  alpha_.queue("after-restore", Precedence::kFlash);
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(deliver(alpha_, bravo_).ok());
  ASSERT_TRUE(deliver(bravo_, alpha_).ok());
  // Bravo's HELLO says it holds alpha's chain up to 6: alpha recovers and signs nothing meanwhile.
  EXPECT_EQ(alpha_.session->state(), SessionState::kRecovering);
  ASSERT_TRUE(alpha_.pump().ok());
  EXPECT_EQ(alpha_.own_seq(), 5u);
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(alpha_.session->state(), SessionState::kOpen);
  EXPECT_EQ(alpha_.counters.entries_recovered, 1u);
  EXPECT_EQ(alpha_.peer_seq(), 1u) << "bravo's entry came back too";
  EXPECT_EQ(bravo_.peer_seq(), 7u);
  EXPECT_EQ(bravo_.counters.alarms, 0u);
  EXPECT_TRUE(bravo_.store->evidence(bravo_.parties.id).value().empty());
  auto chain = bravo_.store->read_entries(bravo_.parties.id, alpha_.key.public_key(), 1, 100);
  std::vector<std::string> texts;
  for (const auto& e : chain.value()) texts.push_back(e.fields.body.find(1)->as_text());
  EXPECT_EQ(texts, (std::vector<std::string>{"old0", "old1", "old2", "old3", "old4",
                                             "queued-at-backup", "after-restore"}))
      << "the draft queued at backup time was authored twice";
}

TEST_F(SessionTest, AStationThatForkedItsChainIsCaughtAtHelloWithEvidence) {
  alpha_.queue("one");
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  const std::string backup = dir_.file("alpha-backup.db");
  copy_alpha_database(backup);
  alpha_.queue("two");
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  // A careless restore that authors without recovering: seq 2 signed a second time.
  restore_alpha_database(backup);
  std::vector<Draft> fork;
  fork.push_back({"message", cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text("x")}})});
  ASSERT_TRUE(alpha_.record->author(std::move(fork)).ok());
  alpha_.connect();
  bravo_.connect();
  auto result = deliver(alpha_, bravo_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::kConflict);
  EXPECT_EQ(bravo_.session->goodbye_reason(result.error()), link::GoodbyeReason::kConflict);
  EXPECT_EQ(bravo_.counters.alarms, 1u);
  EXPECT_EQ(bravo_.store->evidence(bravo_.parties.id).value().size(), 1u);
}

TEST_F(SessionTest, MessagesOutOfTurnAreProtocolErrors) {
  alpha_.connect();
  bravo_.connect();
  // ENTRIES before HELLO.
  link::Entries entries;
  entries.items.push_back(Bytes{1, 2, 3});
  auto frame = link::encode_message(entries).value();
  link::FrameReader reader;
  reader.append(frame);
  auto early = bravo_.session->on_frame(*reader.next().value());
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(bravo_.session->goodbye_reason(early.error()), link::GoodbyeReason::kUnexpectedMessage);

  // A HELLO for another line.
  bravo_.connect();
  link::Hello hello;
  hello.line = record::derive_line_id(alpha_.key.public_key(), bravo_.key.public_key(), "other");
  hello.sender = alpha_.key.public_key();
  link::FrameReader hello_reader;
  hello_reader.append(link::encode_message(hello).value());
  auto wrong = bravo_.session->on_frame(*hello_reader.next().value());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(bravo_.session->goodbye_reason(wrong.error()), link::GoodbyeReason::kWrongLine);

  // A second HELLO on an open connection.
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  ASSERT_TRUE(alpha_.session->start().ok());
  auto twice = deliver(alpha_, bravo_);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(bravo_.session->goodbye_reason(twice.error()), link::GoodbyeReason::kUnexpectedMessage);
}

// Hands `from`'s frames to `to` without waiting for either side's writes: a network does not
// wait for disks. Returns the number of ENTRIES frames.
Result<int> pass_frames(Side& from, Side& to) {
  int entries_frames = 0;
  while (!from.transport.frames.empty()) {
    HOTLINE_ASSIGN(link::Frame frame, take_frame(from));
    if (frame.type == link::FrameType::kEntries) {
      ++entries_frames;
    }
    HOTLINE_TRY(to.session->on_frame(frame));
  }
  from.transport.drained();
  return entries_frames;
}

// Entries go out while their commit runs, so that the peer's work overlaps with it; the next batch
// is signed meanwhile. The peer's receipt for them is stored, and reported, only once they are
// durable here.
TEST_F(SessionTest, EntriesGoOutWhileTheyAreWrittenAndTheirReceiptWaitsForThem) {
  auto& vfs = alpha_open_on_faulty_disk("session-test-held");
  for (int i = 0; i < 40; ++i) alpha_.queue("m" + std::to_string(i));

  vfs.hold_syncs();
  ASSERT_TRUE(alpha_.pump_as_writes_end().ok());
  ASSERT_TRUE(vfs.wait_for_held_sync(std::chrono::seconds(10)));
  EXPECT_EQ(alpha_.own_seq(), 40u) << "both batches signed without waiting for the first commit";
  EXPECT_EQ(alpha_.record->own_durable().position.seq, 0u);
  auto sent = pass_frames(alpha_, bravo_);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_GT(sent.value(), 0) << "the entries wait for their commit";
  bravo_.drain();
  EXPECT_EQ(bravo_.peer_seq(), 40u);
  ASSERT_TRUE(pass_frames(bravo_, alpha_).ok());  // bravo's receipt, before alpha's commit ends
  EXPECT_EQ(alpha_.record->receipted_seq(), 0u) << "a receipt reported for entries not on disk";

  vfs.release_syncs();
  vfs.clear();
  alpha_.drain();
  EXPECT_EQ(alpha_.record->own_durable().position.seq, 40u);
  EXPECT_EQ(alpha_.record->receipted_seq(), 40u) << "the receipt is stored once they are";
  auto receipts = alpha_.store->receipts(alpha_.parties.id).value();
  ASSERT_FALSE(receipts.empty());
  EXPECT_EQ(receipts.back().fields.held.seq, 40u);
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(bravo_.peer_seq(), 40u);
  EXPECT_EQ(alpha_.counters.entries_sent, 40u) << "nothing sent twice";
}

// A commit that fails (the disk is full) is not hidden: the record reports it, refuses to write
// until the writes in flight have ended, then reloads what is stored. The entries had gone out
// but were lost with the connection (the link closes it on a failed write): the drafts are still
// queued, and once the disk has room they are signed again and delivered exactly once.
TEST_F(SessionTest, AFailedWriteIsReportedAndTheLineResumesFromWhatIsStored) {
  auto& vfs = alpha_open_on_faulty_disk("session-test-full");
  for (int i = 0; i < 40; ++i) alpha_.queue("m" + std::to_string(i));

  vfs.fail_writes(store::FaultInjectionVfs::Fault::kDiskFull);
  ASSERT_TRUE(alpha_.pump_as_writes_end().ok());
  EXPECT_EQ(alpha_.own_seq(), 40u);
  alpha_.drain();
  EXPECT_EQ(alpha_.write_failures, 1);
  EXPECT_FALSE(alpha_.record->failed()) << "reloaded once nothing was in flight";
  EXPECT_EQ(alpha_.own_seq(), 0u) << "the heads are what the store holds";
  EXPECT_EQ(alpha_.record->outbox_size(), 40u);

  vfs.clear();
  alpha_.connect();  // the connection closed with the entries in it; the link dials again
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(bravo_.peer_seq(), 40u);
  EXPECT_EQ(alpha_.record->outbox_size(), 0u);
  auto chain = bravo_.store->read_entries(bravo_.parties.id, alpha_.key.public_key(), 1, 100);
  ASSERT_EQ(chain.value().size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(chain.value()[i].fields.body.find(1)->as_text(), "m" + std::to_string(i));
  }
  EXPECT_TRUE(bravo_.store->evidence(bravo_.parties.id).value().empty());
}

// The same failure after the peer stored the entries: the peer holds what this station lost.
// This station recovers them from the peer instead of signing those sequence numbers again, and
// the drafts they were signed from leave the outbox: each message is on the record once, and the
// peer sees no second entry for any sequence number.
TEST_F(SessionTest, EntriesThePeerStoredBeforeTheirWriteFailedHereAreRecoveredNotSignedAgain) {
  auto& vfs = alpha_open_on_faulty_disk("session-test-full-after-send");
  for (int i = 0; i < 40; ++i) alpha_.queue("m" + std::to_string(i));

  vfs.fail_writes(store::FaultInjectionVfs::Fault::kDiskFull);
  ASSERT_TRUE(alpha_.pump_as_writes_end().ok());
  ASSERT_TRUE(pass_frames(alpha_, bravo_).ok());
  bravo_.drain();
  ASSERT_EQ(bravo_.peer_seq(), 40u);
  alpha_.drain();
  EXPECT_EQ(alpha_.write_failures, 1);
  EXPECT_EQ(alpha_.own_seq(), 0u);
  EXPECT_EQ(alpha_.record->outbox_size(), 40u);

  vfs.clear();
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  EXPECT_EQ(alpha_.counters.entries_recovered, 40u);
  EXPECT_EQ(alpha_.own_seq(), 40u);
  EXPECT_EQ(alpha_.record->outbox_size(), 0u) << "a recovered draft would be sent twice";
  EXPECT_EQ(bravo_.peer_seq(), 40u);
  EXPECT_EQ(alpha_.record->receipted_seq(), 40u);
  EXPECT_TRUE(bravo_.store->evidence(bravo_.parties.id).value().empty());
  auto ours = alpha_.store->read_entries(alpha_.parties.id, alpha_.key.public_key(), 1, 100);
  auto theirs = bravo_.store->read_entries(bravo_.parties.id, alpha_.key.public_key(), 1, 100);
  ASSERT_EQ(ours.value().size(), 40u);
  ASSERT_EQ(theirs.value().size(), 40u);
  for (std::size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(ours.value()[i].signed_bytes, theirs.value()[i].signed_bytes);
  }
}

// A station that died before its own commit reconnects while the peer is still writing what it
// sent: the peer's HELLO counts those entries, so the station recovers them rather than sign
// those sequence numbers again for what it queues next.
TEST_F(SessionTest, TheHelloCountsEntriesThePeerIsStillWriting) {
  auto& vfs = store::FaultInjectionVfs::install("session-test-bravo-held");
  bravo_.vfs = "session-test-bravo-held";
  bravo_.reopen();
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  const std::string backup = dir_.file("alpha-before.db");
  copy_alpha_database(backup);
  for (int i = 0; i < 10; ++i) alpha_.queue("m" + std::to_string(i));
  alpha_.queue("sent-then-lost");
  alpha_.connect();
  bravo_.connect();

  vfs.hold_syncs();
  ASSERT_TRUE(pass_frames(alpha_, bravo_).ok());  // HELLO
  ASSERT_TRUE(pass_frames(bravo_, alpha_).ok());  // HELLO: alpha signs and sends all 11
  alpha_.drain();
  ASSERT_TRUE(pass_frames(alpha_, bravo_).ok());
  ASSERT_TRUE(vfs.wait_for_held_sync(std::chrono::seconds(10)));
  ASSERT_EQ(bravo_.peer_seq(), 11u);
  ASSERT_EQ(bravo_.record->peer_durable().position.seq, 0u);

  // Alpha dies having stored none of them (here: restored to a copy from before), and comes back
  // with a new message queued, while bravo is still writing the 11.
  restore_alpha_database(backup);
  alpha_.queue("after-restart");
  alpha_.connect();
  bravo_.transport = QueueTransport();
  bravo_.session =
      std::make_unique<Session>(*bravo_.record, *bravo_.store, bravo_.counters, bravo_.transport);
  ASSERT_TRUE(bravo_.session->start().ok());  // its HELLO: what it holds, writes in flight too
  vfs.release_syncs();
  vfs.clear();
  bravo_.drain();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());

  EXPECT_EQ(alpha_.counters.entries_recovered, 11u);
  EXPECT_TRUE(bravo_.store->evidence(bravo_.parties.id).value().empty());
  auto chain = bravo_.store->read_entries(bravo_.parties.id, alpha_.key.public_key(), 1, 100);
  ASSERT_EQ(chain.value().size(), 12u);
  EXPECT_EQ(chain.value()[10].fields.body.find(1)->as_text(), "sent-then-lost");
  EXPECT_EQ(chain.value()[11].fields.body.find(1)->as_text(), "after-restart");
  EXPECT_EQ(alpha_.record->receipted_seq(), 12u);
}

// The peer's clock offset is measured from its heartbeats: bravo's clock runs 5 s ahead.
TEST(SessionClockTest, ThePeersClockOffsetIsMeasuredFromItsHeartbeats) {
  testing::TempDir dir;
  ManualClock alpha_clock{1'700'000'000'000'000};
  ManualClock bravo_clock{1'700'000'005'000'000};
  Side alpha(dir.file("alpha.db"), 1, 2, alpha_clock);
  Side bravo(dir.file("bravo.db"), 2, 1, bravo_clock);
  alpha.connect();
  bravo.connect();
  ASSERT_TRUE(settle(alpha, bravo).ok());
  EXPECT_FALSE(alpha.session->peer_clock_offset().has_value());
  ASSERT_TRUE(bravo.session->send_heartbeat(bravo_clock.now()).ok());
  ASSERT_TRUE(settle(alpha, bravo).ok());
  ASSERT_TRUE(alpha.session->peer_clock_offset().has_value());
  // Half of alpha's last round trip is added; none was measured yet.
  EXPECT_EQ(alpha.session->peer_clock_offset()->count(), 5'000'000);
}

}  // namespace
}  // namespace hotline::line
