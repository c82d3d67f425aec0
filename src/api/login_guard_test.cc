#include "api/login_guard.h"

#include <gtest/gtest.h>

namespace hotline::api {
namespace {

constexpr Micros kMinute = 60'000'000;

class LoginGuardTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'800'000'000'000'000};
  LoginGuard guard_{clock_, LoginLimits{5, 20, 15 * kMinute, 1000}};
};

TEST_F(LoginGuardTest, FiveFailuresLockTheNameUntilTheOldestLeavesTheWindow) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(guard_.refused_for("ann", "10.0.0.1")) << i;
    guard_.failed("ann", "10.0.0.1");
    clock_.advance(kMinute);
  }
  auto wait = guard_.refused_for("ann", "10.0.0.2");  // from anywhere
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 10 * kMinute);  // the first failure was 5 min ago
  EXPECT_FALSE(guard_.refused_for("paul", "10.0.0.3"));
  clock_.advance(10 * kMinute);
  EXPECT_FALSE(guard_.refused_for("ann", "10.0.0.1"));
}

TEST_F(LoginGuardTest, AnAddressGuessingManyNamesIsLockedOut) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(guard_.refused_for("user" + std::to_string(i), "10.0.0.9"));
    guard_.failed("user" + std::to_string(i), "10.0.0.9");
  }
  EXPECT_TRUE(guard_.refused_for("someone-new", "10.0.0.9"));
  EXPECT_FALSE(guard_.refused_for("someone-new", "10.0.0.8"));
}

TEST_F(LoginGuardTest, SuccessClearsTheNameButNotTheAddress) {
  for (int i = 0; i < 4; ++i) {
    guard_.failed("ann", "10.0.0.1");
  }
  guard_.succeeded("ann");
  for (int i = 0; i < 4; ++i) {
    guard_.failed("ann", "10.0.0.1");
  }
  EXPECT_FALSE(guard_.refused_for("ann", "10.0.0.1"));
  guard_.failed("ann", "10.0.0.1");
  EXPECT_TRUE(guard_.refused_for("ann", "10.0.0.1"));
}

TEST_F(LoginGuardTest, RetryAfterIsAtLeastOneSecond) {
  LoginGuard strict(clock_, LoginLimits{1, 20, 1000, 10});
  strict.failed("ann", "a");
  auto wait = strict.refused_for("ann", "a");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1'000'000);
}

TEST_F(LoginGuardTest, MemoryIsBounded) {
  LoginGuard small(clock_, LoginLimits{1, 1000, 15 * kMinute, 10});
  for (int i = 0; i < 100; ++i) {
    small.failed("user" + std::to_string(i), "a" + std::to_string(i));
  }
  // The most recent are remembered; the first were forgotten to make room.
  EXPECT_TRUE(small.refused_for("user99", "z"));
  EXPECT_FALSE(small.refused_for("user0", "z"));
}

}  // namespace
}  // namespace hotline::api
