#include "api/session_table.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace hotline::api {
namespace {

std::string base64url(const unsigned char* data, std::size_t size) {
  std::string text(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(std::strlen(text.c_str()));
  return text;
}

// The key under which a session is kept: a hash of its id, so that looking it up compares hashes
// (a timing difference reveals nothing usable) and the table holds no replayable secret.
std::string id_hash(const std::string& id) {
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof(hash), reinterpret_cast<const unsigned char*>(id.data()),
                     id.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(hash), sizeof(hash));
}

}  // namespace

std::string random_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  return base64url(bytes, sizeof(bytes));
}

bool tokens_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string SessionTable::create(const std::string& user, const std::string& from) {
  if (sessions_.size() >= limits_.max_sessions) {
    evict_oldest();
  }
  const Micros now = clock_.now();
  std::string id = random_token();
  sessions_[id_hash(id)] = Session{user, random_token(), from, now, now};
  return id;
}

bool SessionTable::expired(const Session& session, Micros now) const {
  return now - session.last_used_at >= limits_.idle || now - session.created_at >= limits_.max_age;
}

Session* SessionTable::use(const std::string& id) {
  auto it = sessions_.find(id_hash(id));
  if (it == sessions_.end()) {
    return nullptr;
  }
  const Micros now = clock_.now();
  if (expired(it->second, now)) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.last_used_at = std::max(it->second.last_used_at, now);
  return &it->second;
}

const Session* SessionTable::peek(const std::string& id) const {
  auto it = sessions_.find(id_hash(id));
  return it == sessions_.end() || expired(it->second, clock_.now()) ? nullptr : &it->second;
}

void SessionTable::end(const std::string& id) { sessions_.erase(id_hash(id)); }

void SessionTable::end_user(const std::string& user) {
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.user == user; });
}

void SessionTable::evict_oldest() {
  auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
    return a.second.last_used_at < b.second.last_used_at;
  });
  if (oldest != sessions_.end()) {
    sessions_.erase(oldest);
  }
}

}  // namespace hotline::api
