// Records what DMARC decided for each message into the rows of the aggregate reports (issue 22,
// RFC 7489 §7.2): one row per message whose policy record has a rua=, in the period that
// contains the message's time (storage/dmarc_rows.hpp; equal rows add up in the store).
// postmaster/dmarc_reporter.hpp turns a finished period into reports.
// Bounds (conf [dmarc_reports]): distinct rows per period, max_rows in all and
// max_rows_per_domain per policy domain; a row past either is left out. The recorder remembers
// the rows of the current period as 64-bit hashes (at most max_rows of them, ~40 bytes each),
// forgotten when a new period starts. After a restart the period's earlier rows are not known:
// the reporter applies max_rows_per_domain again when it reads them.
// Metrics:
//   mxgate_dmarc_report_rows_total{result}  messages offered: recorded (a new row or one more of
//     a known row), over_limit (max_rows or max_rows_per_domain), store_full (the store's
//     pending writes are full)
// Threading: thread-safe (one mutex around the period's hashes); record() does no I/O.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "auth/dmarc_report.hpp"
#include "conf/config.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::policy {

class DmarcRecorder {
 public:
  DmarcRecorder(storage::ReputationStore& store, prometheus::Registry& registry);

  void configure(const conf::DmarcReportsConfig& config);  // at start and on reload
  bool enabled() const;

  // Adds `row` to `published.domain`'s report of the period that contains `now` (Unix seconds).
  void record(const auth::dmarc_report::Published& published, const auth::dmarc_report::Row& row,
              std::int64_t now);

 private:
  storage::ReputationStore& store_;
  prometheus::Counter* recorded_ = nullptr;
  prometheus::Counter* over_limit_ = nullptr;
  prometheus::Counter* store_full_ = nullptr;

  mutable std::mutex mutex_;  // guards everything below
  conf::DmarcReportsConfig config_;
  std::int64_t period_begin_ = -1;
  std::unordered_set<std::uint64_t> rows_;                  // hashes of domain + row
  std::unordered_map<std::string, std::uint32_t> domains_;  // distinct rows per domain
};

// The period of `length` seconds (aligned to the Unix epoch) that contains `now`: its begin.
std::int64_t period_begin(std::int64_t now, std::int64_t length);
// dmarc_reports.period in whole seconds, at least 1.
std::int64_t period_seconds(const conf::DmarcReportsConfig& config);

}  // namespace mxgate::policy
