// Writes in flight and writes that fail: entries go out during their commit, their receipt waits
// for it, and a station whose commit failed recovers what the peer holds instead of signing again.
#include "line/session_test_fixtures.h"

namespace hotline::line {
namespace {

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
