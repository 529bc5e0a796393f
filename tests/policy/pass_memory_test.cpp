// PassMemory: clients that passed the greet pause, remembered until their time runs out, within
// a bound.
#include "policy/pass_memory.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mxgate::policy {
namespace {

using namespace std::chrono_literals;

TEST(PassMemory, RemembersUntilTheTimeRunsOut) {
  PassMemory memory;
  const auto now = PassMemory::Clock::now();
  EXPECT_FALSE(memory.passed("192.0.2.7", now));
  memory.remember("192.0.2.7", now + 10s);
  EXPECT_TRUE(memory.passed("192.0.2.7", now + 9s));
  EXPECT_FALSE(memory.passed("192.0.2.7", now + 10s));
  EXPECT_EQ(memory.size(), 0u) << "an expired entry goes when it is looked up";
}

TEST(PassMemory, StaysWithinItsBound) {
  PassMemory memory(1600);  // 100 per stripe
  const auto until = PassMemory::Clock::now() + 1h;
  for (int i = 0; i < 20000; ++i) memory.remember("10.0." + std::to_string(i), until);
  EXPECT_LE(memory.size(), 1600u + 16u);
  memory.remember("192.0.2.1", until);
  EXPECT_TRUE(memory.passed("192.0.2.1", PassMemory::Clock::now())) << "the newest is kept";
}

}  // namespace
}  // namespace mxgate::policy
