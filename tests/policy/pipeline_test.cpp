// run_checks(): checks run concurrently, each under its own deadline; late, failing and
// throwing checks become timed_out / error outcomes; answers come back in pipeline order.
#include "policy/pipeline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>

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

// A check that answers `verdict` after `delay`.
PendingCheck after(std::string_view name, std::chrono::milliseconds delay, Verdict verdict,
                   std::chrono::milliseconds timeout = 1s) {
  return PendingCheck{settings(name, timeout), [delay, verdict]() -> asio::awaitable<CheckResult> {
                        asio::steady_timer timer(co_await asio::this_coro::executor, delay);
                        co_await timer.async_wait(asio::use_awaitable);
                        co_return CheckResult{{verdict}};
                      }};
}

struct Run {
  std::vector<reputation::CheckOutcome> outcomes;
  std::chrono::steady_clock::duration took{};
};

Run run(std::vector<PendingCheck> checks) {
  asio::io_context io;
  Run result;
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(io, run_checks(std::move(checks)),
                 [&](std::exception_ptr error, std::vector<reputation::CheckOutcome> outcomes) {
                   if (error) std::rethrow_exception(error);
                   result.took = std::chrono::steady_clock::now() - started;
                   result.outcomes = std::move(outcomes);
                 });
  io.run();  // also lets stragglers finish after the runner answered
  return result;
}

TEST(RunChecks, NoChecksIsNoOutcomes) { EXPECT_TRUE(run({}).outcomes.empty()); }

TEST(RunChecks, ChecksRunConcurrentlyAndAnswerInPipelineOrder) {
  std::vector<PendingCheck> checks;
  checks.push_back(after("slow", 150ms, Verdict::cont(1, Signal::RdnsMissing, "a")));
  checks.push_back(after("fast", 0ms, Verdict::reject(Signal::ManualBlock, "b")));
  checks.push_back(after("middle", 150ms, Verdict::cont(2, Signal::HeloInvalid, "c")));
  const auto r = run(std::move(checks));
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_EQ(r.outcomes[0].settings.name, "slow");
  EXPECT_EQ(r.outcomes[0].verdict.signal, Signal::RdnsMissing);
  EXPECT_EQ(r.outcomes[1].verdict.signal, Signal::ManualBlock);
  EXPECT_EQ(r.outcomes[2].verdict.signal, Signal::HeloInvalid);
  for (const auto& o : r.outcomes) EXPECT_FALSE(o.error || o.timed_out);
  EXPECT_LT(r.took, 280ms) << "the two 150 ms checks must overlap";
}

// A check whose `now` answers is never started; one whose `now` declines runs as usual, and
// the outcomes keep pipeline order either way.
TEST(RunChecks, ChecksAnsweredNowStartNoCoroutine) {
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
  auto r = run(std::move(checks));
  EXPECT_EQ(started, 1);
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_EQ(r.outcomes[0].verdict.reason, "now");
  EXPECT_EQ(r.outcomes[1].verdict.reason, "fetched");
  EXPECT_TRUE(r.outcomes[2].error);
  EXPECT_EQ(r.outcomes[2].verdict.reason, "cached SERVFAIL");

  started = 0;
  checks.clear();
  checks.push_back(counted("a", CheckResult{}));
  checks.push_back(counted("b", CheckResult{{Verdict::reject(Signal::ManualBlock, "x")}}));
  r = run(std::move(checks));
  EXPECT_EQ(started, 0);
  ASSERT_EQ(r.outcomes.size(), 1u) << "a check without verdicts has no outcome";
  EXPECT_EQ(r.outcomes[0].settings.name, "b");
}

TEST(RunChecks, ACheckPastItsDeadlineTimesOutWithoutHoldingTheOthers) {
  std::vector<PendingCheck> checks;
  checks.push_back(after("hangs", 600ms, Verdict::cont(9, Signal::DnsblListed, "late"), 50ms));
  checks.push_back(after("ok", 10ms, Verdict::cont(1, Signal::RdnsGeneric, "fine")));
  asio::io_context io;
  std::vector<reputation::CheckOutcome> outcomes;
  std::chrono::steady_clock::duration took{};
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(io, run_checks(std::move(checks)),
                 [&](std::exception_ptr, std::vector<reputation::CheckOutcome> out) {
                   took = std::chrono::steady_clock::now() - started;
                   outcomes = std::move(out);
                 });
  io.run();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].timed_out);
  EXPECT_EQ(outcomes[0].settings.name, "hangs");
  EXPECT_EQ(outcomes[1].verdict.signal, Signal::RdnsGeneric);
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 400ms) << "answered at the hanging check's deadline, not when it finished";
}

TEST(RunChecks, ErrorsAndExceptionsBecomeErrorOutcomes) {
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
  const auto r = run(std::move(checks));
  ASSERT_EQ(r.outcomes.size(), 2u) << "a check with no verdicts adds no outcome";
  EXPECT_TRUE(r.outcomes[0].error);
  EXPECT_EQ(r.outcomes[0].verdict.reason, "store read failed");
  EXPECT_TRUE(r.outcomes[1].error);
  EXPECT_EQ(r.outcomes[1].verdict.reason, "boom");
}

TEST(RunChecks, SeveralVerdictsOfOneCheckStayTogether) {
  std::vector<PendingCheck> checks;
  checks.push_back(PendingCheck{settings("history"), []() -> asio::awaitable<CheckResult> {
                                  co_return CheckResult{
                                      {Verdict::cont(3, Signal::RejectRatio, "r"),
                                       Verdict::cont(0, Signal::FirstSeenRecently, "f")}};
                                }});
  const auto r = run(std::move(checks));
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].settings.name, "history");
  EXPECT_EQ(r.outcomes[1].verdict.signal, Signal::FirstSeenRecently);
}

}  // namespace
}  // namespace mxgate::policy
