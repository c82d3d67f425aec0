#include "api/routes.h"

#include <gtest/gtest.h>

#include <set>

namespace hotline::api {
namespace {

using procedure::Action;

TEST(Routes, MatchesTemplatesAndDecodesTheirSegments) {
  RouteMatch match = match_route("POST", "/api/v1/lines/ab%20c/requests/3fa9c2d1-12/ack");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->pattern, "/api/v1/lines/{line}/requests/{id}/ack");
  EXPECT_EQ(match.route->action, Action::kAcknowledge);
  EXPECT_TRUE(match.route->acts);
  EXPECT_EQ(match.params, (std::vector<std::string>{"ab c", "3fa9c2d1-12"}));
}

TEST(Routes, AKnownPathWithAnotherMethodIsTold) {
  RouteMatch match = match_route("PUT", "/api/v1/lines/ab/requests");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_TRUE(match.path_known);
  match = match_route("GET", "/api/v1/lines/ab/nothing");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_FALSE(match.path_known);
}

TEST(Routes, EmptyOrMalformedSegmentsDoNotMatch) {
  EXPECT_EQ(match_route("GET", "/api/v1/lines//requests").route, nullptr);
  EXPECT_EQ(match_route("GET", "/api/v1/lines/a%2Fb/requests").route, nullptr);
  EXPECT_EQ(match_route("GET", "/api/v1/lines/a%zz/requests").route, nullptr);
  EXPECT_EQ(match_route("GET", "/api/v1/lines/a%2/requests").route, nullptr);
  EXPECT_EQ(match_route("GET", "/api/v1/lines/ab/requests/").route, nullptr);
}

TEST(Routes, OnlyHealthMetricsAndLoginArePublic) {
  std::set<std::string> public_routes;
  for (const Route& route : all_routes()) {
    if (route.access == Access::kPublic) {
      public_routes.insert(std::string(route.method) + " " + std::string(route.pattern));
    }
  }
  EXPECT_EQ(public_routes,
            (std::set<std::string>{"GET /healthz", "GET /metrics", "POST /api/v1/session"}));
}

TEST(Routes, EveryRouteThatActsChangesStateAndNeedsAnAction) {
  for (const Route& route : all_routes()) {
    if (route.acts) {
      EXPECT_TRUE(changes_state(route.method)) << route.pattern;
      EXPECT_EQ(route.access, Access::kAction) << route.pattern;
    }
  }
}

TEST(Routes, NoTwoRoutesShareAMethodAndPattern) {
  std::set<std::string> seen;
  for (const Route& route : all_routes()) {
    EXPECT_TRUE(seen.insert(std::string(route.method) + " " + std::string(route.pattern)).second)
        << route.pattern;
  }
}

TEST(PercentDecode, DecodesAndRefusesWhatCouldEscapeASegment) {
  EXPECT_EQ(percent_decode("a%41b"), "aAb");
  EXPECT_EQ(percent_decode("plain"), "plain");
  EXPECT_FALSE(percent_decode("%2f"));
  EXPECT_FALSE(percent_decode("%00"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%"));
}

}  // namespace
}  // namespace hotline::api
