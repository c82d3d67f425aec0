// The line protocol in memory: HELLO, delivery and receipts, FLASH and the window, resends,
// recovery from a restored backup, forks and frames out of turn.
#include <algorithm>

#include "line/session_test_fixtures.h"

namespace hotline::line {
namespace {

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

// A checkpoint is signed and handed to the writer; the line's thread does not wait for the disk,
// and the checkpoint goes out only once it is durable, so the peer never holds one this station
// could lose. The peer stores it the same way.
TEST_F(SessionTest, ACheckpointGoesOutOnlyOnceItIsDurable) {
  alpha_.connect();
  bravo_.connect();
  ASSERT_TRUE(settle(alpha_, bravo_).ok());
  const std::size_t stored_before = alpha_.store->checkpoints(alpha_.parties.id).value().size();
  const std::uint64_t received_before = bravo_.counters.checkpoints_received;

  clock_.advance(1000);  // else it would equal the checkpoint of the opening, and be stored once
  ASSERT_TRUE(alpha_.session->send_checkpoint().ok());
  EXPECT_TRUE(alpha_.transport.frames.empty()) << "a checkpoint went out before it was durable";
  alpha_.drain();  // the writer's report reaches the line's thread
  const auto stored = alpha_.store->checkpoints(alpha_.parties.id).value();
  ASSERT_EQ(stored.size(), stored_before + 1);
  ASSERT_EQ(alpha_.transport.frames.size(), 1u);
  link::Frame frame = take_frame(alpha_).value();
  ASSERT_EQ(frame.type, link::FrameType::kCheckpoint);

  ASSERT_TRUE(bravo_.session->on_frame(frame).value());
  EXPECT_EQ(bravo_.counters.checkpoints_received, received_before + 1);
  bravo_.drain();
  const auto held = bravo_.store->checkpoints(bravo_.parties.id).value();
  EXPECT_TRUE(std::any_of(held.begin(), held.end(), [&](const SignedCheckpoint& c) {
    return c.signed_bytes == stored.back().signed_bytes;
  })) << "bravo did not store alpha's checkpoint";
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

}  // namespace
}  // namespace hotline::line
