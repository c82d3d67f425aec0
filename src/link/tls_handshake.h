// link/tls_handshake.h — the pinned TLS 1.3 handshake on a real connection (design.md §4).
//
// Wraps tls_identity.h for Asio: a context per role, and a handshake that completes within a
// deadline or fails, so that a peer that connects and says nothing (or speaks plain TCP, or TLS
// 1.2, or presents an unpinned key) is refused promptly and never reaches the protocol.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "crypto/identity.h"
#include "link/asio.h"
#include "link/tls_identity.h"

namespace hotline::link {

enum class TlsRole { kServer, kClient };

// A TLS context presenting `key`'s certificate and accepting only peers `pin` accepts; refusals
// are reported to `on_refusal` as well as failing the handshake.
[[nodiscard]] Result<std::unique_ptr<asio::ssl::context>> make_tls_context(
    TlsRole role, const crypto::SigningKey& key, PeerPin pin,
    std::function<void(const std::string&)> on_refusal);

// Runs the handshake on `stream` (already connected) and returns the peer's pinned station key.
// Closes the socket and fails if it takes longer than `timeout`.
asio::awaitable<Result<crypto::PublicKey>> pinned_handshake(TlsStream& stream, TlsRole role,
                                                            std::chrono::milliseconds timeout);

}  // namespace hotline::link
