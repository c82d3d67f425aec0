#include "station/station_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "api/api_certificate.h"
#include "core/file_io.h"
#include "crypto/key_file.h"
#include "station/config.h"
#include "store/record_store.h"

namespace hotline::station {
namespace {

namespace fs = std::filesystem;

Result<void> make_directory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return make_error(Errc::kIo, "cannot create directory " + dir + ": " + ec.message());
  }
  // The directory holds the identity key and the control socket: owner only.
  if (::chmod(dir.c_str(), 0700) != 0) {
    return make_error(Errc::kIo, "cannot set permissions of " + dir + ": " + std::strerror(errno));
  }
  return success();
}

Result<StationConfig> initial_config(const InitOptions& options) {
  StationConfig config;
  config.name = options.name;
  HOTLINE_ASSIGN(config.listen, Endpoint::parse(options.listen));
  HOTLINE_ASSIGN(config.api, Endpoint::parse(options.api));
  config.api_tls = options.api_tls;
  if (!config.api_tls && !config.api.is_loopback()) {
    return make_error(Errc::kInvalidArgument,
                      "--no-api-tls: plain HTTP is allowed only when "
                      "--api is a loopback address, not " +
                          config.api.text());
  }
  return config;
}

}  // namespace

Result<InitResult> init_station(const InitOptions& options) {
  if (options.name.empty()) {
    return make_error(Errc::kInvalidArgument, "--name must not be empty");
  }
  HOTLINE_ASSIGN(StationConfig config, initial_config(options));
  StationPaths paths{options.dir};
  if (fs::exists(paths.key()) || fs::exists(paths.database())) {
    return make_error(Errc::kRefused, "directory " + options.dir +
                                          " already holds a station; refusing to overwrite it");
  }
  HOTLINE_TRY(make_directory(options.dir));
  crypto::ensure_sodium();
  std::optional<crypto::SigningKey> key;
  if (options.seed_hex) {
    HOTLINE_ASSIGN(Bytes seed, from_hex(*options.seed_hex));
    HOTLINE_ASSIGN(auto from_seed, crypto::SigningKey::from_seed(seed));
    key.emplace(std::move(from_seed));
  } else {
    key.emplace(crypto::SigningKey::generate());
  }
  HOTLINE_TRY(crypto::write_key_file(paths.key(), *key, options.passphrase));
  const std::string text = render_config(config);
  HOTLINE_TRY(create_file_durably(paths.config(), as_bytes(text), 0600));
  store::SqliteOptions store_options;
  HOTLINE_ASSIGN(auto store, store::open_sqlite_store(paths.database(), store_options));
  HOTLINE_ASSIGN(
      std::string api_fingerprint,
      api::make_api_certificate(paths.resolve(config.api_certificate),
                                paths.resolve(config.api_key), config.name, config.api.host));
  return InitResult{key->public_key(), options.passphrase.has_value(), api_fingerprint};
}

Result<StationPaths> open_station_dir(const std::string& dir) {
  StationPaths paths{dir};
  if (!fs::is_directory(dir)) {
    return make_error(Errc::kNotFound, "no station directory at " + dir);
  }
  if (!fs::exists(paths.key())) {
    return make_error(Errc::kNotFound,
                      "directory " + dir + " holds no station (no identity.key); run hotline init");
  }
  return paths;
}

}  // namespace hotline::station
