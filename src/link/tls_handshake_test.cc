// The pinned handshake over real loopback sockets: what reaches a station's listener and is
// refused.
#include "link/tls_handshake.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "testing/fixtures.h"

namespace hotline::link {
namespace {

using namespace std::chrono_literals;

class TlsListenerTest : public ::testing::Test {
 protected:
  // Accepts one connection on 127.0.0.1 and runs the server side of the handshake, while
  // `client` runs on its own thread against the listening port.
  Result<crypto::PublicKey> serve_one(std::function<void(std::uint16_t port)> client,
                                      std::chrono::milliseconds timeout = 2000ms) {
    asio::io_context io;
    auto context = make_tls_context(
                       TlsRole::kServer, bravo_,
                       [this](const crypto::PublicKey& k) { return k == alpha_.public_key(); },
                       [this](const std::string& why) { refusals_.push_back(why); })
                       .value();
    Tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const std::uint16_t port = acceptor.local_endpoint().port();
    std::optional<Result<crypto::PublicKey>> outcome;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          Tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
          TlsStream stream(std::move(socket), *context);
          outcome = co_await pinned_handshake(stream, TlsRole::kServer, timeout);
        },
        asio::detached);
    std::thread client_thread([&] { client(port); });
    io.run();
    client_thread.join();
    return *outcome;
  }

  // A synchronous TLS client presenting `key` (or no certificate), limited to `max_version`.
  static bool tls_client(std::uint16_t port, const crypto::SigningKey* key,
                         const crypto::PublicKey& server, int max_version = TLS1_3_VERSION) {
    asio::io_context io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    if (key != nullptr) {
      context =
          std::move(*make_tls_context(
                         TlsRole::kClient, *key,
                         [server](const crypto::PublicKey& k) { return k == server; }, nullptr)
                         .value());
    } else {
      SSL_CTX_set_verify(context.native_handle(), SSL_VERIFY_NONE, nullptr);
    }
    SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
    TlsStream stream(io, context);
    stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (!ec) {
      // TLS 1.3 clients finish before the server has judged their certificate; a read shows
      // whether the server kept the connection.
      char byte;
      asio::read(stream, asio::buffer(&byte, 1), ec);
    }
    return !ec;
  }

  crypto::SigningKey alpha_ = testing::key_from_byte(1);
  crypto::SigningKey bravo_ = testing::key_from_byte(2);
  crypto::SigningKey mallory_ = testing::key_from_byte(3);
  std::vector<std::string> refusals_;
};

TEST_F(TlsListenerTest, APlainTcpClientIsRefused) {
  auto outcome = serve_one([](std::uint16_t port) {
    asio::io_context io;
    Tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string request = "GET / HTTP/1.0\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    boost::system::error_code ec;
    char buffer[64];
    socket.read_some(asio::buffer(buffer), ec);  // until the server gives up on us
  });
  EXPECT_FALSE(outcome.ok());
}

TEST_F(TlsListenerTest, AClientThatSaysNothingIsRefusedAtTheDeadline) {
  auto outcome = serve_one(
      [](std::uint16_t port) {
        asio::io_context io;
        Tcp::socket socket(io);
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
        boost::system::error_code ec;
        char buffer[64];
        socket.read_some(asio::buffer(buffer), ec);
      },
      100ms);
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error().message.find("did not complete"), std::string::npos);
}

TEST_F(TlsListenerTest, ATlsClientWithoutACertificateIsRefused) {
  bool client_ok = true;
  auto outcome = serve_one(
      [&](std::uint16_t port) { client_ok = tls_client(port, nullptr, bravo_.public_key()); });
  EXPECT_FALSE(outcome.ok());
  EXPECT_FALSE(client_ok);
  ASSERT_EQ(refusals_.size(), 1u) << "the refusal must be reported for the security log";
  EXPECT_NE(refusals_[0].find("no certificate"), std::string::npos) << refusals_[0];
}

TEST_F(TlsListenerTest, ATls12ClientIsRefused) {
  bool client_ok = true;
  auto outcome = serve_one([&](std::uint16_t port) {
    client_ok = tls_client(port, &alpha_, bravo_.public_key(), TLS1_2_VERSION);
  });
  EXPECT_FALSE(outcome.ok());
  EXPECT_FALSE(client_ok);
}

TEST_F(TlsListenerTest, AStationWithAnotherKeyIsRefusedAndLogged) {
  auto outcome =
      serve_one([&](std::uint16_t port) { tls_client(port, &mallory_, bravo_.public_key()); });
  EXPECT_FALSE(outcome.ok());
  ASSERT_EQ(refusals_.size(), 1u);
  EXPECT_NE(refusals_[0].find(mallory_.public_key().fingerprint()), std::string::npos);
}

TEST_F(TlsListenerTest, ThePinnedPeerIsAcceptedAndIdentified) {
  auto outcome =
      serve_one([&](std::uint16_t port) { tls_client(port, &alpha_, bravo_.public_key()); });
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(*outcome, alpha_.public_key());
  EXPECT_TRUE(refusals_.empty());
}

}  // namespace
}  // namespace hotline::link
