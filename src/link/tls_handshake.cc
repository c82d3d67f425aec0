#include "link/tls_handshake.h"

namespace hotline::link {

Result<std::unique_ptr<asio::ssl::context>> make_tls_context(
    TlsRole role, const crypto::SigningKey& key, PeerPin pin,
    std::function<void(const std::string&)> on_refusal) {
  auto context = std::make_unique<asio::ssl::context>(
      role == TlsRole::kServer ? asio::ssl::context::tls_server : asio::ssl::context::tls_client);
  HOTLINE_ASSIGN(TlsIdentity identity, make_tls_identity(key));
  HOTLINE_TRY(configure_tls_context(context->native_handle(), identity, std::move(pin),
                                    std::move(on_refusal)));
  return context;
}

asio::awaitable<Result<crypto::PublicKey>> pinned_handshake(TlsStream& stream, TlsRole role,
                                                            std::chrono::milliseconds timeout) {
  // The deadline closes the socket, which makes the pending handshake complete with an error.
  auto executor = co_await asio::this_coro::executor;
  auto deadline = std::make_shared<asio::steady_timer>(executor, timeout);
  auto timed_out = std::make_shared<bool>(false);
  // Set when the handshake has finished: a timer that expired at the same moment must then leave
  // the stream alone (it may already be gone).
  auto finished = std::make_shared<bool>(false);
  deadline->async_wait([deadline, timed_out, finished, &stream](boost::system::error_code ec) {
    if (!ec && !*finished) {
      *timed_out = true;
      boost::system::error_code ignored;
      stream.lowest_layer().close(ignored);
    }
  });
  boost::system::error_code ec;
  co_await stream.async_handshake(
      role == TlsRole::kServer ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
      asio::redirect_error(asio::use_awaitable, ec));
  *finished = true;
  deadline->cancel();
  if (*timed_out) {
    co_return make_error(Errc::kRefused, "TLS handshake did not complete within " +
                                             std::to_string(timeout.count()) + " ms");
  }
  if (ec) {
    co_return make_error(Errc::kRefused, "TLS handshake failed: " + ec.message());
  }
  co_return peer_station_key(stream.native_handle());
}

}  // namespace hotline::link
