#include "api/login_guard.h"

#include <algorithm>

namespace hotline::api {

std::optional<Micros> LoginGuard::wait_for(Failures& failures, const std::string& key,
                                           std::size_t limit, Micros now) {
  auto it = failures.find(key);
  if (it == failures.end()) {
    return std::nullopt;
  }
  std::deque<Micros>& times = it->second;
  while (!times.empty() && now - times.front() >= limits_.window) {
    times.pop_front();
  }
  if (times.empty()) {
    failures.erase(it);
    return std::nullopt;
  }
  if (times.size() < limit) {
    return std::nullopt;
  }
  // Free again once enough failures have left the window to be under the limit.
  const Micros free_at = times[times.size() - limit] + limits_.window;
  return std::max<Micros>(free_at - now, 1'000'000);
}

std::optional<Micros> LoginGuard::refused_for(const std::string& user, const std::string& address) {
  const Micros now = clock_.now();
  auto user_wait = wait_for(by_user_, user, limits_.failures_per_user, now);
  auto address_wait = wait_for(by_address_, address, limits_.failures_per_address, now);
  if (user_wait && address_wait) {
    return std::max(*user_wait, *address_wait);
  }
  return user_wait ? user_wait : address_wait;
}

void LoginGuard::record(Failures& failures, const std::string& key, Micros now) {
  if (failures.size() >= limits_.max_keys && failures.find(key) == failures.end()) {
    auto least_recent = std::min_element(failures.begin(), failures.end(), [](auto& a, auto& b) {
      return a.second.back() < b.second.back();
    });
    failures.erase(least_recent);
  }
  std::deque<Micros>& times = failures[key];
  times.push_back(now);
  // Only the last `limit` failures decide anything; older ones need not be kept.
  const std::size_t keep = std::max(limits_.failures_per_user, limits_.failures_per_address);
  while (times.size() > keep) {
    times.pop_front();
  }
}

void LoginGuard::failed(const std::string& user, const std::string& address) {
  const Micros now = clock_.now();
  record(by_user_, user, now);
  record(by_address_, address, now);
}

void LoginGuard::succeeded(const std::string& user) { by_user_.erase(user); }

}  // namespace hotline::api
