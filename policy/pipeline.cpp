#include "policy/pipeline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>

#include "io/clock.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;

namespace {

// Shared by the runner and the checks it started: a check that outlives its deadline (and the
// runner) still has somewhere to put its answer.
// The check functions live here too: a coroutine lambda keeps its captures in the lambda
// object, which must outlive the coroutine, even one still running past its deadline.
struct Board {
  explicit Board(asio::any_io_executor executor, std::size_t n) : wake(executor), results(n) {}
  io::Timer wake;  // cancelled by each finishing check to wake the runner
  std::vector<std::function<asio::awaitable<CheckResult>()>> runs;
  std::vector<std::optional<CheckResult>> results;
  std::size_t pending = 0;
};

// Records a finished check and wakes the runner. A check that threw is an error outcome.
void finish(Board& board, std::size_t index, std::exception_ptr failure, CheckResult result) {
  if (failure) {
    result = CheckResult{{}, true, "exception"};
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      result.error_text = e.what();
    } catch (...) {
    }
  }
  board.results[index] = std::move(result);
  --board.pending;
  board.wake.cancel();
}

// The outcomes of the checks in pipeline order; an unanswered check timed out.
std::vector<reputation::CheckOutcome> collect(const std::vector<PendingCheck>& checks,
                                              std::vector<std::optional<CheckResult>>& results) {
  std::vector<reputation::CheckOutcome> outcomes;
  outcomes.reserve(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    auto& result = results[i];
    if (!result) {
      outcomes.push_back({checks[i].settings, reputation::Verdict{}, false, true});
      continue;
    }
    if (result->error) {
      reputation::Verdict verdict;
      verdict.reason = std::move(result->error_text);
      outcomes.push_back({checks[i].settings, std::move(verdict), true, false});
      continue;
    }
    for (auto& verdict : result->verdicts) {
      outcomes.push_back({checks[i].settings, std::move(verdict), false, false});
    }
  }
  return outcomes;
}

// The earliest deadline of a check still unanswered and not yet past it, if any.
std::optional<io::Clock::time_point> next_deadline(const std::vector<PendingCheck>& checks,
                                                   const Board& board,
                                                   io::Clock::time_point started) {
  std::optional<io::Clock::time_point> next;
  const auto now = io::Clock::now();
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const auto deadline = started + checks[i].settings.timeout;
    if (!board.results[i] && deadline > now && (!next || deadline < *next)) next = deadline;
  }
  return next;
}

}  // namespace

asio::awaitable<std::vector<reputation::CheckOutcome>> run_checks(
    std::vector<PendingCheck> checks) {
  if (checks.empty()) co_return std::vector<reputation::CheckOutcome>();
  std::vector<std::optional<CheckResult>> answered(checks.size());
  std::size_t waiting = 0;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].now) answered[i] = checks[i].now();
    waiting += answered[i] ? 0 : 1;
  }
  if (waiting == 0) co_return collect(checks, answered);

  const auto executor = co_await asio::this_coro::executor;
  auto board = std::make_shared<Board>(executor, checks.size());
  const auto started = io::Clock::now();
  board->pending = waiting;
  board->runs.resize(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (answered[i]) {
      board->results[i] = std::move(answered[i]);
      continue;
    }
    board->runs[i] = std::move(checks[i].run);
    asio::co_spawn(executor, board->runs[i](),
                   [board, i](std::exception_ptr failure, CheckResult result) {
                     finish(*board, i, failure, std::move(result));
                   });
  }
  // Sleep until every check answered or every unanswered one is past its deadline.
  while (board->pending > 0) {
    const auto next = next_deadline(checks, *board, started);
    if (!next) break;
    board->wake.expires_at(*next);
    boost::system::error_code ec;
    co_await board->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return collect(checks, board->results);
}

std::vector<reputation::CheckOutcome> answer_now(std::vector<PendingCheck> checks) {
  std::vector<std::optional<CheckResult>> answered(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].now) answered[i] = checks[i].now();
    if (!answered[i]) answered[i] = CheckResult{{}, true, "no answer without waiting"};
  }
  return collect(checks, answered);
}

}  // namespace mxgate::policy
