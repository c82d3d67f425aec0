// station/station_dir.h — a station's data directory (design.md §6).
//
// DIR holds hotline.toml (configuration), identity.key (the sealed or owner-only identity key),
// hotline.db (the record), and later control.sock and logs. `init_station` creates it;
// the offline commands (`fingerprint`, `verify`, `export`) open parts of it.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "crypto/identity.h"
#include "crypto/passphrase.h"

namespace hotline::station {

struct StationPaths {
  std::string dir;
  std::string config() const { return dir + "/hotline.toml"; }
  std::string key() const { return dir + "/identity.key"; }
  std::string database() const { return dir + "/hotline.db"; }
  // A path from hotline.toml: as it is if absolute, else relative to the data directory.
  std::string resolve(const std::string& path) const {
    return path.starts_with('/') ? path : dir + "/" + path;
  }
};

struct InitOptions {
  std::string dir;
  std::string name;                     // the station's display name, e.g. "mod-hanoi"
  std::string listen = "0.0.0.0:7400";  // where peers' links arrive
  std::string api = "127.0.0.1:7480";   // where the API and console are served
  std::optional<crypto::Passphrase> passphrase;
  std::optional<std::string> seed_hex;  // tests and demos only: a deterministic identity
  bool api_tls = true;  // false: plain HTTP, refused unless `api` is a loopback address
};

struct InitResult {
  crypto::PublicKey public_key;
  bool key_sealed = false;
  std::string api_fingerprint;  // SHA-256 of the API's certificate (api/api_certificate.h)
};

// Creates DIR (if needed; it must not already hold a station), its configuration, identity key,
// empty database, and the API's ECDSA P-256 certificate and key (api-cert.pem, api-key.pem). Fails
// with kRefused if DIR already holds a station, kIo if it cannot be written, naming the path.
[[nodiscard]] Result<InitResult> init_station(const InitOptions& options);

// Checks that DIR holds a station (its key file exists), naming what is missing.
[[nodiscard]] Result<StationPaths> open_station_dir(const std::string& dir);

}  // namespace hotline::station
