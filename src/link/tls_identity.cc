#include "link/tls_identity.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <string>

namespace hotline::link {
namespace {

// Kept in the SSL_CTX's ex_data so that the verify callback can reach it.
struct PinPolicy {
  PeerPin pin;
  std::function<void(const std::string&)> on_refusal;
};

int pin_policy_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<PinPolicy*>(ptr);
      });
  return index;
}

void refuse(const PinPolicy& policy, const std::string& reason) {
  if (policy.on_refusal) {
    policy.on_refusal(reason);
  }
}

// Replaces OpenSSL's chain building: the only question is whether the leaf's key is pinned.
int verify_pinned_certificate(X509_STORE_CTX* store, void* arg) {
  const auto* policy = static_cast<const PinPolicy*>(arg);
  X509* certificate = X509_STORE_CTX_get0_cert(store);
  if (certificate == nullptr) {
    refuse(*policy, "the peer presented no certificate");
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  auto key = station_key_of(certificate);
  if (!key) {
    refuse(*policy, key.error().message);
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (!policy->pin(*key)) {
    refuse(*policy, "the peer's key " + key->fingerprint() + " is not pinned by any line");
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

// A peer that presents no certificate at all is refused by OpenSSL itself
// (SSL_VERIFY_FAIL_IF_NO_PEER_CERT) before the verify callback runs; the only trace is the
// certificate_required alert this side sends, so that is where the refusal is reported.
void report_missing_certificate(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_WRITE_ALERT) == 0 || (ret & 0xff) != SSL_AD_CERTIFICATE_REQUIRED) {
    return;
  }
  const auto* policy =
      static_cast<const PinPolicy*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_policy_index()));
  if (policy != nullptr) {
    refuse(*policy, "the peer presented no certificate");
  }
}

Error tls_error(const std::string& what) {
  return make_error(Errc::kInternal, what + ": " + take_openssl_errors());
}

Result<void> set_validity_and_name(X509* certificate, const crypto::PublicKey& key) {
  // Validity is meaningless under pinning; a wide window avoids clock-skew refusals by TLS stacks.
  if (X509_set_version(certificate, 2) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate), -24 * 3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate), 100L * 365 * 24 * 3600) == nullptr) {
    return tls_error("cannot set certificate validity");
  }
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
  X509_NAME* name = X509_get_subject_name(certificate);
  // A common name is at most 64 characters, too short for a fingerprint; peers identify each other
  // by the key itself, so the name only helps a person reading a capture.
  const std::string cn = key.fingerprint().substr(0, 36);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(certificate, name) != 1) {
    return tls_error("cannot set certificate name");
  }
  return success();
}

}  // namespace

std::string take_openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!out.empty()) {
      out += "; ";
    }
    out += buffer;
  }
  return out.empty() ? "no OpenSSL error reported" : out;
}

Result<TlsIdentity> make_tls_identity(const crypto::SigningKey& key) {
  ByteView seed = key.seed_for_sealing();
  TlsIdentity identity;
  identity.key.reset(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!identity.key) {
    return tls_error("cannot load the Ed25519 key into OpenSSL");
  }
  identity.certificate.reset(X509_new());
  if (!identity.certificate) {
    return tls_error("cannot allocate a certificate");
  }
  HOTLINE_TRY(set_validity_and_name(identity.certificate.get(), key.public_key()));
  if (X509_set_pubkey(identity.certificate.get(), identity.key.get()) != 1 ||
      X509_sign(identity.certificate.get(), identity.key.get(), nullptr) == 0) {
    return tls_error("cannot sign the certificate");
  }
  return identity;
}

Result<crypto::PublicKey> station_key_of(X509* certificate) {
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    return make_error(Errc::kRefused, "the peer's certificate does not hold an Ed25519 key");
  }
  std::array<std::uint8_t, crypto::kPublicKeySize> raw{};
  std::size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size()) {
    return make_error(Errc::kRefused, "cannot read the Ed25519 key of the peer's certificate");
  }
  return crypto::PublicKey(raw);
}

Result<void> configure_tls_context(SSL_CTX* ctx, const TlsIdentity& identity, PeerPin pin,
                                   std::function<void(const std::string&)> on_refusal) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return tls_error("cannot restrict the context to TLS 1.3");
  }
  if (SSL_CTX_use_certificate(ctx, identity.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, identity.key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return tls_error("cannot install the station's certificate");
  }
  auto* policy = new PinPolicy{std::move(pin), std::move(on_refusal)};
  if (SSL_CTX_set_ex_data(ctx, pin_policy_index(), policy) != 1) {
    delete policy;
    return tls_error("cannot attach the pinning policy");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, verify_pinned_certificate, policy);
  SSL_CTX_set_info_callback(ctx, report_missing_certificate);
  // No session resumption: every connection proves both keys afresh.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return success();
}

Result<crypto::PublicKey> peer_station_key(SSL* ssl) {
  OpenSslPtr<X509> certificate(SSL_get1_peer_certificate(ssl));
  if (!certificate) {
    return make_error(Errc::kRefused, "the peer presented no certificate");
  }
  return station_key_of(certificate.get());
}

}  // namespace hotline::link
