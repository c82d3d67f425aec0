#include "station/control_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "link/asio.h"
// Beast comes after link/asio.h, and only into this file: it is the one that compiles Beast.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace hotline::station {
namespace {

namespace asio = link::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ErrorCode = boost::system::error_code;
using LocalProtocol = asio::local::stream_protocol;
using ControlStream = beast::basic_stream<LocalProtocol>;

// sun_path holds the path and its terminating NUL.
constexpr std::size_t kMaxSocketPathLength = sizeof(sockaddr_un::sun_path) - 1;
// After an accept fails for another reason than stop() (e.g. EMFILE), wait this long before the
// next one rather than spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// --- The socket file ------------------------------------------------------------------------

// Identifies the socket file a server created, so that stop() removes that file and not one a
// later station has put at the same path.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
};

std::optional<FileIdentity> identify_file(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return std::nullopt;
  }
  return FileIdentity{info.st_dev, info.st_ino};
}

void remove_socket_file(const std::string& path, FileIdentity created) {
  std::optional<FileIdentity> current = identify_file(path);
  if (current && current->device == created.device && current->inode == created.inode) {
    ::unlink(path.c_str());
  }
}

std::string directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Result<void> check_socket_path(const std::string& path) {
  if (path.empty()) {
    return make_error(Errc::kInvalidArgument, "the control socket path is empty");
  }
  if (path.size() > kMaxSocketPathLength) {
    return make_error(Errc::kInvalidArgument,
                      "the control socket path is too long for a Unix socket (" +
                          std::to_string(path.size()) + " bytes, at most " +
                          std::to_string(kMaxSocketPathLength) + "): " + path);
  }
  return success();
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());  // check_socket_path bounds it
  return address;
}

// Whether a process is accepting on the socket file at `path`, found by connecting to it. The
// connect does not block, so that a listener with a full backlog (EAGAIN) is still noticed.
Result<bool> someone_listens_at(const std::string& path) {
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    return make_error(Errc::kIo, std::string("cannot create a socket: ") + std::strerror(errno));
  }
  sockaddr_un address = unix_address(path);
  int result = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  int connect_errno = errno;
  ::close(probe);
  if (result == 0 || connect_errno == EAGAIN || connect_errno == EINPROGRESS) {
    return true;
  }
  if (connect_errno == ECONNREFUSED || connect_errno == ENOENT) {
    return false;
  }
  return make_error(Errc::kIo, "cannot tell whether a station is serving from " +
                                   directory_of(path) + ": connecting to " + path + ": " +
                                   std::strerror(connect_errno));
}

// A station that crashed leaves its socket file behind; nobody listens on it any more, and it
// would make bind() fail, so it is removed. Anything else at the path is left alone.
Result<void> remove_stale_socket(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) {
      return success();
    }
    return make_error(Errc::kIo, "cannot inspect " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(info.st_mode)) {
    return make_error(Errc::kRefused, path + " exists and is not a socket; not replacing it");
  }
  HOTLINE_ASSIGN(bool listening, someone_listens_at(path));
  if (listening) {
    return make_error(Errc::kRefused, "another station is serving from " + directory_of(path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return make_error(Errc::kIo,
                      "cannot remove the stale socket " + path + ": " + std::strerror(errno));
  }
  return success();
}

Error socket_error(const std::string& what, const std::string& path, const ErrorCode& ec) {
  return make_error(Errc::kIo,
                    "cannot " + what + " the control socket " + path + ": " + ec.message());
}

// Binds `acceptor` at `path` and listens, with the socket file readable and writable by its owner
// only: connecting needs write permission, so the file mode is the access control.
Result<FileIdentity> listen_owner_only(LocalProtocol::acceptor& acceptor, const std::string& path) {
  ErrorCode ec;
  acceptor.open(LocalProtocol(), ec);
  if (ec) {
    return socket_error("create", path, ec);
  }
  // bind() creates the file with the process umask applied; 077 around it means the file is
  // never, even for a moment, open to others. The umask is process-wide, so a thread creating a
  // file meanwhile could change it back early: hence the chmod as well.
  mode_t previous_umask = ::umask(077);
  acceptor.bind(LocalProtocol::endpoint(path), ec);
  ::umask(previous_umask);
  if (ec == asio::error::address_in_use) {
    return make_error(Errc::kRefused, "another station is serving from " + directory_of(path));
  }
  if (ec) {
    return socket_error("bind", path, ec);
  }
  std::optional<FileIdentity> created = identify_file(path);
  if (!created || ::chmod(path.c_str(), 0600) != 0) {
    Error error = make_error(Errc::kIo, "cannot make the control socket " + path +
                                            " owner-only: " + std::strerror(errno));
    ::unlink(path.c_str());
    return error;
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    remove_socket_file(path, *created);
    return socket_error("listen on", path, ec);
  }
  return *created;
}

}  // namespace

// --- The server -----------------------------------------------------------------------------

struct ControlServerState {
  ControlServerState(asio::io_context& io, std::string socket_path,
                     AsyncControlHandler request_handler)
      : acceptor(io), path(std::move(socket_path)), handler(std::move(request_handler)) {}

  LocalProtocol::acceptor acceptor;
  const std::string path;
  const AsyncControlHandler handler;
  FileIdentity socket_file;  // the file this server created; stop() removes it
  bool stopped = false;
  std::uint64_t next_connection_id = 0;
  // The open connections, for stop() to close. Each connection's coroutine owns its stream and
  // removes the entry when it ends.
  std::unordered_map<std::uint64_t, std::weak_ptr<ControlStream>> connections;
};

namespace {

ControlResponse json_error(int status, const std::string& message) {
  // Replace rather than throw on invalid UTF-8: the message may quote a handler's exception.
  nlohmann::json body = {{"error", message}};
  return ControlResponse{status,
                         body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         "application/json"};
}

// The answer to a request that could not be read, or nothing if nobody is waiting for one.
std::optional<ControlResponse> rejection_for(const ErrorCode& ec) {
  if (ec == http::error::body_limit) {
    return json_error(413, "the request body is larger than " +
                               std::to_string(kMaxControlRequestBody) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return json_error(431, "the request header is too large");
  }
  // A client that hung up between requests (end_of_stream) or in the middle of one
  // (partial_message) is not waiting for an answer; nor is one that timed out or was reset.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return std::nullopt;
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return json_error(400, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

// Runs the handler and waits, without blocking the io thread, until it responds. (A timer that
// never expires is the signal: `respond` cancels it.)
asio::awaitable<ControlResponse> answer(std::shared_ptr<ControlServerState> state,
                                        http::request<http::string_body> message) {
  ControlRequest request{std::string(message.method_string()), std::string(message.target()),
                         std::move(message.body())};
  auto answered = std::make_shared<asio::steady_timer>(state->acceptor.get_executor(),
                                                       asio::steady_timer::time_point::max());
  auto response = std::make_shared<std::optional<ControlResponse>>();
  ControlResponder respond = [answered, response](ControlResponse r) {
    if (!response->has_value()) {
      *response = std::move(r);
      answered->cancel();
    }
  };
  try {
    state->handler(request, respond);
  } catch (const std::exception& e) {
    respond(json_error(500, std::string("internal error: ") + e.what()));
  } catch (...) {
    respond(json_error(500, "internal error"));
  }
  while (!response->has_value()) {
    ErrorCode ignored;
    co_await answered->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return std::move(**response);
}

http::response<http::string_body> to_http(ControlResponse response, unsigned version,
                                          bool keep_alive) {
  if (response.status < 100 || response.status > 599) {
    response = json_error(
        500, "internal error: the handler answered with status " + std::to_string(response.status));
  }
  http::response<http::string_body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  message.set(http::field::content_type, response.content_type);
  message.set(http::field::cache_control, "no-store");
  message.keep_alive(keep_alive);
  message.body() = std::move(response.body);
  message.prepare_payload();
  return message;
}

// Reads one request from `stream` and answers it. Returns whether the connection stays open for
// another request.
asio::awaitable<bool> serve_one_request(std::shared_ptr<ControlServerState> state,
                                        std::shared_ptr<ControlStream> stream,
                                        beast::flat_buffer& buffer) {
  // A fresh parser per request, since the body limit is per request.
  http::request_parser<http::string_body> parser;
  parser.body_limit(kMaxControlRequestBody);
  stream->expires_after(kControlIdleTimeout);
  ErrorCode ec;
  co_await http::async_read(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (state->stopped) {
    co_return false;
  }
  std::optional<ControlResponse> response;
  unsigned version = 11;
  bool keep_alive = false;
  if (ec) {
    // Whatever follows an unreadable request cannot be framed: answer (maybe) and close.
    response = rejection_for(ec);
  } else {
    version = parser.get().version();
    keep_alive = parser.get().keep_alive();
    response = co_await answer(state, parser.release());
  }
  // The handler may have stopped the server, which closed this connection.
  if (!response || state->stopped) {
    co_return false;
  }
  http::response<http::string_body> message = to_http(std::move(*response), version, keep_alive);
  stream->expires_after(kControlIdleTimeout);
  co_await http::async_write(*stream, message, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && keep_alive;
}

// One connection, one request at a time, until the client closes, a request asks to close, an
// error occurs, or the server stops.
asio::awaitable<void> serve_connection(std::shared_ptr<ControlServerState> state,
                                       std::shared_ptr<ControlStream> stream,
                                       std::uint64_t connection_id) {
  beast::flat_buffer buffer;
  bool open = true;
  while (open && !state->stopped) {
    open = co_await serve_one_request(state, stream, buffer);
  }
  state->connections.erase(connection_id);
  if (!state->stopped) {  // else stop() has closed it already
    ErrorCode ignored;
    stream->socket().shutdown(LocalProtocol::socket::shutdown_send, ignored);
    stream->close();
  }
}

asio::awaitable<void> accept_connections(std::shared_ptr<ControlServerState> state) {
  while (!state->stopped) {
    ErrorCode ec;
    LocalProtocol::socket socket =
        co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopped) {
      co_return;
    }
    if (ec) {
      asio::steady_timer pause(state->acceptor.get_executor(), kAcceptRetryDelay);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto stream = std::make_shared<ControlStream>(std::move(socket));
    // Registered before the connection's coroutine first runs, so that stop() sees it.
    const std::uint64_t connection_id = state->next_connection_id++;
    state->connections.emplace(connection_id, stream);
    asio::co_spawn(state->acceptor.get_executor(),
                   serve_connection(state, std::move(stream), connection_id), asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::start(asio::io_context& io,
                                                            const std::string& path,
                                                            ControlHandler handler) {
  if (!handler) {
    return make_error(Errc::kInvalidArgument, "the control socket needs a request handler");
  }
  return start(
      io, path,
      [handler = std::move(handler)](const ControlRequest& request, ControlResponder respond) {
        respond(handler(request));
      });
}

Result<std::unique_ptr<ControlServer>> ControlServer::start(asio::io_context& io,
                                                            const std::string& path,
                                                            AsyncControlHandler handler) {
  if (!handler) {
    return make_error(Errc::kInvalidArgument, "the control socket needs a request handler");
  }
  HOTLINE_TRY(check_socket_path(path));
  HOTLINE_TRY(remove_stale_socket(path));
  auto state = std::make_shared<ControlServerState>(io, path, std::move(handler));
  HOTLINE_ASSIGN(state->socket_file, listen_owner_only(state->acceptor, path));
  asio::co_spawn(io, accept_connections(state), asio::detached);
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(state)));
}

ControlServer::ControlServer(std::shared_ptr<ControlServerState> state)
    : state_(std::move(state)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
  ControlServerState& state = *state_;
  if (state.stopped) {
    return;
  }
  state.stopped = true;
  // The file goes first, so that a client that sees its connection closed finds no socket left.
  remove_socket_file(state.path, state.socket_file);
  // Closing makes each pending accept, read or write complete with operation_aborted; the
  // coroutines then see `stopped` and end, releasing the state.
  ErrorCode ignored;
  state.acceptor.close(ignored);
  for (auto& [id, weak_stream] : state.connections) {
    if (std::shared_ptr<ControlStream> stream = weak_stream.lock()) {
      stream->close();
    }
  }
}

// --- The client -----------------------------------------------------------------------------

namespace {

// A token as RFC 9110 §5.6.2 defines it, so that a method cannot break the request line.
bool is_http_token(const std::string& text) {
  static constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    bool alphanumeric = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alphanumeric && kPunctuation.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// An origin-form target: a path and optional query, without spaces or control characters.
bool is_origin_target(const std::string& text) {
  if (text.empty() || text.front() != '/') {
    return false;
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f') {
      return false;
    }
  }
  return true;
}

Error exchange_failure(const std::string& path, const ErrorCode& ec,
                       std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return make_error(Errc::kIo, "no answer from the station serving from " + path + " within " +
                                     std::to_string(timeout.count()) + " ms");
  }
  return make_error(Errc::kIo, "control request to " + path + " failed: " + ec.message());
}

Error connect_failure(const std::string& path, const ErrorCode& ec,
                      std::chrono::milliseconds timeout) {
  if (ec == boost::system::errc::no_such_file_or_directory ||
      ec == asio::error::connection_refused) {
    return make_error(Errc::kNotFound,
                      "no station is serving from " + path + " (is `hotline serve` running?)");
  }
  return exchange_failure(path, ec, timeout);
}

// The server may answer before it has read the whole request (413 for an oversized body) and then
// close, so writing fails; its answer is still there to read, and says more than the broken pipe.
bool server_closed_early(const ErrorCode& ec) {
  return ec == asio::error::broken_pipe || ec == asio::error::connection_reset;
}

ControlResponse from_http(http::response<http::string_body>&& message) {
  return ControlResponse{static_cast<int>(message.result_int()), std::move(message.body()),
                         std::string(message[http::field::content_type])};
}

// Connects, writes `request` and reads the response, all within `timeout`, into `outcome`.
asio::awaitable<void> exchange(const std::string& path, http::request<http::string_body>& request,
                               std::chrono::milliseconds timeout,
                               std::optional<Result<ControlResponse>>& outcome) {
  ControlStream stream(co_await asio::this_coro::executor);
  // One deadline for the whole exchange: it applies to every operation started until it is reset.
  stream.expires_after(timeout);
  ErrorCode ec;
  co_await stream.async_connect(LocalProtocol::endpoint(path),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    outcome.emplace(connect_failure(path, ec, timeout));
    co_return;
  }
  ErrorCode write_error;
  co_await http::async_write(stream, request,
                             asio::redirect_error(asio::use_awaitable, write_error));
  if (write_error && !server_closed_early(write_error)) {
    outcome.emplace(exchange_failure(path, write_error, timeout));
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxControlResponseBody);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    outcome.emplace(exchange_failure(path, write_error ? write_error : ec, timeout));
    co_return;
  }
  outcome.emplace(from_http(parser.release()));
}

}  // namespace

Result<ControlResponse> control_request(const std::string& socket_path, const std::string& method,
                                        const std::string& target, const std::string& body,
                                        std::chrono::milliseconds timeout) {
  HOTLINE_TRY(check_socket_path(socket_path));
  if (!is_http_token(method)) {
    return make_error(Errc::kInvalidArgument, "not an HTTP method: \"" + method + "\"");
  }
  if (!is_origin_target(target)) {
    return make_error(Errc::kInvalidArgument,
                      "not a request target (a path starting with /): \"" + target + "\"");
  }
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "localhost");  // required by HTTP/1.1; the socket is the address
  request.set(http::field::user_agent, "hotline");
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
  }
  request.keep_alive(false);
  request.body() = body;
  request.prepare_payload();

  asio::io_context io;
  std::optional<Result<ControlResponse>> outcome;
  asio::co_spawn(io, exchange(socket_path, request, timeout, outcome), asio::detached);
  io.run();
  if (!outcome) {
    return make_error(Errc::kInternal, "the control request to " + socket_path + " did not finish");
  }
  return std::move(*outcome);
}

}  // namespace hotline::station
