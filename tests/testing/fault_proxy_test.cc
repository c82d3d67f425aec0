// The fault proxy over real loopback sockets: an echo server behind it, a client with deadlines in
// front, and each fault observed as the client observes it.
#include "testing/fault_proxy.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "link/asio.h"

namespace hotline::testing {
namespace {

namespace asio = link::asio;
using link::Tcp;
using ErrorCode = boost::system::error_code;
using namespace std::chrono_literals;

// How long a client waits for what must arrive; only a failing test waits this long.
constexpr std::chrono::milliseconds kPatience = 5s;
// How long a client listens to conclude that nothing gets through.
constexpr std::chrono::milliseconds kSilence = 200ms;

// Echoes every byte back on each connection, on its own thread, until destroyed.
class EchoServer {
 public:
  EchoServer() : port_(acceptor_.local_endpoint().port()) {
    accept_next();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoServer() {
    // The sessions' pending handlers own them; destroying io_ destroys those handlers.
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(Tcp::socket socket) : socket(std::move(socket)) {}

    void echo() {
      socket.async_read_some(
          asio::buffer(buffer), [self = shared_from_this()](ErrorCode error, std::size_t size) {
            if (error) {
              return;
            }
            asio::async_write(self->socket, asio::buffer(self->buffer.data(), size),
                              [self](ErrorCode write_error, std::size_t) {
                                if (!write_error) {
                                  self->echo();
                                }
                              });
          });
    }

    Tcp::socket socket;
    std::array<char, 4096> buffer;
  };

  void accept_next() {
    acceptor_.async_accept([this](ErrorCode error, Tcp::socket socket) {
      if (error) {
        return;
      }
      std::make_shared<Session>(std::move(socket))->echo();
      accept_next();
    });
  }

  asio::io_context io_;
  Tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  const std::uint16_t port_;
  std::thread thread_;
};

// What a peer's read ended with: the bytes read, and the error that ended it early
// (asio::error::timed_out at the deadline).
struct ReadResult {
  std::string bytes;
  ErrorCode error;
};

// One end of a connection, driven by the test: blocking calls, each with a deadline.
class Peer {
 public:
  // Connects to host:port; the error is what connect(2) reported.
  ErrorCode connect(const std::string& host, std::uint16_t port) {
    ErrorCode error;
    socket_.connect({asio::ip::make_address(host), port}, error);
    return error;
  }

  // Accepts one connection on `acceptor`, which must run on io().
  ErrorCode accept(Tcp::acceptor& acceptor, std::chrono::milliseconds deadline = kPatience) {
    ErrorCode result;
    int pending = 1;
    acceptor.async_accept(socket_, [&](ErrorCode error) {
      result = error;
      --pending;
    });
    if (!run_until_done(pending, deadline, acceptor)) {
      result = asio::error::timed_out;
    }
    return result;
  }

  asio::io_context& io() { return io_; }

  // Writes a few bytes, which fit in the kernel's buffers whether or not anything reads them.
  ErrorCode write(const std::string& text) {
    ErrorCode error;
    asio::write(socket_, asio::buffer(text), error);
    return error;
  }

  void close() {
    ErrorCode ignored;
    socket_.close(ignored);
  }

  // Writes `text` while reading as many bytes back, so that a large exchange cannot stall on
  // full socket buffers.
  ReadResult exchange(const std::string& text, std::chrono::milliseconds deadline = kPatience) {
    ReadResult result{std::string(text.size(), '\0'), {}};
    ErrorCode write_error;
    int pending = 2;
    asio::async_write(socket_, asio::buffer(text), [&](ErrorCode error, std::size_t) {
      write_error = error;
      --pending;
    });
    start_read(result, pending);
    if (!run_until_done(pending, deadline)) {
      result.error = asio::error::timed_out;
    } else if (!result.error) {
      result.error = write_error;
    }
    return result;
  }

  // Reads exactly `size` bytes.
  ReadResult read(std::size_t size, std::chrono::milliseconds deadline = kPatience) {
    ReadResult result{std::string(size, '\0'), {}};
    int pending = 1;
    start_read(result, pending);
    if (!run_until_done(pending, deadline)) {
      result.error = asio::error::timed_out;
    }
    return result;
  }

 private:
  void start_read(ReadResult& result, int& pending) {
    asio::async_read(socket_, asio::buffer(result.bytes), [&](ErrorCode error, std::size_t size) {
      result.error = error;
      result.bytes.resize(size);
      --pending;
    });
  }

  // Runs the peer's operations until none is pending (true) or the deadline passes (false); what
  // is still pending then is cancelled and has completed when this returns.
  template <typename Cancellable>
  bool run_until_done(const int& pending, std::chrono::milliseconds deadline,
                      Cancellable& operations) {
    io_.restart();
    io_.run_for(deadline);
    if (pending == 0) {
      return true;
    }
    ErrorCode ignored;
    operations.cancel(ignored);
    io_.restart();
    io_.run();
    return false;
  }
  bool run_until_done(const int& pending, std::chrono::milliseconds deadline) {
    return run_until_done(pending, deadline, socket_);
  }

  asio::io_context io_;
  Tcp::socket socket_{io_};
};

class FaultProxyTest : public ::testing::Test {
 protected:
  ErrorCode connect(Peer& client) { return client.connect("127.0.0.1", proxy_->port()); }

  // Sends `text` through the proxy and expects it back.
  static void expect_echo(Peer& client, const std::string& text) {
    const ReadResult echoed = client.exchange(text);
    ASSERT_FALSE(echoed.error) << echoed.error.message();
    EXPECT_EQ(echoed.bytes, text);
  }

  // The connection was closed under the client: its read ends at once, with EOF or a reset.
  static void expect_closed(Peer& client) {
    const ReadResult result = client.read(1);
    EXPECT_TRUE(result.error == asio::error::eof || result.error == asio::error::connection_reset)
        << result.error.message();
  }

  EchoServer echo_;
  std::unique_ptr<FaultProxy> proxy_ = FaultProxy::start("127.0.0.1", 0, "127.0.0.1", echo_.port());
};

TEST(FaultProxyStartTest, AHostThatIsNotAnAddressIsRefused) {
  EXPECT_THROW(FaultProxy::start("localhost", 0, "127.0.0.1", 1), std::system_error);
  EXPECT_THROW(FaultProxy::start("127.0.0.1", 0, "not-an-address", 1), std::system_error);
}

TEST_F(FaultProxyTest, APortAlreadyTakenIsRefused) {
  // Another proxy on the same address and port: SO_REUSEADDR does not allow two listeners.
  EXPECT_THROW(FaultProxy::start("127.0.0.1", proxy_->port(), "127.0.0.1", echo_.port()),
               std::system_error);
}

TEST(FaultProxyTargetTest, AClientIsClosedWhenTheTargetRefuses) {
  // A socket bound but not listening keeps its port, and connects to it are refused.
  asio::io_context io;
  Tcp::socket bound(io, Tcp::v4());
  bound.bind({asio::ip::make_address("127.0.0.1"), 0});
  auto proxy = FaultProxy::start("127.0.0.1", 0, "127.0.0.1", bound.local_endpoint().port());

  Peer client;
  ASSERT_FALSE(client.connect("127.0.0.1", proxy->port()));
  const ReadResult result = client.read(1);
  EXPECT_TRUE(result.error == asio::error::eof || result.error == asio::error::connection_reset)
      << result.error.message();
  EXPECT_EQ(proxy->connections_accepted(), 1u);
  EXPECT_EQ(proxy->bytes_forwarded(), 0u);
}

TEST_F(FaultProxyTest, CutClosesEveryConnectionAndKeepsListening) {
  Peer first;
  Peer second;
  ASSERT_FALSE(connect(first));
  ASSERT_FALSE(connect(second));
  ASSERT_NO_FATAL_FAILURE(expect_echo(first, "one"));
  ASSERT_NO_FATAL_FAILURE(expect_echo(second, "two"));

  proxy_->cut();

  expect_closed(first);
  expect_closed(second);
  Peer third;
  ASSERT_FALSE(connect(third));
  expect_echo(third, "three");
}

TEST_F(FaultProxyTest, BlackholeLetsNothingThroughOnOpenOrNewConnections) {
  Peer open;
  ASSERT_FALSE(connect(open));
  ASSERT_NO_FATAL_FAILURE(expect_echo(open, "before"));
  const std::uint64_t forwarded = proxy_->bytes_forwarded();

  proxy_->set_blackhole(true);

  EXPECT_EQ(open.exchange("lost?", kSilence).error, asio::error::timed_out);
  Peer fresh;
  ASSERT_FALSE(connect(fresh));  // the listener still accepts, as the kernel would
  EXPECT_EQ(fresh.exchange("anyone?", kSilence).error, asio::error::timed_out);
  EXPECT_EQ(proxy_->bytes_forwarded(), forwarded);
}

TEST(FaultProxyDirectionTest, BlackholeHoldsBothDirectionsAndTheFinUntilLifted) {
  Peer server;
  Tcp::acceptor target(server.io(), {asio::ip::make_address("127.0.0.1"), 0});
  auto proxy = FaultProxy::start("127.0.0.1", 0, "127.0.0.1", target.local_endpoint().port());
  Peer client;
  ASSERT_FALSE(client.connect("127.0.0.1", proxy->port()));
  ASSERT_FALSE(server.accept(target));

  proxy->set_blackhole(true);

  ASSERT_FALSE(server.write("down"));
  EXPECT_EQ(client.read(4, kSilence).error, asio::error::timed_out);
  ASSERT_FALSE(client.write("up"));
  client.close();
  EXPECT_EQ(server.read(2, kSilence).error, asio::error::timed_out);  // neither bytes nor the FIN

  proxy->set_blackhole(false);

  const ReadResult held = server.read(2);
  ASSERT_FALSE(held.error) << held.error.message();
  EXPECT_EQ(held.bytes, "up");
  const ReadResult end = server.read(1);
  EXPECT_TRUE(end.error == asio::error::eof || end.error == asio::error::connection_reset)
      << end.error.message();
}

TEST_F(FaultProxyTest, ANewConnectionEchoesOnceTheBlackholeIsLifted) {
  proxy_->set_blackhole(true);
  proxy_->set_blackhole(false);

  Peer client;
  ASSERT_FALSE(connect(client));
  expect_echo(client, "after");
}

TEST_F(FaultProxyTest, HeldConnectionsResumeWithoutLosingBytesWhenTheBlackholeIsLifted) {
  Peer open;
  ASSERT_FALSE(connect(open));
  ASSERT_NO_FATAL_FAILURE(expect_echo(open, "before"));
  proxy_->set_blackhole(true);
  ASSERT_EQ(open.exchange("held", kSilence).error, asio::error::timed_out);
  Peer fresh;  // accepted behind the black hole, not yet connected to the target
  ASSERT_FALSE(connect(fresh));
  ASSERT_EQ(fresh.exchange("waiting", kSilence).error, asio::error::timed_out);

  proxy_->set_blackhole(false);

  EXPECT_EQ(open.read(4).bytes, "held");
  EXPECT_EQ(fresh.read(7).bytes, "waiting");
  expect_echo(open, "after");
}

TEST_F(FaultProxyTest, CloseListenerRefusesNewConnectsAndCutsOpenOnes) {
  Peer open;
  ASSERT_FALSE(connect(open));
  ASSERT_NO_FATAL_FAILURE(expect_echo(open, "before"));

  proxy_->close_listener();

  expect_closed(open);
  Peer refused;
  EXPECT_EQ(connect(refused), asio::error::connection_refused);
}

TEST_F(FaultProxyTest, ReopenListenerAcceptsOnTheSamePortAgain) {
  const std::uint16_t port = proxy_->port();
  Peer before;
  ASSERT_FALSE(connect(before));
  ASSERT_NO_FATAL_FAILURE(expect_echo(before, "before"));
  proxy_->close_listener();  // closes `before` first, so its proxy-side socket is in TIME_WAIT
  proxy_->close_listener();

  proxy_->reopen_listener();
  proxy_->reopen_listener();

  EXPECT_EQ(proxy_->port(), port);
  Peer after;
  ASSERT_FALSE(connect(after));
  expect_echo(after, "after");
}

TEST_F(FaultProxyTest, CountsConnectionsAndBytesInBothDirections) {
  EXPECT_EQ(proxy_->connections_accepted(), 0u);
  EXPECT_EQ(proxy_->bytes_forwarded(), 0u);

  Peer first;
  ASSERT_FALSE(connect(first));
  ASSERT_NO_FATAL_FAILURE(expect_echo(first, "hello"));
  EXPECT_EQ(proxy_->connections_accepted(), 1u);
  EXPECT_EQ(proxy_->bytes_forwarded(), 10u);

  Peer second;
  ASSERT_FALSE(connect(second));
  ASSERT_NO_FATAL_FAILURE(expect_echo(second, "abc"));
  EXPECT_EQ(proxy_->connections_accepted(), 2u);
  EXPECT_EQ(proxy_->bytes_forwarded(), 16u);
}

TEST_F(FaultProxyTest, ForwardsTransfersLargerThanItsBuffer) {
  std::string large(1 << 20, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) {
    large[i] = static_cast<char>(i * 7 % 251);
  }
  Peer client;
  ASSERT_FALSE(connect(client));

  const ReadResult echoed = client.exchange(large);

  ASSERT_FALSE(echoed.error) << echoed.error.message();
  EXPECT_TRUE(echoed.bytes == large);
  EXPECT_EQ(proxy_->bytes_forwarded(), 2 * large.size());
}

TEST_F(FaultProxyTest, DestroyingTheProxyClosesItsConnections) {
  Peer client;
  ASSERT_FALSE(connect(client));
  ASSERT_NO_FATAL_FAILURE(expect_echo(client, "before"));

  proxy_.reset();

  expect_closed(client);
}

TEST(FaultProxyAddressTest, ListensOnAnotherLoopbackAddress) {
  EchoServer echo;
  auto proxy = FaultProxy::start("127.0.0.2", 0, "127.0.0.1", echo.port());
  EXPECT_EQ(proxy->endpoint(), "127.0.0.2:" + std::to_string(proxy->port()));

  Peer client;
  ASSERT_FALSE(client.connect("127.0.0.2", proxy->port()));
  const ReadResult echoed = client.exchange("elsewhere");
  ASSERT_FALSE(echoed.error) << echoed.error.message();
  EXPECT_EQ(echoed.bytes, "elsewhere");
}

}  // namespace
}  // namespace hotline::testing
