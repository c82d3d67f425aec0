#include "crypto/passphrase.h"

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace hotline::crypto {

Passphrase::Passphrase(Passphrase&& other) noexcept : text_(std::move(other.text_)) {
  other.wipe();
}

Passphrase& Passphrase::operator=(Passphrase&& other) noexcept {
  if (this != &other) {
    wipe();
    text_ = std::move(other.text_);
    other.wipe();
  }
  return *this;
}

Passphrase::~Passphrase() { wipe(); }

void Passphrase::wipe() {
  if (!text_.empty()) {
    sodium_memzero(text_.data(), text_.size());
  }
  text_.clear();
}

Result<Passphrase> Passphrase::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::kIo,
                      "cannot read passphrase file " + path + ": " + std::strerror(errno));
  }
  return read_line(in, "passphrase file " + path);
}

Result<Passphrase> Passphrase::read_line(std::istream& in, const std::string& source) {
  std::string line;
  std::getline(in, line);
  if (in.bad()) {
    return make_error(Errc::kIo, "cannot read " + source);
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  Passphrase passphrase(std::move(line));
  // A short line lives in the string object itself, and moving it copies rather than steals it:
  // wipe what the move may have left behind.
  sodium_memzero(line.data(), line.capacity());
  if (passphrase.empty()) {
    return make_error(Errc::kInvalidArgument, source + " is empty");
  }
  return passphrase;
}

}  // namespace hotline::crypto
