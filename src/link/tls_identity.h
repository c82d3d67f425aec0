// link/tls_identity.h — TLS 1.3 with mutual authentication pinned to Ed25519 station keys.
//
// Each station presents a self-signed X.509 certificate made from its Ed25519 identity key
// (design.md §4). No certificate authority is trusted: a peer is accepted only if the key in its
// certificate is one the caller pins (the line's peer for a dialling station; any configured
// line's peer for a listening one). The TLS handshake itself proves that the peer holds the private
// key (CertificateVerify), so the certificate's own signature and validity dates carry no weight.
//
// This file uses OpenSSL only, no Asio, so that it can be tested and reviewed on its own.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>

#include "core/result.h"
#include "crypto/identity.h"

namespace hotline::link {

struct OpenSslDeleter {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};
template <class T>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter>;

// A station's certificate and private key in OpenSSL's types.
struct TlsIdentity {
  OpenSslPtr<EVP_PKEY> key;
  OpenSslPtr<X509> certificate;
};

// Builds the self-signed certificate of `key` (subject CN = the start of its fingerprint).
[[nodiscard]] Result<TlsIdentity> make_tls_identity(const crypto::SigningKey& key);

// The Ed25519 station key in a peer's certificate; an error for any other kind of key.
[[nodiscard]] Result<crypto::PublicKey> station_key_of(X509* certificate);

// Decides whether a peer key is acceptable. Must be thread-safe if the context is shared.
using PeerPin = std::function<bool(const crypto::PublicKey&)>;

// Makes `ctx` present `identity`, speak TLS 1.3 only, require a certificate from the peer (for a
// server too: mutual authentication), and accept the peer only if `pin` accepts its key. `pin` is
// kept alive by the context. Refusals are reported to `on_refusal` (for the security log) with
// the reason.
[[nodiscard]] Result<void> configure_tls_context(
    SSL_CTX* ctx, const TlsIdentity& identity, PeerPin pin,
    std::function<void(const std::string& reason)> on_refusal);

// The pinned station key of an established connection's peer.
[[nodiscard]] Result<crypto::PublicKey> peer_station_key(SSL* ssl);

// OpenSSL's error queue as text (and cleared), for messages.
std::string take_openssl_errors();

}  // namespace hotline::link
