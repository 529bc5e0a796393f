// ReadBudget: a command line has its limit in all; content loses the time spent waiting and
// earns 1/min_rate seconds per byte up to the limit; with no minimum rate, every read that
// brings bytes starts the limit again.
#include "server/read_budget.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace mxgate::server {
namespace {

using namespace std::chrono_literals;

TEST(ReadBudget, ACommandLineHasItsLimitInAllHoweverItsBytesArrive) {
  auto budget = ReadBudget::command(300s);
  budget.spent(100s, 1);
  budget.spent(100s, 1);
  EXPECT_EQ(budget.left(), 100s);
  EXPECT_FALSE(budget.exhausted());
  budget.spent(100s, 1000);
  EXPECT_TRUE(budget.exhausted());
}

TEST(ReadBudget, ContentEarnsTimeAtTheMinimumRateUpToTheLimit) {
  auto budget = ReadBudget::content(180s, 500);
  budget.spent(60s, 500);  // -60 s, +1 s
  EXPECT_EQ(budget.left(), 121s);
  budget.spent(1s, 500 * 1000);  // earns 1000 s, capped
  EXPECT_EQ(budget.left(), 180s);
  budget.spent(180s, 0);
  EXPECT_TRUE(budget.exhausted());
}

TEST(ReadBudget, ContentSlowerThanTheRateRunsOut) {
  auto budget = ReadBudget::content(180s, 500);
  int reads = 0;
  while (!budget.exhausted() && reads < 1000) {
    budget.spent(1s, 250);  // half the rate: loses 0.5 s a second
    ++reads;
  }
  EXPECT_EQ(reads, 360);
}

TEST(ReadBudget, WithoutAMinimumRateEachReadThatBringsBytesStartsAgain) {
  auto budget = ReadBudget::content(180s, 0);
  budget.spent(179s, 1);
  EXPECT_EQ(budget.left(), 180s);
  budget.spent(100s, 0);  // woken without bytes
  EXPECT_EQ(budget.left(), 80s);
}

}  // namespace
}  // namespace mxgate::server
