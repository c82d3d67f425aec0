// crypto/passphrase.h — a passphrase or password held in memory: move-only, never printed, wiped
// on destruction.
#pragma once

#include <istream>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotline::crypto {

class Passphrase {
 public:
  explicit Passphrase(std::string text) : text_(std::move(text)) {}
  Passphrase(Passphrase&& other) noexcept;
  Passphrase& operator=(Passphrase&& other) noexcept;
  Passphrase(const Passphrase&) = delete;
  Passphrase& operator=(const Passphrase&) = delete;
  ~Passphrase();

  std::string_view reveal() const { return text_; }
  bool empty() const { return text_.empty(); }

  // Reads the first line of `path` (without its line ending). An empty passphrase is an error.
  static Result<Passphrase> read_file(const std::string& path);

  // Reads the first line of `in` (without its line ending: "\n" or "\r\n"). `source` names where
  // it comes from in errors ("standard input", "password file F"): kInvalidArgument when the
  // line is empty or there is none, kIo when reading fails.
  static Result<Passphrase> read_line(std::istream& in, const std::string& source);

 private:
  void wipe();
  std::string text_;
};

}  // namespace hotline::crypto
