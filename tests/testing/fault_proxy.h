// testing/fault_proxy.h — a TCP proxy that fails on command, for integration tests and benchmarks.
//
// A test puts a FaultProxy between two real station processes on loopback and then breaks the
// route the way a network does: cut() ends every connection (a reset middlebox, a rebooted NAT),
// set_blackhole() lets nothing through while the connections stay open (an unplugged cable, a
// dead route), close_listener() refuses new connects (the far host is down). The proxy runs on
// its own thread. Every method may be called from any other thread, and has taken effect on the
// sockets when it returns, so a test never waits for the fault by sleeping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace hotline::testing {

// Forwards TCP connections from a listening address to a target, on its own thread.
class FaultProxy {
 public:
  // Listens on listen_host:listen_port (port 0: the kernel picks a free one; port() tells which)
  // and forwards each accepted connection to target_host:target_port, over a new connection made
  // when the client's is accepted; if the target refuses it, the client's connection is closed.
  // Hosts are IP literals, not names. Linux routes all of 127.0.0.0/8 to loopback, so "127.0.0.2"
  // gives a second local address without any setup.
  // Throws std::system_error, saying which address, if a host does not parse or the listener
  // cannot be bound.
  static std::unique_ptr<FaultProxy> start(const std::string& listen_host,
                                           std::uint16_t listen_port,
                                           const std::string& target_host,
                                           std::uint16_t target_port);

  // Stops listening, closes every connection (both sides) and joins the proxy's thread.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // The port actually bound; it stays the same across close_listener() and reopen_listener().
  std::uint16_t port() const;
  // "host:port" of the listener ("[::1]:port" for IPv6), as a station's peer address.
  std::string endpoint() const;

  // Closes both sockets of every proxied connection: each peer sees EOF, or a reset if it had
  // unread bytes in flight. Keeps listening; later connections are forwarded as usual.
  void cut();

  // On: no byte and no FIN passes in either direction, neither on the open connections nor on
  // those accepted meanwhile (accepted from the client but not yet connected to the target); all
  // sockets stay open and each side's writes pile up in its kernel buffers, as behind an
  // unplugged cable. At most one read per direction (64 KiB) is taken in and held by the proxy.
  // Off: new connections are forwarded again, and the held ones resume where they stopped, with
  // no byte lost or reordered, as TCP recovers when the cable is plugged back in. A peer that
  // gave up meanwhile and closed is noticed then, and the other side closed. Idempotent.
  void set_blackhole(bool on);

  // Stops listening, so that new connects are refused (ECONNREFUSED), and cuts every connection.
  // Idempotent.
  void close_listener();
  // Listens again on the same address and port (SO_REUSEADDR, so connections of the old listener
  // left in TIME_WAIT do not prevent it). Does nothing if already listening. Throws
  // std::system_error if the port was taken meanwhile.
  void reopen_listener();

  // Connections accepted since start(), including those later cut or refused by the target.
  std::size_t connections_accepted() const;
  // Bytes handed from one side to the other, both directions together, since start(). A byte is
  // counted when the proxy starts writing it, so once a peer has received it, it is counted.
  std::uint64_t bytes_forwarded() const;

 private:
  class Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace hotline::testing
