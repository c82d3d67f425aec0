#include "testing/fault_proxy.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "link/asio.h"

namespace hotline::testing {
namespace {

namespace asio = link::asio;
using link::Tcp;
using ErrorCode = boost::system::error_code;

// One read per direction of a connection: large enough that a benchmark's bulk transfer is not
// limited by the proxy (a loopback socket buffers a few hundred KiB), small enough that two per
// connection cost nothing in tests.
constexpr std::size_t kBufferSize = 64 * 1024;

// What every connection of one proxy shares. Touched only on the proxy's thread, except the
// counter.
struct Route {
  explicit Route(Tcp::endpoint target) : target(std::move(target)) {}

  const Tcp::endpoint target;
  bool blackhole = false;
  std::atomic<std::uint64_t> bytes_forwarded{0};
};

// One accepted client connection and its connection to the target, forwarding both ways. Runs on
// the proxy's thread only. Kept alive by its pending operations and by the proxy's list, which
// holds it even while the black hole leaves it without any operation.
class ProxiedConnection : public std::enable_shared_from_this<ProxiedConnection> {
 public:
  ProxiedConnection(Tcp::socket client, Route& route)
      : client_(std::move(client)), upstream_(client_.get_executor()), route_(route) {}

  // Connects to the target and starts forwarding; behind the black hole, waits for resume().
  void start() {
    if (!route_.blackhole) {
      connect_upstream();
    }
  }

  // The black hole was lifted: carries on from wherever this connection stopped.
  void resume() {
    if (closed_) {
      return;
    }
    if (!connect_started_) {
      connect_upstream();
      return;
    }
    resume(to_upstream_);
    resume(to_client_);
  }

  // Closes both sides; every pending operation then completes with an error and does nothing.
  void close() {
    closed_ = true;
    ErrorCode ignored;
    client_.close(ignored);
    upstream_.close(ignored);
  }

  bool closed() const { return closed_; }

 private:
  struct ReadOutcome {
    ErrorCode error;
    std::size_t size = 0;
  };

  // One direction: what is read from `from` is written to `to`, one buffer at a time, so a slow
  // reader slows the writer down as it would without the proxy.
  struct Pipe {
    Pipe(Tcp::socket& from, Tcp::socket& to) : from(from), to(to), buffer(kBufferSize) {}

    Tcp::socket& from;
    Tcp::socket& to;
    std::vector<char> buffer;
    // The black hole stopped this direction: no operation is pending on it.
    bool stalled = false;
    // A read that completed behind the black hole and waits to be forwarded (its bytes are in
    // `buffer`); empty while stalled means the next read was not started.
    std::optional<ReadOutcome> held;
  };

  void connect_upstream() {
    connect_started_ = true;
    upstream_.async_connect(route_.target, [self = shared_from_this()](ErrorCode error) {
      if (self->closed_) {
        return;
      }
      if (error) {
        self->close();  // the target refused: the client sees its connection closed
        return;
      }
      // Forward small writes at once: Nagle's delay would add to every round trip measured.
      ErrorCode ignored;
      self->client_.set_option(Tcp::no_delay(true), ignored);
      self->upstream_.set_option(Tcp::no_delay(true), ignored);
      self->read(self->to_upstream_);
      self->read(self->to_client_);
    });
  }

  void read(Pipe& pipe) {
    if (route_.blackhole) {
      pipe.stalled = true;
      return;
    }
    pipe.from.async_read_some(asio::buffer(pipe.buffer), [self = shared_from_this(), &pipe](
                                                             ErrorCode error, std::size_t size) {
      if (self->closed_) {
        return;
      }
      // Even an EOF waits behind the black hole: a FIN does not cross an unplugged cable.
      pipe.held = ReadOutcome{error, size};
      if (self->route_.blackhole) {
        pipe.stalled = true;
        return;
      }
      self->forward(pipe);
    });
  }

  void forward(Pipe& pipe) {
    const ReadOutcome outcome = *pipe.held;
    pipe.held.reset();
    if (outcome.error) {
      close();  // one side closed or reset: so does the other
      return;
    }
    route_.bytes_forwarded += outcome.size;
    asio::async_write(pipe.to, asio::buffer(pipe.buffer.data(), outcome.size),
                      [self = shared_from_this(), &pipe](ErrorCode error, std::size_t) {
                        if (self->closed_) {
                          return;
                        }
                        if (error) {
                          self->close();
                          return;
                        }
                        self->read(pipe);
                      });
  }

  void resume(Pipe& pipe) {
    if (closed_ || !pipe.stalled) {
      return;
    }
    pipe.stalled = false;
    if (pipe.held) {
      forward(pipe);
    } else {
      read(pipe);
    }
  }

  Tcp::socket client_;
  Tcp::socket upstream_;
  Route& route_;  // the proxy's, which outlives every handler (~Impl joins the thread)
  Pipe to_upstream_{client_, upstream_};
  Pipe to_client_{upstream_, client_};
  bool connect_started_ = false;
  bool closed_ = false;
};

Tcp::endpoint parse_endpoint(const std::string& host, std::uint16_t port) {
  ErrorCode error;
  const asio::ip::address address = asio::ip::make_address(host, error);
  if (error) {
    throw std::system_error(error, "FaultProxy: '" + host + "' is not an IP address");
  }
  return {address, port};
}

std::string to_string(const Tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  const std::string port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

}  // namespace

// The proxy's state and its thread. Everything but the counters and listen_endpoint_ is touched
// only on the proxy's thread.
class FaultProxy::Impl {
 public:
  Impl(const Tcp::endpoint& listen, const Tcp::endpoint& target)
      : route_(target), listen_endpoint_(bind_listener(listen)) {
    accept_next();
    thread_ = std::thread([this] { io_.run(); });
  }

  // Closes everything, then lets the thread finish the aborted operations and return.
  ~Impl() {
    on_proxy_thread([this] {
      close_listener();
      work_.reset();
    });
    thread_.join();
  }

  // Runs `work` on the proxy's thread and returns when it has run, rethrowing what it threw.
  // Must not be called on the proxy's thread (it would wait for itself).
  template <typename Work>
  void on_proxy_thread(Work work) {
    std::promise<void> done;
    std::future<void> result = done.get_future();
    // The handler owns the promise, so the shared state outlives set_value() even though this
    // thread returns as soon as it is set.
    asio::post(io_, [&work, done = std::move(done)]() mutable {
      try {
        work();
        done.set_value();
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    result.get();
  }

  void cut() {
    for (const auto& connection : connections_) {
      connection->close();
    }
    connections_.clear();
  }

  void set_blackhole(bool on) {
    route_.blackhole = on;
    if (!on) {
      for (const auto& connection : connections_) {
        connection->resume();
      }
    }
  }

  void close_listener() {
    ++listener_generation_;
    ErrorCode ignored;
    acceptor_.close(ignored);
    cut();
  }

  void reopen_listener() {
    if (!acceptor_.is_open()) {
      bind_listener(listen_endpoint_);
      accept_next();
    }
  }

  std::uint16_t port() const { return listen_endpoint_.port(); }
  const Tcp::endpoint& listen_endpoint() const { return listen_endpoint_; }
  std::size_t connections_accepted() const { return connections_accepted_; }
  std::uint64_t bytes_forwarded() const { return route_.bytes_forwarded; }

 private:
  // Opens the acceptor on `endpoint` and returns the endpoint bound (with the port the kernel
  // chose if `endpoint` had port 0).
  Tcp::endpoint bind_listener(const Tcp::endpoint& endpoint) {
    try {
      acceptor_.open(endpoint.protocol());
      acceptor_.set_option(Tcp::acceptor::reuse_address(true));
      acceptor_.bind(endpoint);
      acceptor_.listen(asio::socket_base::max_listen_connections);
      return acceptor_.local_endpoint();
    } catch (const boost::system::system_error& failure) {
      ErrorCode ignored;
      acceptor_.close(ignored);
      throw std::system_error(failure.code(),
                              "FaultProxy: cannot listen on " + to_string(endpoint));
    }
  }

  void accept_next() {
    acceptor_.async_accept(
        [this, generation = listener_generation_](ErrorCode error, Tcp::socket client) {
          // An accept that completed as the listener closed is dropped (`client` closes with it),
          // so that close_listener() leaves no connection behind.
          if (generation != listener_generation_) {
            return;
          }
          if (error == asio::error::connection_aborted) {
            accept_next();  // the client gave up before it was accepted
            return;
          }
          if (error) {
            // Out of descriptors, or worse: stop listening, so the test sees refused connects
            // rather than a proxy spinning on accept.
            close_listener();
            return;
          }
          ++connections_accepted_;
          std::erase_if(connections_, [](const auto& connection) { return connection->closed(); });
          auto connection = std::make_shared<ProxiedConnection>(std::move(client), route_);
          connections_.push_back(connection);
          connection->start();
          accept_next();
        });
  }

  // Declared first, destroyed last: the sockets below belong to it.
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  Tcp::acceptor acceptor_{io_};
  Route route_;
  const Tcp::endpoint listen_endpoint_;  // with the port actually bound
  // Every connection not yet closed, and closed ones until the next accept prunes them.
  std::vector<std::shared_ptr<ProxiedConnection>> connections_;
  // Incremented each time the listener closes; an accept started under an older value is stale.
  std::uint64_t listener_generation_ = 0;
  std::atomic<std::size_t> connections_accepted_{0};
  std::thread thread_;
};

std::unique_ptr<FaultProxy> FaultProxy::start(const std::string& listen_host,
                                              std::uint16_t listen_port,
                                              const std::string& target_host,
                                              std::uint16_t target_port) {
  auto impl = std::make_unique<Impl>(parse_endpoint(listen_host, listen_port),
                                     parse_endpoint(target_host, target_port));
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FaultProxy::~FaultProxy() = default;

std::uint16_t FaultProxy::port() const { return impl_->port(); }

std::string FaultProxy::endpoint() const { return to_string(impl_->listen_endpoint()); }

void FaultProxy::cut() {
  impl_->on_proxy_thread([this] { impl_->cut(); });
}

void FaultProxy::set_blackhole(bool on) {
  impl_->on_proxy_thread([this, on] { impl_->set_blackhole(on); });
}

void FaultProxy::close_listener() {
  impl_->on_proxy_thread([this] { impl_->close_listener(); });
}

void FaultProxy::reopen_listener() {
  impl_->on_proxy_thread([this] { impl_->reopen_listener(); });
}

std::size_t FaultProxy::connections_accepted() const { return impl_->connections_accepted(); }

std::uint64_t FaultProxy::bytes_forwarded() const { return impl_->bytes_forwarded(); }

}  // namespace hotline::testing
