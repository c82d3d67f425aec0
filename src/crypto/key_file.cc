#include "crypto/key_file.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/cbor.h"
#include "core/file_io.h"

namespace hotline::crypto {
namespace {

// Map keys of the key file (docs/record-format.md, "Key file").
enum KeyFileField : std::uint64_t {
  kVersion = 1,
  kPublic = 2,
  kProtection = 3,  // 0 plain, 1 sealed
  kSecret = 4,      // the seed, or secretbox(seed)
  kSalt = 5,
  kOpsLimit = 6,
  kMemLimit = 7,
  kNonce = 8,
};
constexpr std::uint64_t kKeyFileVersion = 1;
constexpr std::uint64_t kPlain = 0;
constexpr std::uint64_t kSealed = 1;
constexpr std::size_t kMaxKeyFileSize = 4096;

struct KeyFile {
  PublicKey public_key;
  bool sealed = false;
  Bytes secret;
  Bytes salt;
  std::uint64_t opslimit = 0;
  std::uint64_t memlimit = 0;
  Bytes nonce;

  ~KeyFile() { sodium_memzero(secret.data(), secret.size()); }
};

Error corrupt(const std::string& path, const std::string& why) {
  return make_error(Errc::kCorrupt,
                    "key file " + path + " is not a valid Hotline key file: " + why);
}

Result<Bytes> field_bytes(const cbor::Value& map, std::uint64_t key, std::size_t size,
                          const std::string& path) {
  const cbor::Value* v = map.find(key);
  if (v == nullptr || !v->is_bytes() || v->as_bytes().size() != size) {
    return corrupt(path, "field " + std::to_string(key) + " missing or of the wrong size");
  }
  return v->as_bytes();
}

Result<std::uint64_t> field_uint(const cbor::Value& map, std::uint64_t key,
                                 const std::string& path) {
  const cbor::Value* v = map.find(key);
  if (v == nullptr || !v->is_uint()) {
    return corrupt(path, "field " + std::to_string(key) + " missing or not an integer");
  }
  return v->as_uint();
}

Result<KeyFile> parse_key_file(const std::string& path) {
  HOTLINE_ASSIGN(Bytes raw, read_whole_file(path, kMaxKeyFileSize));
  auto decoded = cbor::decode(raw);
  if (!decoded) {
    return corrupt(path, decoded.error().message);
  }
  const cbor::Value& map = *decoded;
  HOTLINE_ASSIGN(std::uint64_t version, field_uint(map, kVersion, path));
  if (version != kKeyFileVersion) {
    return corrupt(path, "unsupported version " + std::to_string(version));
  }
  KeyFile file;
  HOTLINE_ASSIGN(Bytes pk, field_bytes(map, kPublic, kPublicKeySize, path));
  file.public_key = PublicKey::from_bytes(pk).value();
  HOTLINE_ASSIGN(std::uint64_t protection, field_uint(map, kProtection, path));
  if (protection == kPlain) {
    HOTLINE_ASSIGN(file.secret, field_bytes(map, kSecret, kSeedSize, path));
    return file;
  }
  if (protection != kSealed) {
    return corrupt(path, "unknown protection " + std::to_string(protection));
  }
  file.sealed = true;
  HOTLINE_ASSIGN(file.secret,
                 field_bytes(map, kSecret, kSeedSize + crypto_secretbox_MACBYTES, path));
  HOTLINE_ASSIGN(file.salt, field_bytes(map, kSalt, crypto_pwhash_SALTBYTES, path));
  HOTLINE_ASSIGN(file.opslimit, field_uint(map, kOpsLimit, path));
  HOTLINE_ASSIGN(file.memlimit, field_uint(map, kMemLimit, path));
  HOTLINE_ASSIGN(file.nonce, field_bytes(map, kNonce, crypto_secretbox_NONCEBYTES, path));
  if (file.opslimit < crypto_pwhash_OPSLIMIT_MIN || file.opslimit > crypto_pwhash_OPSLIMIT_MAX ||
      file.memlimit < crypto_pwhash_MEMLIMIT_MIN || file.memlimit > (std::uint64_t{1} << 32)) {
    return corrupt(path, "Argon2id cost out of range");
  }
  return file;
}

Result<std::array<std::uint8_t, crypto_secretbox_KEYBYTES>> derive_box_key(
    const Passphrase& passphrase, ByteView salt, std::uint64_t opslimit, std::uint64_t memlimit) {
  std::array<std::uint8_t, crypto_secretbox_KEYBYTES> key;
  if (crypto_pwhash(key.data(), key.size(), passphrase.reveal().data(), passphrase.reveal().size(),
                    salt.data(), opslimit, static_cast<std::size_t>(memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(Errc::kIo, "Argon2id key derivation ran out of memory");
  }
  return key;
}

}  // namespace

Result<void> write_key_file(const std::string& path, const SigningKey& key,
                            const std::optional<Passphrase>& passphrase, KdfCost cost) {
  ensure_sodium();
  cbor::Map map;
  map.emplace_back(cbor::Value::uint(kVersion), cbor::Value::uint(kKeyFileVersion));
  map.emplace_back(cbor::Value::uint(kPublic), cbor::Value::bytes(key.public_key().view()));
  if (!passphrase) {
    map.emplace_back(cbor::Value::uint(kProtection), cbor::Value::uint(kPlain));
    map.emplace_back(cbor::Value::uint(kSecret), cbor::Value::bytes(key.seed_for_sealing()));
  } else {
    const std::uint64_t opslimit = cost == KdfCost::kModerate ? crypto_pwhash_OPSLIMIT_MODERATE
                                                              : crypto_pwhash_OPSLIMIT_INTERACTIVE;
    const std::uint64_t memlimit = cost == KdfCost::kModerate ? crypto_pwhash_MEMLIMIT_MODERATE
                                                              : crypto_pwhash_MEMLIMIT_INTERACTIVE;
    Bytes salt(crypto_pwhash_SALTBYTES);
    randombytes_buf(salt.data(), salt.size());
    Bytes nonce(crypto_secretbox_NONCEBYTES);
    randombytes_buf(nonce.data(), nonce.size());
    HOTLINE_ASSIGN(auto box_key, derive_box_key(*passphrase, salt, opslimit, memlimit));
    Bytes sealed(kSeedSize + crypto_secretbox_MACBYTES);
    crypto_secretbox_easy(sealed.data(), key.seed_for_sealing().data(), kSeedSize, nonce.data(),
                          box_key.data());
    sodium_memzero(box_key.data(), box_key.size());
    map.emplace_back(cbor::Value::uint(kProtection), cbor::Value::uint(kSealed));
    map.emplace_back(cbor::Value::uint(kSecret), cbor::Value::bytes(std::move(sealed)));
    map.emplace_back(cbor::Value::uint(kSalt), cbor::Value::bytes(std::move(salt)));
    map.emplace_back(cbor::Value::uint(kOpsLimit), cbor::Value::uint(opslimit));
    map.emplace_back(cbor::Value::uint(kMemLimit), cbor::Value::uint(memlimit));
    map.emplace_back(cbor::Value::uint(kNonce), cbor::Value::bytes(std::move(nonce)));
  }
  cbor::Value value = cbor::Value::map(std::move(map));
  Bytes encoded = cbor::encode(value);
  auto written = create_file_durably(path, encoded, 0600);
  sodium_memzero(encoded.data(), encoded.size());
  return written;
}

Result<SigningKey> read_key_file(const std::string& path,
                                 const std::optional<Passphrase>& passphrase) {
  ensure_sodium();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(errno == ENOENT ? Errc::kNotFound : Errc::kIo,
                      "cannot read key file " + path + ": " + std::strerror(errno));
  }
  HOTLINE_ASSIGN(KeyFile file, parse_key_file(path));
  if (!file.sealed) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return make_error(Errc::kPermission,
                        "key file " + path + " holds a plain private key but has permissions " +
                            mode + "; it must be readable by its owner only (chmod 600 " + path +
                            ")");
    }
    HOTLINE_ASSIGN(SigningKey key, SigningKey::from_seed(file.secret));
    if (key.public_key() != file.public_key) {
      return corrupt(path, "the private key does not match the public key");
    }
    return key;
  }
  if (!passphrase) {
    return make_error(Errc::kPermission,
                      "key file " + path + " is sealed with a passphrase; give --passphrase-file");
  }
  HOTLINE_ASSIGN(auto box_key,
                 derive_box_key(*passphrase, file.salt, file.opslimit, file.memlimit));
  std::array<std::uint8_t, kSeedSize> seed;
  const int opened = crypto_secretbox_open_easy(seed.data(), file.secret.data(), file.secret.size(),
                                                file.nonce.data(), box_key.data());
  sodium_memzero(box_key.data(), box_key.size());
  if (opened != 0) {
    return make_error(Errc::kPermission,
                      "wrong passphrase for key file " + path + " (or the file was altered)");
  }
  auto key = SigningKey::from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (!key) {
    return key.error();
  }
  if (key->public_key() != file.public_key) {
    return corrupt(path, "the private key does not match the public key");
  }
  return std::move(key).value();
}

Result<PublicKey> read_public_key(const std::string& path) {
  HOTLINE_ASSIGN(KeyFile file, parse_key_file(path));
  return file.public_key;
}

Result<bool> key_file_is_sealed(const std::string& path) {
  HOTLINE_ASSIGN(KeyFile file, parse_key_file(path));
  return file.sealed;
}

}  // namespace hotline::crypto
