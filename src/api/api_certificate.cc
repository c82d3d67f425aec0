#include "api/api_certificate.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "core/bytes.h"
#include "core/file_io.h"

namespace hotline::api {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Free>;

// Browsers refuse leaf certificates valid for longer than 825 days.
constexpr long kValiditySeconds = 825L * 24 * 3600;

Error openssl_error(const std::string& what) {
  return make_error(Errc::kInternal, "cannot " + what + " (OpenSSL)");
}

bool is_ip_address(const std::string& host) {
  return !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
}

Result<void> add_extension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> extension(
      X509V3_EXT_conf_nid(nullptr, &context, nid, const_cast<char*>(value.c_str())));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return openssl_error("add a certificate extension");
  }
  return success();
}

Result<std::string> pem_of(int (*write)(BIO*, void*), void* object) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), object) != 1) {
    return openssl_error("write PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<std::string> fingerprint_of(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &size) != 1) {
    return openssl_error("hash the certificate");
  }
  std::string text;
  for (unsigned int i = 0; i < size; ++i) {
    char byte[4];
    std::snprintf(byte, sizeof(byte), i + 1 < size ? "%02X:" : "%02X", digest[i]);
    text += byte;
  }
  return text;
}

}  // namespace

Result<std::string> make_api_certificate(const std::string& certificate_path,
                                         const std::string& key_path,
                                         const std::string& station_name, const std::string& host) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  Owned<X509> certificate(X509_new());
  if (!key || !certificate) {
    return openssl_error("make an ECDSA P-256 key");
  }
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return openssl_error("draw a serial number");
  }
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* serial_number = BN_bin2bn(serial, sizeof(serial), nullptr);
  ASN1_INTEGER* asn1_serial = BN_to_ASN1_INTEGER(serial_number, nullptr);
  BN_free(serial_number);
  const bool serial_set =
      asn1_serial != nullptr && X509_set_serialNumber(certificate.get(), asn1_serial) == 1;
  ASN1_INTEGER_free(asn1_serial);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const std::string common_name = "Hotline station " + station_name;
  if (!serial_set || X509_set_version(certificate.get(), 2) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kValiditySeconds) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1 ||
      X509_set_issuer_name(certificate.get(), name) != 1 ||
      X509_set_pubkey(certificate.get(), key.get()) != 1) {
    return openssl_error("fill in the API certificate");
  }
  std::string names = "DNS:localhost,IP:127.0.0.1";
  if (!host.empty() && host != "localhost" && host != "127.0.0.1" && host != "0.0.0.0") {
    names += (is_ip_address(host) ? ",IP:" : ",DNS:") + host;
  }
  HOTLINE_TRY(add_extension(certificate.get(), NID_subject_alt_name, names));
  HOTLINE_TRY(add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE"));
  HOTLINE_TRY(add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature"));
  HOTLINE_TRY(add_extension(certificate.get(), NID_ext_key_usage, "serverAuth"));
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    return openssl_error("sign the API certificate");
  }
  HOTLINE_ASSIGN(std::string key_pem, pem_of(
                                          [](BIO* bio, void* k) {
                                            return PEM_write_bio_PrivateKey(
                                                bio, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                                nullptr, nullptr);
                                          },
                                          key.get()));
  HOTLINE_ASSIGN(
      std::string certificate_pem,
      pem_of([](BIO* bio, void* c) { return PEM_write_bio_X509(bio, static_cast<X509*>(c)); },
             certificate.get()));
  HOTLINE_TRY(create_file_durably(key_path, as_bytes(key_pem), 0600));
  HOTLINE_TRY(create_file_durably(certificate_path, as_bytes(certificate_pem), 0644));
  return fingerprint_of(certificate.get());
}

Result<std::string> api_certificate_fingerprint(const std::string& path) {
  HOTLINE_ASSIGN(Bytes pem, read_whole_file(path, 1 << 20));
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<X509> certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) {
    return make_error(Errc::kCorrupt, path + ": not a PEM certificate");
  }
  return fingerprint_of(certificate.get());
}

}  // namespace hotline::api
