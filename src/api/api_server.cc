#include "api/api_server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <deque>
#include <unordered_map>

#include "link/asio.h"
// Beast comes after link/asio.h, and only into this file and station/control_socket.cc.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace hotline::api {

namespace asio = link::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using ErrorCode = boost::system::error_code;
using link::Tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr std::chrono::seconds kIdleTimeout{30};
constexpr std::chrono::seconds kHandshakeTimeout{10};
constexpr std::size_t kMaxHeader = 16 * 1024;
constexpr std::size_t kMaxConnections = 512;
// Events waiting for a slow stream; beyond this it is closed, and the console resumes from the
// last id it received.
constexpr std::size_t kMaxQueuedEvents = 10'000;
// How often an idle event stream checks that its session is still alive.
constexpr std::chrono::seconds kSessionCheck{15};

const char* const kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

}  // namespace

struct ApiServerState {
  ApiServerState(asio::io_context& io, ApiDispatcher& d) : acceptor(io), dispatcher(d) {}

  Tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls;
  ApiDispatcher& dispatcher;
  bool stopped = false;
  std::uint64_t next_connection = 0;
  // How to close each open connection, for stop().
  std::unordered_map<std::uint64_t, std::function<void()>> closers;
};

namespace {

bool loopback(const asio::ip::address& address) {
  if (address.is_v4()) {
    return (address.to_v4().to_uint() >> 24) == 127;
  }
  return address.is_loopback() ||
         (address.to_v6().is_v4_mapped() &&
          (asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_uint() >> 24) == 127);
}

void add_security_headers(Response& response, bool tls) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
  response.set("Permissions-Policy", "geolocation=(), payment=(), usb=()");
  response.set(http::field::cache_control, "no-store");
  if (tls) {
    response.set("Strict-Transport-Security", "max-age=31536000");
  }
}

Response to_http(HttpReply reply, unsigned version, bool keep_alive, bool tls) {
  if (reply.status < 100 || reply.status > 599) {
    reply = error_reply(500, "internal error: status " + std::to_string(reply.status));
  }
  Response response;
  response.version(version);
  response.result(static_cast<unsigned>(reply.status));
  response.set(http::field::content_type, reply.content_type);
  for (auto& [name, value] : reply.headers) {
    response.insert(name, value);
  }
  add_security_headers(response, tls);
  response.keep_alive(keep_alive);
  response.body() = std::move(reply.body);
  response.prepare_payload();
  return response;
}

// The reply to a request that could not be read, or nothing if nobody waits for one.
std::optional<HttpReply> rejection_for(const ErrorCode& ec) {
  if (ec == http::error::body_limit) {
    return error_reply(413,
                       "the request body is larger than " + std::to_string(kMaxApiBody) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return error_reply(
        431, "the request header is larger than " + std::to_string(kMaxHeader) + " bytes");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return std::nullopt;
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return error_reply(400, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    std::size_t end = header.find(';');
    std::string_view pair = header.substr(0, end);
    while (pair.starts_with(' ')) {
      pair.remove_prefix(1);
    }
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) {
      break;
    }
    header.remove_prefix(end + 1);
  }
  return "";
}

HttpCall to_call(Request& request, const std::string& from, bool from_loopback) {
  HttpCall call;
  call.method = std::string(request.method_string());
  call.target = std::string(request.target());
  const std::size_t question = call.target.find('?');
  call.path = call.target.substr(0, question);
  call.query = question == std::string::npos ? "" : call.target.substr(question + 1);
  call.body = std::move(request.body());
  call.content_type = std::string(request[http::field::content_type]);
  const auto cookies = request[http::field::cookie];
  call.session = cookie_value(std::string_view(cookies.data(), cookies.size()), "hotline_session");
  call.csrf_token = std::string(request["X-CSRF-Token"]);
  call.origin = std::string(request[http::field::origin]);
  call.host = std::string(request[http::field::host]);
  call.from = from;
  call.from_loopback = from_loopback;
  return call;
}

// Runs the dispatcher and waits, without blocking the io thread, until it replies. (A timer that
// never expires is the signal: the reply cancels it.)
asio::awaitable<HttpReply> answer(ApiServerState& state, const HttpCall& call) {
  auto executor = co_await asio::this_coro::executor;
  auto answered =
      std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  auto reply = std::make_shared<std::optional<HttpReply>>();
  Reply respond = [answered, reply](HttpReply r) {
    if (!reply->has_value()) {
      *reply = std::move(r);
      answered->cancel();
    }
  };
  try {
    state.dispatcher.handle(call, respond);
  } catch (const std::exception& e) {
    respond(error_reply(500, std::string("internal error: ") + e.what()));
  }
  while (!reply->has_value()) {
    ErrorCode ignored;
    co_await answered->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return std::move(**reply);
}

std::string query_value(const std::string& query, const std::string& key) {
  for (std::size_t at = 0; at <= query.size();) {
    std::size_t end = query.find('&', at);
    if (end == std::string::npos) {
      end = query.size();
    }
    if (query.compare(at, key.size() + 1, key + "=") == 0) {
      return query.substr(at + key.size() + 1, end - at - key.size() - 1);
    }
    at = end + 1;
  }
  return "";
}

// The live event stream of one console (docs/api.yaml, /api/v1/events).
template <class Stream>
asio::awaitable<void> serve_events(std::shared_ptr<ApiServerState> state, Stream stream,
                                   Request request, Subscriber subscriber, std::string after,
                                   std::uint64_t connection) {
  auto ws = std::make_shared<websocket::stream<Stream>>(std::move(stream));
  state->closers[connection] = [weak = std::weak_ptr(ws)] {
    if (auto ws = weak.lock()) {
      beast::get_lowest_layer(*ws).close();
    }
  };
  beast::get_lowest_layer(*ws).expires_never();
  ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws->read_message_max(4096);
  ErrorCode ec;
  co_await ws->async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || state->stopped) {
    co_return;
  }
  EventHub& hub = state->dispatcher.events();
  struct Outbox {
    std::deque<std::string> queue;
    bool closed = false;
    bool overflowed = false;
  };
  auto outbox = std::make_shared<Outbox>();
  auto wake = std::make_shared<asio::steady_timer>(ws->get_executor());
  auto push = [outbox, wake](std::string text) {
    if (outbox->queue.size() >= kMaxQueuedEvents) {
      outbox->overflowed = true;
    } else {
      outbox->queue.push_back(std::move(text));
    }
    wake->cancel();
  };
  // What the console missed, or that it must reload.
  if (after.empty()) {
    push(nlohmann::json{{"type", "hello"}, {"id", hub.last_id()}}.dump());
  } else if (auto missed = hub.since(after)) {
    push(nlohmann::json{{"type", "resumed"}, {"id", after}, {"missed", missed->size()}}.dump());
    for (const Event& event : *missed) {
      if (ApiDispatcher::may_see(subscriber, event)) {
        push(hub.to_json(event).dump());
      }
    }
  } else {
    push(nlohmann::json{{"type", "reset"},
                        {"id", hub.last_id()},
                        {"reason", "cannot resume after " + after +
                                       " (the station restarted, or it is too old): reload"}}
             .dump());
  }
  const std::uint64_t token = hub.subscribe([&hub, subscriber, push](const Event& event) {
    if (ApiDispatcher::may_see(subscriber, event)) {
      push(hub.to_json(event).dump());
    }
  });
  // Reads (and drops) whatever the console sends, so that pings and the close handshake are
  // answered; ends the stream when the console goes.
  asio::co_spawn(
      ws->get_executor(),
      [ws, outbox, wake]() -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        ErrorCode read_error;
        while (!read_error) {
          co_await ws->async_read(buffer, asio::redirect_error(asio::use_awaitable, read_error));
          buffer.consume(buffer.size());
        }
        outbox->closed = true;
        wake->cancel();
      },
      asio::detached);
  ws->text(true);
  while (!outbox->closed && !state->stopped) {
    while (!outbox->queue.empty() && !outbox->closed) {
      std::string text = std::move(outbox->queue.front());
      outbox->queue.pop_front();
      co_await ws->async_write(asio::buffer(text), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        outbox->closed = true;
      }
    }
    if (outbox->closed || state->stopped) {
      break;
    }
    if (outbox->overflowed || !state->dispatcher.session_alive(subscriber)) {
      websocket::close_reason reason(websocket::close_code::policy_error,
                                     outbox->overflowed ? "too far behind: resume from the last id"
                                                        : "the session has ended: log in again");
      co_await ws->async_close(reason, asio::redirect_error(asio::use_awaitable, ec));
      break;
    }
    wake->expires_after(kSessionCheck);
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  hub.unsubscribe(token);
  state->closers.erase(connection);
}

// Reads and drops what the client still sends (up to kMaxDrained, for at most kDrainTime), so
// that a client sending a body we refused reads our answer instead of a reset connection.
template <class Stream>
asio::awaitable<void> drain(Stream& stream) {
  constexpr std::size_t kMaxDrained = 4 << 20;
  constexpr std::chrono::seconds kDrainTime{2};
  beast::get_lowest_layer(stream).expires_after(kDrainTime);
  std::array<char, 16384> sink;
  std::size_t drained = 0;
  ErrorCode ec;
  while (!ec && drained < kMaxDrained) {
    drained += co_await stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
  }
}

// One connection: requests one at a time until the client closes, an error occurs, or the
// request becomes an event stream.
template <class Stream>
asio::awaitable<void> serve_requests(std::shared_ptr<ApiServerState> state,
                                     std::shared_ptr<Stream> stream, std::string from,
                                     bool from_loopback, bool tls, std::uint64_t connection) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxApiBody);
    parser.header_limit(kMaxHeader);
    beast::get_lowest_layer(*stream).expires_after(kIdleTimeout);
    ErrorCode ec;
    co_await http::async_read(*stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopped) {
      co_return;
    }
    std::optional<HttpReply> reply;
    unsigned version = 11;
    bool keep_alive = false;
    bool unread = false;  // the client may still be sending a body we refused to read
    if (ec) {
      reply = rejection_for(ec);
      unread = ec == http::error::body_limit;
    } else {
      Request request = parser.release();
      version = request.version();
      keep_alive = request.keep_alive();
      if (websocket::is_upgrade(request) && request.target().starts_with("/api/v1/events")) {
        HttpCall call = to_call(request, from, from_loopback);
        auto subscriber = state->dispatcher.open_events(call);
        if (std::holds_alternative<Subscriber>(subscriber)) {
          co_await serve_events(state, std::move(*stream), std::move(request),
                                std::get<Subscriber>(std::move(subscriber)),
                                query_value(call.query, "after"), connection);
          co_return;
        }
        reply = std::get<HttpReply>(std::move(subscriber));
        keep_alive = false;
      } else {
        HttpCall call = to_call(request, from, from_loopback);
        reply = co_await answer(*state, call);
      }
    }
    if (!reply || state->stopped) {
      break;
    }
    Response response = to_http(std::move(*reply), version, keep_alive, tls);
    beast::get_lowest_layer(*stream).expires_after(kIdleTimeout);
    co_await http::async_write(*stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !keep_alive && unread) {
      co_await drain(*stream);
    }
    if (ec || !keep_alive) {
      break;
    }
  }
  state->closers.erase(connection);
  ErrorCode ignored;
  beast::get_lowest_layer(*stream).socket().shutdown(Tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(*stream).close();
}

asio::awaitable<void> serve_connection(std::shared_ptr<ApiServerState> state, Tcp::socket socket) {
  ErrorCode ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) {
    co_return;
  }
  const std::string from = (remote.address().is_v6() ? "[" + remote.address().to_string() + "]"
                                                     : remote.address().to_string()) +
                           ":" + std::to_string(remote.port());
  const bool from_loopback = loopback(remote.address());
  socket.set_option(Tcp::no_delay(true), ec);
  const std::uint64_t connection = state->next_connection++;
  if (state->tls) {
    auto stream = std::make_shared<TlsStream>(std::move(socket), *state->tls);
    state->closers[connection] = [weak = std::weak_ptr(stream)] {
      if (auto s = weak.lock()) {
        beast::get_lowest_layer(*s).close();
      }
    };
    beast::get_lowest_layer(*stream).expires_after(kHandshakeTimeout);
    co_await stream->async_handshake(asio::ssl::stream_base::server,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      spdlog::debug("api: TLS handshake with {} failed: {}", from, ec.message());
      state->closers.erase(connection);
      co_return;
    }
    co_await serve_requests(state, stream, from, from_loopback, true, connection);
  } else {
    auto stream = std::make_shared<PlainStream>(std::move(socket));
    state->closers[connection] = [weak = std::weak_ptr(stream)] {
      if (auto s = weak.lock()) {
        s->close();
      }
    };
    co_await serve_requests(state, stream, from, from_loopback, false, connection);
  }
}

asio::awaitable<void> accept_connections(std::shared_ptr<ApiServerState> state) {
  while (!state->stopped) {
    ErrorCode ec;
    Tcp::socket socket =
        co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopped) {
      co_return;
    }
    if (ec) {
      asio::steady_timer pause(state->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->closers.size() >= kMaxConnections) {
      spdlog::warn("SECURITY api: {} connections open; refusing another", state->closers.size());
      continue;  // closes as it goes out of scope
    }
    asio::co_spawn(state->acceptor.get_executor(), serve_connection(state, std::move(socket)),
                   asio::detached);
  }
}

Result<void> load_tls(asio::ssl::context& context, const ApiListen& listen) {
  ErrorCode ec;
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                          asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_tlsv1_2,
                      ec);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_3_VERSION);
  context.use_certificate_chain_file(listen.certificate_path, ec);
  if (ec) {
    return make_error(Errc::kCorrupt, listen.certificate_path +
                                          ": cannot load the API certificate: " + ec.message());
  }
  context.use_private_key_file(listen.key_path, asio::ssl::context::pem, ec);
  if (ec) {
    return make_error(Errc::kCorrupt,
                      listen.key_path + ": cannot load the API key: " + ec.message());
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return make_error(Errc::kCorrupt,
                      listen.key_path + " is not the key of " + listen.certificate_path);
  }
  return success();
}

}  // namespace

bool is_loopback_address(const std::string& host) {
  ErrorCode ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && loopback(address);
}

Result<std::unique_ptr<ApiServer>> ApiServer::start(asio::io_context& io, const ApiListen& listen,
                                                    ApiDispatcher& dispatcher) {
  ErrorCode ec;
  auto address = asio::ip::make_address(listen.host, ec);
  if (ec) {
    return make_error(Errc::kInvalidArgument,
                      "the API address '" + listen.host + "' is not an IP address");
  }
  if (!listen.tls && !loopback(address)) {
    return make_error(Errc::kRefused,
                      "plain HTTP is allowed only on a loopback address; the API "
                      "listens on " +
                          listen.host + ": use TLS (api_tls = true)");
  }
  auto state = std::make_shared<ApiServerState>(io, dispatcher);
  if (listen.tls) {
    state->tls.emplace(asio::ssl::context::tls_server);
    HOTLINE_TRY(load_tls(*state->tls, listen));
  }
  Tcp::endpoint endpoint(address, listen.port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    state->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return make_error(Errc::kIo, "cannot listen for the API on " + listen.host + ":" +
                                     std::to_string(listen.port) + ": " + ec.message());
  }
  asio::co_spawn(io, accept_connections(state), asio::detached);
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(state)));
}

ApiServer::ApiServer(std::shared_ptr<ApiServerState> state) : state_(std::move(state)) {}

ApiServer::~ApiServer() { stop(); }

std::uint16_t ApiServer::port() const {
  ErrorCode ec;
  return state_->acceptor.local_endpoint(ec).port();
}

void ApiServer::stop() {
  if (state_->stopped) {
    return;
  }
  state_->stopped = true;
  ErrorCode ignored;
  state_->acceptor.close(ignored);
  auto closers = std::move(state_->closers);
  state_->closers.clear();
  for (auto& [id, close] : closers) {
    close();
  }
}

}  // namespace hotline::api
