// The registration table: which check runs at which SMTP stage, in which phase of the stage,
// in which order (Postfix's restriction lists, Haraka's plugin order). SessionPolicy runs a stage
// by asking this table for the stage's checks, phase by phase; it names no check itself.
//
// Phases of a stage, run one after the other; the checks of one phase run concurrently
// (policy/pipeline.hpp) and their outcomes keep table order (pipeline order breaks ties,
// reputation/policy.hpp rule 3):
//   First   runs alone before the rest of the stage, and its explicit decision (a listing, an
//           allow) is answered without the rest: the connect stage's history, read before any
//           DNS query and before the greet pause.
//   Main    the stage's checks.
//   Then    checks that read what Main's checks found (dmarc reads spf's and dkim's results).
//   Limits  the throttle: from memory, after the checks, so it counts only what reached it.
// The RCPT stage is answered without waiting: its checks must answer from memory (`now`).
// A check that always decides from memory (the throttle) has a DecideNow function instead of
// AddChecks: it is asked directly, with no PendingCheck, coroutine or deadline, which matters
// for a check that runs at four stages of every message.
//
// Adding a check: its file (an AddChecks function, PendingChecks for policy/pipeline), a row in
// reputation/checks.cpp (its name, description and default settings, which config and the docs
// read without knowing Asio), and a row here. A row without AddChecks is a check the session
// provides (the pregreet check, which owns the socket during the greet pause): it marks where
// its outcomes go.
// Threading: the table is constant; run_stage_checks() runs on the session's worker.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "policy/check_context.hpp"
#include "reputation/policy.hpp"

namespace mxgate::policy {

enum class Phase : std::uint8_t { First, Main, Then, Limits };

struct CheckEntry {
  std::string_view name;  // a name of reputation::known_checks(): its settings
  reputation::Stage stage;
  Phase phase;
  AddChecks add = nullptr;  // null (and no decide): the session provides the check
  PrefetchNames prefetch = nullptr;
  DecideNow decide = nullptr;  // instead of add: decides at once
};

std::span<const CheckEntry> check_table();

// The settings of a known check (config.checks holds every one); throws std::logic_error for a
// name not in reputation::known_checks() (a bug).
const reputation::CheckSettings& check_settings(const conf::Config& config, std::string_view name);

// The checks of one phase of `stage`, in table order (but those with DecideNow); checks in mode
// "off" are left out. The
// checks of `provided` named by a row of this phase without AddChecks are moved to that row;
// the Main phase takes the ones no row names, at its end.
std::vector<PendingCheck> stage_checks(reputation::Stage stage, Phase phase,
                                       const CheckContext& context,
                                       std::vector<PendingCheck>& provided);

struct StageRun {
  std::vector<reputation::CheckOutcome> outcomes;  // in table order
  std::size_t checks = 0;                          // how many checks ran
};

// Runs the phases of `stage` from `first` to `last`, in order; each phase's checks are built
// when it starts, so they see what the earlier phases found. `context` must outlive the
// coroutine (the awaiting caller owns it).
boost::asio::awaitable<StageRun> run_stage_checks(reputation::Stage stage, Phase first, Phase last,
                                                  const CheckContext& context,
                                                  std::vector<PendingCheck> provided = {});

// The RCPT stage and other stages answered at once: the outcomes of `stage`'s checks, all
// phases, from what they know now (policy/pipeline.hpp answer_now).
std::vector<reputation::CheckOutcome> stage_outcomes_now(reputation::Stage stage,
                                                         const CheckContext& context);

// The names the end of data's checks would look up for `message`, for prefetching.
std::vector<std::string> prefetch_names(const CheckContext& context,
                                        const auth::MessageScanner& message);

}  // namespace mxgate::policy
