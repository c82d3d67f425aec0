// api/session_table.h — who is logged in to the API (design.md §6, "Console security").
//
// A session is a random 256-bit id, sent to the browser in an HttpOnly, Secure, SameSite=Strict
// cookie, and a separate random CSRF token that the console repeats in the X-CSRF-Token header of
// every state-changing call (a cross-site page can make the browser send the cookie, but cannot
// read the token). A session ends when its user logs out, when it has been idle for `idle`, or
// `max_age` after login, whichever comes first; times come from the injected clock, so that tests
// (and `serve --test-clock`) make sessions expire without waiting.
//
// Sessions live in memory only: a station that restarts logs everybody out, and no session id is
// ever on disk for someone to copy. Only a hash of each id is kept, so that the table compares
// secrets in constant time and holds nothing a memory dump could replay. Not thread-safe: the
// station uses it from its io thread.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "core/clock.h"

namespace hotline::api {

struct SessionLimits {
  Micros idle = 15 * 60 * std::int64_t{1'000'000};       // ended after this long without a call
  Micros max_age = 12 * 3600 * std::int64_t{1'000'000};  // ended this long after login regardless
  std::size_t max_sessions = 10'000;                     // the oldest is ended beyond this
};

struct Session {
  std::string user;
  std::string csrf_token;  // base64url, 43 characters
  std::string from;        // the address it logged in from
  Micros created_at = 0;
  Micros last_used_at = 0;
};

class SessionTable {
 public:
  SessionTable(const Clock& clock, SessionLimits limits) : clock_(clock), limits_(limits) {}

  // Starts a session for `user` and returns its id (base64url, 43 characters): the cookie value.
  std::string create(const std::string& user, const std::string& from);

  // The live session with id `id`, marked used now; nullptr if there is none or it expired (an
  // expired session is removed). The pointer is valid until the next call.
  Session* use(const std::string& id);
  // The same without marking it used (e.g. to tell an expired session from an unknown one).
  const Session* peek(const std::string& id) const;

  // Ends one session; ends every session of a user (disabled, password changed).
  void end(const std::string& id);
  void end_user(const std::string& user);

  std::size_t size() const { return sessions_.size(); }
  const SessionLimits& limits() const { return limits_; }

 private:
  bool expired(const Session& session, Micros now) const;
  void evict_oldest();

  const Clock& clock_;
  SessionLimits limits_;
  std::map<std::string, Session> sessions_;  // by hash of the id
};

// 32 random bytes as base64url without padding: session ids and CSRF tokens.
std::string random_token();

// Whether two tokens are equal, in time that does not depend on where they differ.
bool tokens_equal(const std::string& a, const std::string& b);

}  // namespace hotline::api
