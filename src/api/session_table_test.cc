#include "api/session_table.h"

#include <gtest/gtest.h>

#include <set>

namespace hotline::api {
namespace {

constexpr Micros kMinute = 60'000'000;

class SessionTableTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'800'000'000'000'000};
  SessionTable sessions_{clock_, SessionLimits{15 * kMinute, 12 * 60 * kMinute, 3}};
};

TEST_F(SessionTableTest, ASessionIsFoundByItsIdAndCarriesAnUnguessableCsrfToken) {
  const std::string id = sessions_.create("ann", "127.0.0.1:1");
  EXPECT_EQ(id.size(), 43u);
  Session* session = sessions_.use(id);
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->user, "ann");
  EXPECT_EQ(session->csrf_token.size(), 43u);
  EXPECT_NE(session->csrf_token, id);
  EXPECT_EQ(sessions_.use(id + "x"), nullptr);
  EXPECT_EQ(sessions_.use(""), nullptr);
}

TEST_F(SessionTableTest, IdsAndTokensAreAllDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(random_token());
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(SessionTableTest, IdleSessionsExpireAndUseKeepsThemAlive) {
  const std::string id = sessions_.create("ann", "a");
  clock_.advance(14 * kMinute);
  ASSERT_NE(sessions_.use(id), nullptr);  // renews
  clock_.advance(14 * kMinute);
  ASSERT_NE(sessions_.peek(id), nullptr);  // does not renew
  clock_.advance(1 * kMinute);
  EXPECT_EQ(sessions_.peek(id), nullptr);
  EXPECT_EQ(sessions_.use(id), nullptr);
}

TEST_F(SessionTableTest, ASessionEndsAtItsMaximumAgeHoweverBusy) {
  const std::string id = sessions_.create("ann", "a");
  for (int i = 0; i < 12 * 6 - 1; ++i) {
    clock_.advance(10 * kMinute);
    ASSERT_NE(sessions_.use(id), nullptr) << i;
  }
  clock_.advance(10 * kMinute);
  EXPECT_EQ(sessions_.use(id), nullptr);
}

TEST_F(SessionTableTest, EndingAUserEndsAllTheirSessionsOnly) {
  const std::string a1 = sessions_.create("ann", "a");
  const std::string a2 = sessions_.create("ann", "b");
  const std::string p = sessions_.create("paul", "c");
  sessions_.end_user("ann");
  EXPECT_EQ(sessions_.use(a1), nullptr);
  EXPECT_EQ(sessions_.use(a2), nullptr);
  EXPECT_NE(sessions_.use(p), nullptr);
  sessions_.end(p);
  EXPECT_EQ(sessions_.use(p), nullptr);
}

TEST_F(SessionTableTest, BeyondTheLimitTheLeastRecentlyUsedSessionEnds) {
  const std::string a = sessions_.create("a", "x");
  clock_.advance(1);
  const std::string b = sessions_.create("b", "x");
  clock_.advance(1);
  const std::string c = sessions_.create("c", "x");
  clock_.advance(1);
  ASSERT_NE(sessions_.use(a), nullptr);  // b is now the least recently used
  const std::string d = sessions_.create("d", "x");
  EXPECT_EQ(sessions_.size(), 3u);
  EXPECT_EQ(sessions_.use(b), nullptr);
  EXPECT_NE(sessions_.use(a), nullptr);
  EXPECT_NE(sessions_.use(d), nullptr);
}

TEST(Tokens, CompareEqualOnlyWhenIdentical) {
  EXPECT_TRUE(tokens_equal("abc", "abc"));
  EXPECT_FALSE(tokens_equal("abc", "abd"));
  EXPECT_FALSE(tokens_equal("abc", "abcd"));
  EXPECT_FALSE(tokens_equal("", "a"));
}

}  // namespace
}  // namespace hotline::api
