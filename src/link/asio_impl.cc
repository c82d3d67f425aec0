// The single translation unit that compiles Boost.Asio and its SSL layer (see link/asio.h).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <utility>
