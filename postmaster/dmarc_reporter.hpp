// DMARC aggregate reports (issue 22, RFC 7489 §7.2): after each [dmarc_reports] period, the
// rows policy/dmarc_recorder.hpp recorded become one report per policy domain (Appendix C XML,
// gzipped), mailed to each of the domain's rua addresses that passes the external destination
// check (§7.1) and takes the report's size. Each report to each address is one message in the
// spool from dmarc_reports.from, client "local" (relay/dsn.hpp kOwnMail), that the queue
// runners deliver like a DSN: to a [[route]] when one serves the address's domain, else
// through [outbound]. A report that fails for good is dropped, never bounced. With
// dmarc_reports.dkim_key, each message is DKIM-signed (auth/dkim_sign.hpp) as it is queued.
//
// Bounds: rows per domain (max_rows_per_domain, the most frequent first; what is left out is
// said in report_metadata/error), the gzipped size (max_report_size and the rua's "!size"), and
// max_reports_per_day messages per UTC day (counted in the store's documents, so a restart does
// not reset it). A period's rows are deleted once its reports are queued (a crash in between
// may send a report twice; never a report of rows that were lost).
//
// Metrics:
//   mxgate_dmarc_reports_total{result}  rua destinations of reports: queued, unauthorized (§7.1
//     refused), dns_error (§7.1 check failed; skipped this period), too_large, capped
//     (max_reports_per_day), bad_uri (not a mailto: we can use), failed (spool write failed)
//   mxgate_dmarc_report_periods_total   periods reported
// Threading: DmarcReporter runs on one executor (the control thread); store and spool work on
// the blocking pool. plan_reports() and plan_deliveries() are what `mxgate dmarc report
// --dry-run` shows, without sending.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/dkim_sign.hpp"
#include "auth/dmarc_report.hpp"
#include "conf/config.hpp"
#include "dns/resolver.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"

namespace mxgate::postmaster {

struct PlannedReport {
  auth::dmarc_report::Published published;
  auth::dmarc_report::Metadata metadata;
  std::vector<auth::dmarc_report::CountedRow> rows;  // most messages first
  std::uint64_t messages = 0;                        // in the rows kept
  std::string xml;
  std::string gzipped;
};

// The periods with recorded rows, oldest first (Unix seconds of their begin). May block.
std::vector<std::int64_t> recorded_periods(storage::ReputationStore& store);

// The reports of the period that began at `begin` (its rows in the store; ends at `end`), one
// per policy domain with rows, in domain order. May block.
std::vector<PlannedReport> plan_reports(storage::ReputationStore& store, std::int64_t begin,
                                        std::int64_t end, const conf::Config& config);

// What becomes of a report at one rua destination.
struct Delivery {
  enum class Outcome { Queue, Unauthorized, DnsError, TooLarge, Capped, BadUri, Failed };
  Outcome outcome = Outcome::Queue;
  std::string uri;      // as the policy record wrote it
  std::string address;  // where it goes (an override of §7.1 step 9 may change it); Queue only
  std::string why;      // for the dry run and the log
};
std::string_view outcome_name(Delivery::Outcome outcome);  // the metric's result label

// The destinations of `report`: its policy's rua URIs (at most kMaxReportUris), each checked
// (§7.1) and sized against max_report_size and its own limit. Addresses repeated by overrides
// count once. Never Capped or Failed (those are the sender's).
boost::asio::awaitable<std::vector<Delivery>> plan_deliveries(dns::Resolver& resolver,
                                                              const PlannedReport& report,
                                                              conf::DmarcReportsConfig config);

// The reporter's metrics (above), registered whether reports are on or not, so that the
// exposition always has the same series.
class DmarcReportMetrics {
 public:
  explicit DmarcReportMetrics(prometheus::Registry& registry);
  void count(Delivery::Outcome outcome);
  void count_period();

 private:
  std::vector<prometheus::Counter*> results_;  // by Delivery::Outcome
  prometheus::Counter* periods_ = nullptr;
};

// What a round of reports uses, from the running configuration (taken anew at each round).
struct DmarcReporterSettings {
  std::shared_ptr<const conf::Config> config;
  std::shared_ptr<const auth::DkimSigner> signer;  // dmarc_reports.dkim_key; null: unsigned
};

class DmarcReporter {
 public:
  using SettingsSource = std::function<DmarcReporterSettings()>;
  DmarcReporter(boost::asio::any_io_executor executor, boost::asio::any_io_executor blocking,
                storage::ReputationStore& store, storage::Spool& spool, dns::Resolver& resolver,
                SettingsSource settings, DmarcReportMetrics& metrics);

  void start();  // reports the periods that ended, then each one as it ends
  void stop();   // at the next suspension point

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> report_finished_periods(const DmarcReporterSettings& settings);
  boost::asio::awaitable<void> report_period(std::int64_t begin, std::int64_t end,
                                             const DmarcReporterSettings& settings);
  // Queues one message; false when the spool refused it.
  boost::asio::awaitable<bool> queue(const conf::Config& config, std::string address,
                                     std::string message);
  boost::asio::awaitable<std::uint32_t> sent_today(std::int64_t now);

  boost::asio::any_io_executor executor_;
  boost::asio::any_io_executor blocking_;
  storage::ReputationStore& store_;
  storage::Spool& spool_;
  dns::Resolver& resolver_;
  SettingsSource settings_;
  DmarcReportMetrics& metrics_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  std::int64_t day_ = -1;   // the UTC day sent_ counts (days since the epoch)
  std::uint32_t sent_ = 0;  // messages queued that day
};

}  // namespace mxgate::postmaster
