// A real station under attack from its network (docs/protocol.md §1, §2, §4.6): clients it must
// refuse during the TLS handshake, and an authenticated peer sending hostile frames. Every attempt
// must be refused or rejected with the right GOODBYE, counted, logged as a security event, and
// leave the station serving its real peer with its record untouched.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integration/hotline_process.h"
#include "integration/record_checks.h"
#include "integration/station_process.h"
#include "link/asio.h"
#include "link/frame.h"
#include "link/messages.h"
#include "link/tls_handshake.h"
#include "record/entry.h"
#include "record/receipt.h"
#include "store/record_store.h"
#include "testing/temp_dir.h"

namespace hotline::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::milliseconds;
namespace asio = link::asio;

const std::string kLine = "alpha-bravo";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The first line of `log` that contains `part`; empty if none does.
std::string line_with(const std::string& log, const std::string& part) {
  const std::size_t at = log.find(part);
  if (at == std::string::npos) {
    return "";
  }
  const std::size_t newline = log.rfind('\n', at);
  const std::size_t begin = newline == std::string::npos ? 0 : newline + 1;
  const std::size_t end = log.find('\n', at);
  return log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The signing key of a StationProcess, rebuilt from its deterministic seed.
crypto::SigningKey key_of(const StationProcess& station) {
  return crypto::SigningKey::from_seed(from_hex(station.seed_hex()).value()).value();
}

// What a station sent on one connection until it closed it.
struct Received {
  Bytes bytes;
  boost::system::error_code end;  // how the stream ended; timed_out if the station kept it open
};

// One TCP connection to a station's listener, driven step by step from the test thread, as plain
// TCP or TLS. Every step runs on a private io_context with a deadline, so that a station that
// never answers fails the test instead of hanging it.
class ListenerClient {
 public:
  // `tls` is used only by the TLS steps; it must outlive the client.
  ListenerClient(asio::ssl::context& tls, std::uint16_t port) : stream_(io_, tls) {
    stream_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  }

  // This end of the connection as the station's log names it ("127.0.0.1:PORT").
  std::string address() const {
    const auto local = stream_.next_layer().local_endpoint();
    return local.address().to_string() + ":" + std::to_string(local.port());
  }

  boost::system::error_code handshake() {
    return run([&](auto done) { stream_.async_handshake(asio::ssl::stream_base::client, done); },
               5s);
  }

  boost::system::error_code write_plain(std::string_view bytes) {
    return run(
        [&](auto done) { asio::async_write(stream_.next_layer(), asio::buffer(bytes), done); }, 5s);
  }

  boost::system::error_code write_tls(const Bytes& bytes) {
    return run([&](auto done) { asio::async_write(stream_, asio::buffer(bytes), done); }, 5s);
  }

  // Everything the station sends until it closes the connection or `timeout` passes.
  Received read_until_closed(bool tls, milliseconds timeout) {
    Received received;
    std::array<std::uint8_t, 16 * 1024> buffer{};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) {
        received.end = asio::error::timed_out;
        return received;
      }
      std::size_t n = 0;
      const auto ec = run(
          [&](auto done) {
            auto got = [&n, done](boost::system::error_code e, std::size_t bytes) {
              n = bytes;
              done(e);
            };
            if (tls) {
              stream_.async_read_some(asio::buffer(buffer), got);
            } else {
              stream_.next_layer().async_read_some(asio::buffer(buffer), got);
            }
          },
          left);
      received.bytes.insert(received.bytes.end(), buffer.begin(), buffer.begin() + n);
      if (ec) {
        received.end = ec;
        return received;
      }
    }
  }

 private:
  // Starts an operation with `start(handler)` and runs it to completion or until `timeout`, when
  // closing the socket makes it complete with an error.
  template <class Start>
  boost::system::error_code run(Start start, milliseconds timeout) {
    std::optional<boost::system::error_code> result;
    start([&result](boost::system::error_code ec, std::size_t = 0) { result = ec; });
    io_.restart();
    io_.run_for(timeout);
    if (!result) {
      boost::system::error_code ignored;
      stream_.next_layer().close(ignored);
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    return *result;
  }

  asio::io_context io_;
  link::TlsStream stream_;
};

// The messages in what a station sent; fails the test if its bytes are not well-formed frames.
std::vector<link::Message> messages_in(const Bytes& bytes) {
  link::FrameReader reader;
  reader.append(bytes);
  std::vector<link::Message> messages;
  for (;;) {
    auto frame = reader.next();
    if (!frame.ok()) {
      ADD_FAILURE() << "the station sent a bad frame: " << frame.error().message;
      break;
    }
    if (!frame.value()) {
      break;
    }
    auto message = link::decode_message(*frame.value());
    if (!message.ok()) {
      ADD_FAILURE() << "the station sent a bad message: " << message.error().message;
      break;
    }
    messages.push_back(std::move(message).value());
  }
  EXPECT_EQ(reader.buffered(), 0u) << "the station closed in the middle of a frame";
  return messages;
}

// What bravo answered an impostor on one connection.
struct Heard {
  std::string route;  // how bravo names the connection in its log: "from 127.0.0.1:PORT"
  std::vector<link::Message> messages;
  boost::system::error_code end;

  template <class T>
  bool has() const {
    for (const auto& m : messages) {
      if (std::holds_alternative<T>(m)) {
        return true;
      }
    }
    return false;
  }
  // The reason of the GOODBYE that ends the conversation; "none" if it did not end with one.
  std::string goodbye_reason() const {
    if (messages.empty() || !std::holds_alternative<link::Goodbye>(messages.back())) {
      return "none";
    }
    return std::string(link::goodbye_reason_name(std::get<link::Goodbye>(messages.back()).reason));
  }
  std::string goodbye_text() const {
    return goodbye_reason() == "none" ? "" : std::get<link::Goodbye>(messages.back()).text;
  }
};

class HostileLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alpha_.init();
    bravo_.init();
    // Alpha dials bravo; bravo only answers.
    alpha_.add_line(kLine, bravo_.fingerprint(), {bravo_.listen()});
    bravo_.add_line(kLine, alpha_.fingerprint(), {});
    ASSERT_EQ(alpha_key_.public_key().fingerprint(), alpha_.fingerprint());
    bravo_key_ = crypto::PublicKey::from_fingerprint(bravo_.fingerprint()).value();
  }

  bool delivered(std::uint64_t n) {
    return receipted(alpha_.line_status(kLine)) == n && peer_seq(bravo_.line_status(kLine)) == n;
  }

  std::uint64_t bravo_count(const char* key) { return bravo_.status()[key].get<std::uint64_t>(); }

  // A TLS client context with alpha's certificate that accepts only bravo's key.
  std::unique_ptr<asio::ssl::context> alpha_tls() {
    return link::make_tls_context(
               link::TlsRole::kClient, alpha_key_,
               [bravo = bravo_key_](const crypto::PublicKey& k) { return k == bravo; }, nullptr)
        .value();
  }

  // Bravo's listener logged a refused handshake from `address`, and its count of failed
  // handshakes reached `failed` (stragglers of charlie's retries may add to it, never this line).
  void expect_handshake_refused(const std::string& address, std::uint64_t failed) {
    EXPECT_TRUE(wait_until(
        [&] {
          return contains(bravo_.log(),
                          "SECURITY listener: handshake with " + address + " refused");
        },
        5s))
        << bravo_.log();
    EXPECT_TRUE(wait_until([&] { return bravo_count("handshakes_failed") >= failed; }, 5s))
        << bravo_.status().dump();
  }

  // Connects to bravo as alpha (TLS with alpha's key), sends `bytes` in the TLS stream and returns
  // what bravo answered until it closed the connection.
  Heard impersonate_alpha(const Bytes& bytes) {
    auto tls = alpha_tls();
    ListenerClient client(*tls, bravo_.listen_port());
    Heard heard;
    heard.route = "from " + client.address();
    const auto handshake = client.handshake();
    EXPECT_FALSE(handshake) << "bravo refused alpha's key: " << handshake.message();
    if (handshake) {
      return heard;
    }
    EXPECT_FALSE(client.write_tls(bytes));
    // Bravo gives a peer 5 s to say HELLO; every rejection here must come well before that.
    const Received received = client.read_until_closed(/*tls=*/true, 4s);
    heard.messages = messages_in(received.bytes);
    heard.end = received.end;
    return heard;
  }

  // Bravo said HELLO, then GOODBYE `reason`, closed the connection, counted the rejection on the
  // line and logged it as a security event naming the connection.
  void expect_rejected(const Heard& heard, const std::string& reason) {
    ASSERT_FALSE(heard.messages.empty()) << "bravo sent nothing";
    EXPECT_TRUE(std::holds_alternative<link::Hello>(heard.messages.front()));
    EXPECT_EQ(heard.goodbye_reason(), reason) << heard.goodbye_text();
    EXPECT_NE(heard.end, asio::error::timed_out) << "bravo kept the connection open";
    ++rejected_[reason];
    EXPECT_EQ(bravo_.line_status(kLine)["counters"]["rejected"], json(rejected_));
    const std::string line = "SECURITY line " + kLine + ": protocol error from the peer over " +
                             heard.route + " (" + reason + ")";
    EXPECT_TRUE(wait_until([&] { return contains(bravo_.log(), line); }, 5s))
        << "no '" << line << "' in\n"
        << bravo_.log();
    // The log of the connection's end tells the operator it carried nothing.
    const std::string closed = "connection over " + heard.route + " closed";
    EXPECT_TRUE(wait_until([&] { return contains(bravo_.log(), closed); }, 5s));
    EXPECT_TRUE(line_with(bravo_.log(), closed).ends_with("(sent 0 entries, received 0)"))
        << line_with(bravo_.log(), closed);
  }

  TempDir root_;
  StationProcess alpha_{root_.path(), "alpha", 0x11};
  StationProcess bravo_{root_.path(), "bravo", 0x22};
  crypto::SigningKey alpha_key_ = key_of(alpha_);
  crypto::PublicKey bravo_key_;
  std::map<std::string, std::uint64_t> rejected_;  // the rejections bravo must have counted
};

TEST_F(HostileLinkTest, RefusedHandshakesAreCountedAndLoggedAndTheStationKeepsServing) {
  StationProcess charlie(root_.path(), "charlie", 0x33);
  charlie.init();
  charlie.add_line("bravo-charlie", bravo_.fingerprint(), {bravo_.listen()});
  bravo_.start();

  // A real station whose key no line of bravo pins.
  charlie.start();
  ASSERT_TRUE(wait_until([&] { return bravo_count("handshakes_refused") >= 1; }, 20s))
      << bravo_.status().dump() << "\n"
      << bravo_.log();
  EXPECT_TRUE(wait_until(
      [&] {
        return contains(bravo_.log(), "SECURITY listener: refused a peer: the peer's key " +
                                          charlie.fingerprint() + " is not pinned by any line");
      },
      5s))
      << bravo_.log();
  EXPECT_EQ(charlie.line_status("bravo-charlie")["counters"]["connections_opened"], 0);
  charlie.terminate();
  std::uint64_t failed = bravo_count("handshakes_failed");
  const std::uint64_t refused = bravo_count("handshakes_refused");
  EXPECT_GE(failed, refused);

  // A plain TCP client speaking HTTP is disconnected.
  {
    asio::ssl::context unused(asio::ssl::context::tls_client);
    ListenerClient client(unused, bravo_.listen_port());
    ASSERT_FALSE(client.write_plain("GET /v1/status HTTP/1.1\r\nHost: bravo\r\n\r\n"));
    const Received received = client.read_until_closed(/*tls=*/false, 5s);
    EXPECT_NE(received.end, asio::error::timed_out) << "bravo kept a plain TCP client connected";
    expect_handshake_refused(client.address(), ++failed);
  }

  // A TLS 1.3 client without a certificate is refused.
  {
    asio::ssl::context anonymous(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(anonymous.native_handle(), TLS1_3_VERSION);
    ListenerClient client(anonymous, bravo_.listen_port());
    // A TLS 1.3 client finishes its handshake before the server has judged its certificate; the
    // refusal then shows as the end of the stream, with no byte of the protocol.
    if (!client.handshake()) {
      const Received received = client.read_until_closed(/*tls=*/true, 5s);
      EXPECT_TRUE(received.bytes.empty()) << "bravo spoke the protocol to an anonymous client";
      EXPECT_NE(received.end, asio::error::timed_out) << "bravo kept an anonymous client";
    }
    expect_handshake_refused(client.address(), ++failed);
    EXPECT_TRUE(wait_until([&] { return bravo_count("handshakes_refused") >= refused + 1; }, 5s))
        << "a client without a certificate is not counted as refused: " << bravo_.status().dump();
  }

  // A client offering only TLS 1.2, even with alpha's certificate, is refused.
  {
    auto tls12 = alpha_tls();
    SSL_CTX_set_min_proto_version(tls12->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(tls12->native_handle(), TLS1_2_VERSION);
    ListenerClient client(*tls12, bravo_.listen_port());
    const auto handshake = client.handshake();
    ASSERT_TRUE(handshake) << "bravo accepted TLS 1.2";
    // The refusal is bravo's (its protocol_version alert), not a local failure to offer TLS 1.2.
    EXPECT_TRUE(contains(handshake.message(), "protocol version")) << handshake.message();
    expect_handshake_refused(client.address(), ++failed);
  }

  // None of them reached the line, and bravo still serves its real peer.
  EXPECT_EQ(bravo_.line_status(kLine)["counters"]["connections_opened"], 0);
  alpha_.start();
  for (int i = 0; i < 5; ++i) alpha_.send(kLine, "ROUTINE", "m-" + std::to_string(i));
  ASSERT_TRUE(wait_until([&] { return delivered(5); }, 30s)) << alpha_.status().dump() << "\n"
                                                             << bravo_.status().dump();
  const json line = bravo_.line_status(kLine);
  EXPECT_EQ(line["counters"]["rejected"], json::object()) << "a refused handshake reached the line";
  EXPECT_EQ(line["counters"]["alarms"], 0);
  alpha_.terminate();
  bravo_.terminate();
  expect_identical_and_verified(alpha_, bravo_);
  EXPECT_EQ(texts(read_chain(bravo_, alpha_.fingerprint())), numbered("m-", 0, 5));
}

TEST_F(HostileLinkTest, HostileFramesFromAnAuthenticatedPeerAreRejectedCountedAndLogged) {
  alpha_.start();
  bravo_.start();
  for (int i = 0; i < 3; ++i) alpha_.send(kLine, "ROUTINE", "m-" + std::to_string(i));
  for (int i = 0; i < 2; ++i) bravo_.send(kLine, "ROUTINE", "b-" + std::to_string(i));
  ASSERT_TRUE(wait_until(
      [&] {
        return delivered(3) && peer_seq(alpha_.line_status(kLine)) == 2 &&
               receipted(bravo_.line_status(kLine)) == 2;
      },
      30s))
      << alpha_.status().dump() << "\n"
      << bravo_.status().dump();
  // From here on an impostor holding alpha's key and a copy of its database talks to bravo.
  alpha_.terminate();
  ASSERT_TRUE(wait_until([&] { return bravo_.line_status(kLine)["state"] == "down"; }, 10s));

  const auto alpha_chain = read_chain(alpha_, alpha_.fingerprint());
  const auto bravo_chain = read_chain(alpha_, bravo_.fingerprint());
  ASSERT_EQ(alpha_chain.size(), 3u);
  ASSERT_EQ(bravo_chain.size(), 2u);
  const record::SignedEntry& last = alpha_chain.back();
  const json before = bravo_.line_status(kLine);
  ASSERT_EQ(before["peer_chain"], json({{"seq", 3}, {"hash", to_hex(last.hash)}}));
  ASSERT_EQ(before["own"], json({{"seq", 2}, {"hash", to_hex(bravo_chain.back().hash)}}));

  link::Hello hello;
  hello.line = record::derive_line_id(alpha_key_.public_key(), bravo_key_, kLine);
  hello.sender = alpha_key_.public_key();
  hello.sender_chain = last.position();
  hello.receiver_chain = bravo_chain.back().position();

  // Alpha's entries that bravo must refuse. Never one that would be valid as alpha's next entry:
  // bravo would store it and fork alpha's real chain.
  auto entry_after_last = [&](std::uint64_t seq) {
    record::EntryFields f;
    f.line = hello.line;
    f.author = alpha_key_.public_key();
    f.seq = seq;
    f.prev = last.hash;
    f.time = last.fields.time;
    f.cross = last.fields.cross;
    f.kind = "message";
    f.body = cbor::Value::map({{cbor::Value::uint(1), cbor::Value::text("forged")}});
    return record::sign_entry(alpha_key_, std::move(f)).value().signed_bytes;
  };
  Bytes forged = entry_after_last(last.fields.seq + 1);
  forged.back() ^= 0x01;  // the last byte of the signature
  const Bytes beyond_a_gap = entry_after_last(last.fields.seq + 1000);
  auto frame = [](const link::Message& message) { return link::encode_message(message).value(); };
  auto then = [](Bytes first, const Bytes& second) {
    first.insert(first.end(), second.begin(), second.end());
    return first;
  };

  // A frame of protocol version 9. docs/protocol.md §6 asks for `unsupported-version`; the frame
  // reader reports every frame rule as `malformed`. Either names the fault; the count must match.
  {
    const Heard heard = impersonate_alpha({0, 0, 0, 2, 9, 5});
    const std::string reason = heard.goodbye_reason();
    EXPECT_TRUE(reason == "malformed" || reason == "unsupported-version") << reason;
    expect_rejected(heard, reason);
  }
  // A HELLO frame whose payload is not CBOR.
  expect_rejected(impersonate_alpha({0, 0, 0, 6, 1, 1, 0xde, 0xad, 0xbe, 0xef}), "malformed");
  // A length prefix of 2 GiB, and nothing else: refused on its 4 bytes, without waiting for a body
  // (or for the HELLO deadline, which would close with `unexpected-message`).
  expect_rejected(impersonate_alpha({0x7f, 0xff, 0xff, 0xff}), "malformed");
  // ENTRIES before HELLO.
  {
    const Heard heard = impersonate_alpha(frame(link::Entries{{forged}}));
    expect_rejected(heard, "unexpected-message");
    EXPECT_FALSE(heard.has<link::Checkpoint>()) << "bravo opened the session without a HELLO";
  }
  // A HELLO naming another line.
  {
    link::Hello other = hello;
    other.line = record::derive_line_id(alpha_key_.public_key(), bravo_key_, "another-line");
    expect_rejected(impersonate_alpha(frame(other)), "wrong-line");
  }
  // After a correct HELLO, alpha's next entry with a signature that does not verify. Each reason
  // below shows that the HELLO opened the session: before it, ENTRIES or a RECEIPT is an
  // `unexpected-message` (above). Bravo's checkpoint no longer shows it: it goes out only once it
  // is durable, by which time bravo has closed the connection.
  {
    const Heard heard = impersonate_alpha(then(frame(hello), frame(link::Entries{{forged}})));
    expect_rejected(heard, "bad-signature");
  }
  // After a correct HELLO, an entry validly signed by alpha but 1000 past bravo's copy.
  {
    const Heard heard = impersonate_alpha(then(frame(hello), frame(link::Entries{{beyond_a_gap}})));
    expect_rejected(heard, "broken-chain");
  }
  // After a correct HELLO, a receipt validly signed by alpha but for another line (rule R1).
  {
    record::ReceiptFields f;
    f.line = record::derive_line_id(alpha_key_.public_key(), bravo_key_, "another-line");
    f.signer = alpha_key_.public_key();
    f.chain_author = bravo_key_;
    f.held = bravo_chain.back().position();
    f.time = last.fields.time;
    const Bytes receipt = record::sign_receipt(alpha_key_, f).value().signed_bytes;
    const Heard heard = impersonate_alpha(then(frame(hello), frame(link::Receipt{receipt})));
    expect_rejected(heard, "broken-chain");
  }

  // Nothing of it reached bravo's record.
  const json after = bravo_.line_status(kLine);
  EXPECT_EQ(after["peer_chain"], before["peer_chain"]);
  EXPECT_EQ(after["own"], before["own"]);
  EXPECT_EQ(after["counters"]["alarms"], 0);

  // The real alpha comes back and the line carries on, both ways.
  alpha_.start();
  for (int i = 3; i < 6; ++i) alpha_.send(kLine, "ROUTINE", "m-" + std::to_string(i));
  bravo_.send(kLine, "ROUTINE", "b-2");
  ASSERT_TRUE(wait_until(
      [&] {
        return delivered(6) && peer_seq(alpha_.line_status(kLine)) == 3 &&
               receipted(bravo_.line_status(kLine)) == 3;
      },
      30s))
      << alpha_.status().dump() << "\n"
      << bravo_.status().dump();
  EXPECT_EQ(bravo_.line_status(kLine)["counters"]["rejected"], json(rejected_));
  EXPECT_EQ(alpha_.line_status(kLine)["counters"]["rejected"], json::object());
  alpha_.terminate();
  bravo_.terminate();
  expect_identical_and_verified(alpha_, bravo_);
  EXPECT_EQ(texts(read_chain(bravo_, alpha_.fingerprint())), numbered("m-", 0, 6));
  EXPECT_EQ(texts(read_chain(alpha_, bravo_.fingerprint())), numbered("b-", 0, 3));
}

}  // namespace
}  // namespace hotline::testing
