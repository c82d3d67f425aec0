// api/login_guard.h — login rate limiting, per user and per address (design.md §6).
//
// Guessing passwords must be slow for an attacker and harmless to the people they target. Each
// wrong password (or TOTP code) is counted against the user name tried and against the address
// it came from; once either has had its limit of failures within the window, further attempts for
// that name or from that address are refused without looking at the password until the oldest
// failure leaves the window. The limits per address are looser, since several officers may sit
// behind one address. A success clears the user's count (not the address's: one right password must
// not let an address resume guessing other accounts).
//
// Times come from the injected clock. Memory is bounded: at most max_keys names and addresses are
// tracked; beyond that the least recently failed are forgotten. Not thread-safe: the station uses
// it from its io thread.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "core/clock.h"

namespace hotline::api {

struct LoginLimits {
  std::size_t failures_per_user = 5;
  std::size_t failures_per_address = 20;
  Micros window = 15 * 60 * std::int64_t{1'000'000};
  std::size_t max_keys = 100'000;
};

class LoginGuard {
 public:
  LoginGuard(const Clock& clock, LoginLimits limits) : clock_(clock), limits_(limits) {}

  // If `user` or `address` may not try now: how long until they may (at least one second).
  std::optional<Micros> refused_for(const std::string& user, const std::string& address);
  // A wrong password or code for `user` from `address`.
  void failed(const std::string& user, const std::string& address);
  // A successful login of `user`.
  void succeeded(const std::string& user);

 private:
  using Failures = std::map<std::string, std::deque<Micros>>;
  std::optional<Micros> wait_for(Failures& failures, const std::string& key, std::size_t limit,
                                 Micros now);
  void record(Failures& failures, const std::string& key, Micros now);

  const Clock& clock_;
  LoginLimits limits_;
  Failures by_user_;
  Failures by_address_;
};

}  // namespace hotline::api
