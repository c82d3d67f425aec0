// link/asio.h — the one way the link includes Boost.Asio (with TLS).
//
// Asio and its OpenSSL layer are compiled once, in asio_impl.cc (BOOST_ASIO_SEPARATE_COMPILATION,
// set by CMake for the link and everything that uses it), to keep builds fast on small machines.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (upstream asio
// issue 944), so <utility> must come first.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <utility>

namespace hotline::link {

namespace asio = boost::asio;
using Tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<Tcp::socket>;

}  // namespace hotline::link
