// run_checks(): checks run concurrently, each under its own deadline; late, failing and
// throwing checks become timed_out / error outcomes; answers come back in pipeline order.
// Time is a manual clock (io::ClockOverride): the tests advance it and see when the runner
// answers, with no sleeps and no wall-clock assertions.
#include "policy/pipeline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "common/clock.hpp"
#include "io/clock.hpp"
#include "io/manual_time.hpp"

namespace mxgate::policy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using reputation::Signal;
using reputation::Verdict;

reputation::CheckSettings settings(std::string_view name, std::chrono::milliseconds timeout = 1s) {
  reputation::CheckSettings s;
  s.name = name;
  s.timeout = timeout;
  return s;
}

// A check that answers `verdict` after `delay` on io::Clock; counts in `finished` when it did.
PendingCheck after(std::string_view name, std::chrono::milliseconds delay, Verdict verdict,
                   std::chrono::milliseconds timeout = 1s,
                   std::shared_ptr<int> finished = std::make_shared<int>()) {
  return PendingCheck{settings(name, timeout),
                      [delay, verdict, finished]() -> asio::awaitable<CheckResult> {
                        io::Timer timer(co_await asio::this_coro::executor, delay);
                        co_await timer.async_wait(asio::use_awaitable);
                        ++*finished;
                        co_return CheckResult{{verdict}};
                      }};
}

// Runs the checks on a manual clock; the test moves time with advance().
class RunChecks : public ::testing::Test {
 protected:
  void start(std::vector<PendingCheck> checks) {
    outcomes_.clear();
    answered_at_.reset();
    asio::co_spawn(io_, run_checks(std::move(checks)),
                   [this](std::exception_ptr error, std::vector<reputation::CheckOutcome> out) {
                     if (error) std::rethrow_exception(error);
                     outcomes_ = std::move(out);
                     answered_at_ = clock_.now().time_since_epoch();
                   });
    io::run_due(io_);
  }
  void advance(common::Clock::duration step) { io::advance(io_, clock_, step); }
  bool answered() const { return answered_at_.has_value(); }
  // Runs checks that answer without waiting (or fail at once).
  std::vector<reputation::CheckOutcome> run_now(std::vector<PendingCheck> checks) {
    start(std::move(checks));
    EXPECT_TRUE(answered());
    return outcomes_;
  }

  common::ManualClock clock_;
  io::ClockOverride use_{clock_};
  asio::io_context io_;
  std::vector<reputation::CheckOutcome> outcomes_;
  std::optional<common::Clock::duration> answered_at_;
};

TEST_F(RunChecks, NoChecksIsNoOutcomes) { EXPECT_TRUE(run_now({}).empty()); }

TEST_F(RunChecks, SlowChecksOverlapAndAnswerInPipelineOrder) {
  std::vector<PendingCheck> checks;
  checks.push_back(after("slow", 150ms, Verdict::cont(1, Signal::RdnsMissing, "a")));
  checks.push_back(after("fast", 0ms, Verdict::reject(Signal::ManualBlock, "b")));
  checks.push_back(after("middle", 150ms, Verdict::cont(2, Signal::HeloInvalid, "c")));
  start(std::move(checks));
  EXPECT_FALSE(answered());
  advance(149ms);
  EXPECT_FALSE(answered()) << "both 150 ms checks are still running";
  advance(1ms);
  ASSERT_TRUE(answered()) << "the two 150 ms checks overlap: 150 ms, not 300";
  EXPECT_EQ(*answered_at_, 150ms);
  ASSERT_EQ(outcomes_.size(), 3u);
  EXPECT_EQ(outcomes_[0].settings.name, "slow");
  EXPECT_EQ(outcomes_[0].verdict.signal, Signal::RdnsMissing);
  EXPECT_EQ(outcomes_[1].verdict.signal, Signal::ManualBlock);
  EXPECT_EQ(outcomes_[2].verdict.signal, Signal::HeloInvalid);
  for (const auto& o : outcomes_) EXPECT_FALSE(o.error || o.timed_out);
}

TEST_F(RunChecks, TheRunnerAnswersWhenTheSlowestCheckDoes) {
  std::vector<PendingCheck> checks;
  checks.push_back(after("quick", 20ms, Verdict::cont(1, Signal::RdnsGeneric, "q")));
  checks.push_back(after("slower", 300ms, Verdict::cont(1, Signal::HeloMismatch, "s")));
  start(std::move(checks));
  advance(20ms);
  EXPECT_FALSE(answered()) << "one answer is not all of them";
  advance(279ms);
  EXPECT_FALSE(answered());
  advance(1ms);
  ASSERT_TRUE(answered());
  EXPECT_EQ(*answered_at_, 300ms);
  ASSERT_EQ(outcomes_.size(), 2u);
  EXPECT_EQ(outcomes_[1].verdict.reason, "s");
}

// A check whose `now` answers is never started; one whose `now` declines runs as usual, and
// the outcomes keep pipeline order either way.
TEST_F(RunChecks, ChecksAnsweredNowStartNoCoroutine) {
  int started = 0;
  auto counted = [&started](std::string_view name, std::optional<CheckResult> now) {
    PendingCheck check = after(name, 10ms, Verdict::cont(1, Signal::RdnsGeneric, "fetched"));
    auto run = std::move(check.run);
    check.run = [&started, run] {
      ++started;
      return run();
    };
    check.now = [now] { return now; };
    return check;
  };
  std::vector<PendingCheck> checks;
  checks.push_back(counted("cached", CheckResult{{Verdict::cont(2, Signal::HeloInvalid, "now")}}));
  checks.push_back(counted("needs_fetch", std::nullopt));
  checks.push_back(counted("cached_error", CheckResult{{}, true, "cached SERVFAIL"}));
  start(std::move(checks));
  EXPECT_EQ(started, 1);
  advance(10ms);
  ASSERT_TRUE(answered());
  ASSERT_EQ(outcomes_.size(), 3u);
  EXPECT_EQ(outcomes_[0].verdict.reason, "now");
  EXPECT_EQ(outcomes_[1].verdict.reason, "fetched");
  EXPECT_TRUE(outcomes_[2].error);
  EXPECT_EQ(outcomes_[2].verdict.reason, "cached SERVFAIL");

  started = 0;
  checks.clear();
  checks.push_back(counted("a", CheckResult{}));
  checks.push_back(counted("b", CheckResult{{Verdict::reject(Signal::ManualBlock, "x")}}));
  const auto now = run_now(std::move(checks));
  EXPECT_EQ(started, 0);
  EXPECT_EQ(*answered_at_, 10ms) << "answered at once, no time passed";
  ASSERT_EQ(now.size(), 1u) << "a check without verdicts has no outcome";
  EXPECT_EQ(now[0].settings.name, "b");
}

TEST_F(RunChecks, ACheckPastItsDeadlineTimesOutExactlyThenWithoutHoldingTheOthers) {
  auto finished = std::make_shared<int>(0);
  std::vector<PendingCheck> checks;
  checks.push_back(
      after("hangs", 600ms, Verdict::cont(9, Signal::DnsblListed, "late"), 50ms, finished));
  checks.push_back(after("ok", 10ms, Verdict::cont(1, Signal::RdnsGeneric, "fine")));
  start(std::move(checks));
  advance(49ms);
  EXPECT_FALSE(answered()) << "the hanging check still has 1 ms";
  advance(1ms);
  ASSERT_TRUE(answered()) << "decided at the hanging check's deadline, not when it finishes";
  EXPECT_EQ(*answered_at_, 50ms);
  ASSERT_EQ(outcomes_.size(), 2u);
  EXPECT_TRUE(outcomes_[0].timed_out);
  EXPECT_EQ(outcomes_[0].settings.name, "hangs");
  EXPECT_EQ(outcomes_[1].verdict.signal, Signal::RdnsGeneric);
  // The late check is not cancelled: it finishes on its own, and its answer is dropped.
  EXPECT_EQ(*finished, 0);
  advance(550ms);
  EXPECT_EQ(*finished, 1);
  EXPECT_TRUE(outcomes_[0].timed_out);
}

TEST_F(RunChecks, EachCheckHasItsOwnDeadline) {
  std::vector<PendingCheck> checks;
  checks.push_back(after("short", 1s, Verdict::cont(1, Signal::RdnsGeneric, "a"), 100ms));
  checks.push_back(after("long", 250ms, Verdict::cont(1, Signal::HeloMismatch, "b"), 500ms));
  start(std::move(checks));
  advance(100ms);
  EXPECT_FALSE(answered()) << "the long check is within its deadline";
  advance(150ms);
  ASSERT_TRUE(answered());
  EXPECT_EQ(*answered_at_, 250ms);
  ASSERT_EQ(outcomes_.size(), 2u);
  EXPECT_TRUE(outcomes_[0].timed_out);
  EXPECT_FALSE(outcomes_[1].timed_out);
  EXPECT_EQ(outcomes_[1].verdict.reason, "b");
}

TEST_F(RunChecks, ErrorsAndExceptionsBecomeErrorOutcomes) {
  std::vector<PendingCheck> checks;
  checks.push_back(PendingCheck{settings("fails"), []() -> asio::awaitable<CheckResult> {
                                  co_return CheckResult{{}, true, "store read failed"};
                                }});
  checks.push_back(PendingCheck{settings("throws"), []() -> asio::awaitable<CheckResult> {
                                  throw std::runtime_error("boom");
                                  co_return CheckResult{};
                                }});
  checks.push_back(PendingCheck{settings("silent"),
                                []() -> asio::awaitable<CheckResult> { co_return CheckResult{}; }});
  const auto outcomes = run_now(std::move(checks));
  ASSERT_EQ(outcomes.size(), 2u) << "a check with no verdicts adds no outcome";
  EXPECT_TRUE(outcomes[0].error);
  EXPECT_EQ(outcomes[0].verdict.reason, "store read failed");
  EXPECT_TRUE(outcomes[1].error);
  EXPECT_EQ(outcomes[1].verdict.reason, "boom");
}

TEST_F(RunChecks, SeveralVerdictsOfOneCheckStayTogether) {
  std::vector<PendingCheck> checks;
  checks.push_back(PendingCheck{settings("history"), []() -> asio::awaitable<CheckResult> {
                                  co_return CheckResult{
                                      {Verdict::cont(3, Signal::RejectRatio, "r"),
                                       Verdict::cont(0, Signal::FirstSeenRecently, "f")}};
                                }});
  const auto outcomes = run_now(std::move(checks));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].settings.name, "history");
  EXPECT_EQ(outcomes[1].verdict.signal, Signal::FirstSeenRecently);
}

TEST(AnswerNow, ChecksThatWouldWaitAreErrors) {
  std::vector<PendingCheck> checks;
  checks.push_back(PendingCheck{
      settings("memory"), {}, [] {
        return std::optional(CheckResult{{Verdict::drop(Signal::RateLimited, "over the limit")}});
      }});
  checks.push_back(PendingCheck{settings("fetches"),
                                []() -> asio::awaitable<CheckResult> { co_return CheckResult{}; },
                                [] { return std::optional<CheckResult>(); }});
  const auto outcomes = answer_now(std::move(checks));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].verdict.action, reputation::Action::Drop);
  EXPECT_TRUE(outcomes[1].error);
  EXPECT_EQ(outcomes[1].verdict.reason, "no answer without waiting");
}

}  // namespace
}  // namespace mxgate::policy
