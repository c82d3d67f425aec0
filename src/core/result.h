// core/result.h — errors as values.
//
// Every fallible operation on the data path returns `Result<T>`: either a value or an `Error`
// carrying a category (`Errc`, which the CLI maps to exit codes) and a message that says what was
// wrong and where. Exceptions are reserved for start-up and configuration (style.md).
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <variant>

namespace hotline {

// Categories of failure. They are coarse on purpose: callers branch on the category, people read
// the message.
enum class Errc {
  kInvalidArgument,  // the caller passed something malformed (bad flag, bad hex, empty name)
  kMalformed,        // bytes from outside do not parse (non-canonical CBOR, trailing bytes)
  kBadSignature,     // a signature does not verify
  kBrokenChain,      // sequence, previous-hash or cross-link mismatch
  kConflict,         // two different items claim the same place (equivocation, divergence)
  kNotFound,         // the named thing does not exist
  kPermission,       // file permissions or a wrong passphrase
  kRefused,          // the state does not allow the action
  kIo,               // the disk or the operating system failed
  kCorrupt,          // a database or key file is damaged or foreign
  kInternal,         // a bug: an invariant did not hold
  kUnavailable,      // not possible now, possible later (e.g. the line has not connected yet)
};

const char* errc_name(Errc code);

struct Error {
  Errc code;
  std::string message;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// A value or an error. Accessing the wrong alternative is a bug and aborts with a message.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check_value();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check_value();
    return std::get<0>(state_);
  }
  T&& value() && {
    check_value();
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    if (ok()) {
      std::cerr << "hotline: internal error: error() called on a successful Result\n";
      std::abort();
    }
    return std::get<1>(state_);
  }

 private:
  void check_value() const {
    if (!ok()) {
      std::cerr << "hotline: internal error: value() called on a failed Result: "
                << std::get<1>(state_).message << "\n";
      std::abort();
    }
  }

  std::variant<T, Error> state_;
};

struct Unit {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    if (ok_) {
      std::cerr << "hotline: internal error: error() called on a successful Result\n";
      std::abort();
    }
    return error_;
  }

 private:
  Error error_{Errc::kInternal, ""};
  bool ok_ = true;
};

inline Result<void> success() { return Result<void>(); }

}  // namespace hotline

// Propagates the error of an expression returning Result<...>, else yields nothing.
#define HOTLINE_TRY(expr)                 \
  do {                                    \
    auto hotline_try_result_ = (expr);    \
    if (!hotline_try_result_.ok()) {      \
      return hotline_try_result_.error(); \
    }                                     \
  } while (false)

#define HOTLINE_CONCAT_INNER(a, b) a##b
#define HOTLINE_CONCAT(a, b) HOTLINE_CONCAT_INNER(a, b)

// Declares `lhs` from the value of a Result expression, or returns its error.
#define HOTLINE_ASSIGN(lhs, expr) \
  HOTLINE_ASSIGN_IMPL(HOTLINE_CONCAT(hotline_r_, __LINE__), lhs, expr)
#define HOTLINE_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                        \
  if (!tmp.ok()) {                          \
    return tmp.error();                     \
  }                                         \
  lhs = std::move(tmp).value()
