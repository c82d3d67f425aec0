// api/api_certificate.h — the certificate the API and console are served with over HTTPS.
//
// Browsers do not accept Ed25519 certificates, so the station's identity key (which pins the
// lines, link/tls_identity.h) cannot serve the console. `hotline init` therefore makes a separate
// ECDSA P-256 key and a self-signed certificate for the API (valid for the API's host, localhost
// and 127.0.0.1, for 825 days, the longest browsers accept) and prints its SHA-256 fingerprint,
// which officers compare with what their browser shows the first time. An operator may name their
// own certificate and key in hotline.toml instead (e.g. from the ministry's CA).
//
// OpenSSL only, no Asio.
#pragma once

#include <string>

#include "core/result.h"

namespace hotline::api {

// Makes a new ECDSA P-256 key and a self-signed certificate for `host` (a name or an IP address)
// and writes them as PEM to `certificate_path` (0644) and `key_path` (0600), durably. Refuses
// (kConflict) to replace an existing file. Returns the certificate's fingerprint.
[[nodiscard]] Result<std::string> make_api_certificate(const std::string& certificate_path,
                                                       const std::string& key_path,
                                                       const std::string& station_name,
                                                       const std::string& host);

// The SHA-256 fingerprint of the PEM certificate at `path`, as browsers show it: 32 upper-case
// hex bytes separated by colons. kNotFound or kCorrupt naming the file otherwise.
[[nodiscard]] Result<std::string> api_certificate_fingerprint(const std::string& path);

}  // namespace hotline::api
