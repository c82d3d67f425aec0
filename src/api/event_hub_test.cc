#include "api/event_hub.h"

#include <gtest/gtest.h>

namespace hotline::api {
namespace {

class EventHubTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'800'000'000'000'000};
  EventHub hub_{clock_, 5};

  void publish(int n) {
    for (int i = 0; i < n; ++i) {
      hub_.publish("entry", {{"i", i}}, procedure::Action::kReadRecord);
    }
  }
};

TEST_F(EventHubTest, ListenersGetEveryEventOnceInOrder) {
  std::vector<std::uint64_t> got;
  const std::uint64_t token = hub_.subscribe([&](const Event& e) { got.push_back(e.number); });
  publish(3);
  hub_.unsubscribe(token);
  publish(1);
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_F(EventHubTest, ResumesAfterAnIdWithNoGap) {
  publish(3);
  const std::string after = hub_.id_of(*hub_.since(hub_.last_id().substr(0, 16) + "-0")->begin());
  publish(2);
  auto missed = hub_.since(after);
  ASSERT_TRUE(missed);
  ASSERT_EQ(missed->size(), 4u);
  EXPECT_EQ(missed->front().number, 2u);
  EXPECT_EQ(missed->back().number, 5u);
  EXPECT_TRUE(hub_.since(hub_.last_id())->empty());
}

TEST_F(EventHubTest, AnIdItCannotResumeFromIsRefused) {
  publish(8);  // keeps 4..8
  const std::string epoch = hub_.last_id().substr(0, hub_.last_id().rfind('-'));
  EXPECT_FALSE(hub_.since(epoch + "-2"));          // 3 is gone
  EXPECT_TRUE(hub_.since(epoch + "-3"));           // 4..8 are all here
  EXPECT_FALSE(hub_.since(epoch + "-9"));          // not published yet
  EXPECT_FALSE(hub_.since("0000000000000000-3"));  // another start
  EXPECT_FALSE(hub_.since(epoch + "-x"));
  EXPECT_FALSE(hub_.since(epoch + "-"));
  EXPECT_FALSE(hub_.since("nonsense"));
}

TEST_F(EventHubTest, EachStartHasItsOwnEpoch) {
  EventHub other(clock_, 5);
  EXPECT_NE(hub_.last_id(), other.last_id());
}

TEST_F(EventHubTest, AListenerMayUnsubscribeWhileBeingCalled) {
  std::uint64_t token = 0;
  int calls = 0;
  token = hub_.subscribe([&](const Event&) {
    ++calls;
    hub_.unsubscribe(token);
  });
  publish(2);
  EXPECT_EQ(calls, 1);
}

TEST_F(EventHubTest, TheStreamFormCarriesIdTypeTimeAndData) {
  publish(1);
  const Event event = hub_.since(hub_.last_id().substr(0, 16) + "-0")->front();
  const nlohmann::json json = hub_.to_json(event);
  EXPECT_EQ(json["id"], hub_.last_id());
  EXPECT_EQ(json["type"], "entry");
  EXPECT_EQ(json["at_us"], clock_.now());
  EXPECT_EQ(json["data"]["i"], 0);
}

}  // namespace
}  // namespace hotline::api
