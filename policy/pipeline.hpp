// Runs one SMTP stage's checks concurrently, each under its own deadline, and returns their
// outcomes in pipeline order for reputation::decide() (ARCHITECTURE principle 3). Which checks a
// stage runs, and in which order, is the registration table's business (policy/check_table.hpp).
// - A check is a coroutine that returns verdicts or reports an error. It must capture what it
//   uses by value (or refer to things that outlive the worker, policy/services.hpp; what it
//   hands to later checks goes through policy/facts.hpp): a check still running when its
//   deadline passes is not cancelled, it finishes on its own and its answer is dropped. The
//   function objects are kept alive until their coroutines end, so a coroutine lambda's
//   captures stay valid.
// - A check with a `now` function that answers is not started at all.
// - A check past its settings.timeout is an outcome with timed_out set, decided when the
//   deadline passes; one that threw or reported an error has error set. Either way on_error
//   decides (reputation/policy.hpp).
// Deadlines are measured on io::Clock with io::Timer (io/clock.hpp), so a test drives them with a
// manual clock.
// Threading: call on the session's worker; every check runs on that same executor (a check may
// hop elsewhere, e.g. to the blocking pool, and must come back).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reputation/policy.hpp"

namespace mxgate::policy {

struct CheckResult {
  std::vector<reputation::Verdict> verdicts;
  bool error = false;
  std::string error_text;  // for the log when error is set
};

struct PendingCheck {
  reputation::CheckSettings settings;
  std::function<boost::asio::awaitable<CheckResult>()> run;
  // Optional: the answer from what is cached (DNS cache, reputation cache), or nullopt when
  // something must be fetched. A check answered this way starts no coroutine: with warm
  // caches, a stage's checks cost function calls, not co_spawns.
  std::function<std::optional<CheckResult>()> now;
};

boost::asio::awaitable<std::vector<reputation::CheckOutcome>> run_checks(
    std::vector<PendingCheck> checks);

// For a stage answered without waiting (RCPT): the outcomes of checks that answer from what
// they know (`now`). A check that cannot is an error outcome ("no answer without waiting").
std::vector<reputation::CheckOutcome> answer_now(std::vector<PendingCheck> checks);

}  // namespace mxgate::policy
