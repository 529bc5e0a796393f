#include "postmaster/dmarc_reporter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>

#include "common/gzip.hpp"
#include "common/log.hpp"
#include "io/blocking.hpp"
#include "policy/dmarc_recorder.hpp"
#include "policy/history_checks.hpp"
#include "relay/dsn.hpp"
#include "storage/dmarc_rows.hpp"

namespace mxgate::postmaster {

namespace asio = boost::asio;
namespace dr = auth::dmarc_report;

namespace {

constexpr std::int64_t kDaySeconds = 86'400;
// Rows of a period that ended longer ago than this (reports were off, or mxgate was) are
// deleted unsent: a report about last month helps nobody.
constexpr std::int64_t kMaxReportAge = 7 * kDaySeconds;
// The longest sleep between two looks at the clock, so that a reload that enables reports or
// shortens the period takes effect.
constexpr std::int64_t kMaxSleepSeconds = 3'600;
constexpr std::string_view kSentDocPrefix = "dmarc_reports/sent/";

std::uint64_t size_limit(const conf::DmarcReportsConfig& config, const dr::ReportUri& uri) {
  return uri.max_bytes == 0 ? config.max_report_size
                            : std::min<std::uint64_t>(uri.max_bytes, config.max_report_size);
}

struct DomainRows {
  std::optional<dr::Published> published;
  std::vector<dr::CountedRow> rows;
};

}  // namespace

std::string_view outcome_name(Delivery::Outcome outcome) {
  static constexpr std::string_view kNames[] = {"queued", "unauthorized", "dns_error", "too_large",
                                                "capped", "bad_uri",      "failed"};
  return kNames[static_cast<std::size_t>(outcome)];
}

std::vector<std::int64_t> recorded_periods(storage::ReputationStore& store) {
  std::vector<std::int64_t> periods;
  store.for_each_dmarc({}, [&](std::string_view key, std::string_view) {
    const auto parsed = storage::parse_dmarc_key(key);
    if (parsed && (periods.empty() || periods.back() != parsed->begin)) {
      periods.push_back(parsed->begin);
    }
    return true;
  });
  return periods;
}

std::vector<PlannedReport> plan_reports(storage::ReputationStore& store, std::int64_t begin,
                                        std::int64_t end, const conf::Config& config) {
  std::map<std::string, DomainRows, std::less<>> domains;
  store.for_each_dmarc(storage::dmarc_period_prefix(begin),
                       [&](std::string_view key, std::string_view value) {
                         const auto parsed = storage::parse_dmarc_key(key);
                         if (!parsed || parsed->begin != begin) return true;
                         auto& domain = domains[std::string(parsed->domain)];
                         if (parsed->entry == storage::DmarcEntry::Policy) {
                           domain.published = dr::decode_published(value);
                         } else if (auto row = dr::decode_row(parsed->row)) {
                           domain.rows.push_back({std::move(*row), storage::decode_count(value)});
                         }
                         return true;
                       });
  const auto& settings = config.dmarc_reports;
  std::vector<PlannedReport> reports;
  for (auto& [name, domain] : domains) {
    if (!domain.published || domain.rows.empty()) continue;
    PlannedReport report;
    report.published = std::move(*domain.published);
    auto& rows = domain.rows;
    std::stable_sort(
        rows.begin(), rows.end(),
        [](const dr::CountedRow& a, const dr::CountedRow& b) { return a.count > b.count; });
    if (rows.size() > settings.max_rows_per_domain) {
      std::uint64_t left_out = 0;
      for (std::size_t i = settings.max_rows_per_domain; i < rows.size(); ++i) {
        left_out += rows[i].count;
      }
      report.metadata.errors.push_back(fmt::format(
          "{} rows ({} messages) left out: more than {} rows",
          rows.size() - settings.max_rows_per_domain, left_out, settings.max_rows_per_domain));
      rows.resize(settings.max_rows_per_domain);
    }
    for (const auto& row : rows) report.messages += row.count;
    report.rows = std::move(rows);
    auto& metadata = report.metadata;
    metadata.org_name = settings.org_name;
    metadata.email = settings.from;
    metadata.extra_contact_info = settings.contact;
    metadata.report_id = fmt::format("{}.{}", name, begin);
    metadata.begin = begin;
    metadata.end = end - 1;  // date_range is inclusive
    report.xml = dr::render_xml(metadata, report.published, report.rows);
    report.gzipped = common::gzip(report.xml);
    reports.push_back(std::move(report));
  }
  return reports;
}

asio::awaitable<std::vector<Delivery>> plan_deliveries(dns::Resolver& resolver,
                                                       const PlannedReport& report,
                                                       conf::DmarcReportsConfig config) {
  std::vector<Delivery> out;
  std::vector<std::string> addresses;  // each once
  const auto& rua = report.published.record.rua;
  for (std::size_t i = 0; i < rua.size() && i < dr::kMaxReportUris; ++i) {
    Delivery delivery;
    delivery.uri = rua[i];
    const auto uri = dr::parse_report_uri(rua[i]);
    if (!uri) {
      delivery.outcome = Delivery::Outcome::BadUri;
      delivery.why = "not a mailto: URI with an address";
      out.push_back(std::move(delivery));
      continue;
    }
    const std::string check = dr::authorization_name(report.published.domain, uri->host);
    const auto destinations =
        co_await dr::verify_destination(resolver, report.published.domain, *uri);
    if (destinations.temp_error) {
      delivery.outcome = Delivery::Outcome::DnsError;
      delivery.why = "DNS failure asking " + check;
      out.push_back(std::move(delivery));
      continue;
    }
    if (destinations.uris.empty()) {
      delivery.outcome = Delivery::Outcome::Unauthorized;
      delivery.why = "no v=DMARC1 record at " + check + " (RFC 7489 §7.1)";
      out.push_back(std::move(delivery));
      continue;
    }
    const bool external = dr::is_external(report.published.domain, *uri);
    for (const auto& destination : destinations.uris) {
      if (std::find(addresses.begin(), addresses.end(), destination.address) != addresses.end()) {
        continue;
      }
      addresses.push_back(destination.address);
      Delivery one = delivery;
      one.address = destination.address;
      const std::uint64_t limit = size_limit(config, destination);
      if (report.gzipped.size() > limit) {
        one.outcome = Delivery::Outcome::TooLarge;
        one.why = fmt::format("{} bytes gzipped, the limit is {}", report.gzipped.size(), limit);
      } else {
        one.why = external ? "authorized by " + check : "within the policy's organizational domain";
      }
      out.push_back(std::move(one));
    }
  }
  co_return out;
}

DmarcReportMetrics::DmarcReportMetrics(prometheus::Registry& registry) {
  auto& results = prometheus::BuildCounter()
                      .Name("mxgate_dmarc_reports_total")
                      .Help("DMARC aggregate reports by rua destination and what became of them")
                      .Register(registry);
  for (auto outcome :
       {Delivery::Outcome::Queue, Delivery::Outcome::Unauthorized, Delivery::Outcome::DnsError,
        Delivery::Outcome::TooLarge, Delivery::Outcome::Capped, Delivery::Outcome::BadUri,
        Delivery::Outcome::Failed}) {
    results_.push_back(&results.Add({{"result", std::string(outcome_name(outcome))}}));
  }
  periods_ = &prometheus::BuildCounter()
                  .Name("mxgate_dmarc_report_periods_total")
                  .Help("Periods whose DMARC aggregate reports were sent")
                  .Register(registry)
                  .Add({});
}

void DmarcReportMetrics::count(Delivery::Outcome outcome) {
  results_.at(static_cast<std::size_t>(outcome))->Increment();
}

void DmarcReportMetrics::count_period() { periods_->Increment(); }

DmarcReporter::DmarcReporter(asio::any_io_executor executor, asio::any_io_executor blocking,
                             storage::ReputationStore& store, storage::Spool& spool,
                             dns::Resolver& resolver, SettingsSource settings,
                             DmarcReportMetrics& metrics)
    : executor_(executor),
      blocking_(blocking),
      store_(store),
      spool_(spool),
      resolver_(resolver),
      settings_(std::move(settings)),
      metrics_(metrics),
      timer_(executor) {}

void DmarcReporter::start() {
  asio::co_spawn(executor_, run(), [](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("dmarc_reporter_failed error=\"{}\"", e.what());
    }
  });
}

void DmarcReporter::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> DmarcReporter::run() {
  while (!stopped_) {
    const DmarcReporterSettings settings = settings_();
    const std::int64_t length = policy::period_seconds(settings.config->dmarc_reports);
    if (settings.config->dmarc_reports.enabled) co_await report_finished_periods(settings);
    const std::int64_t now = policy::unix_now();
    // A second after the period ends: the checks still running at its end write into the next.
    const std::int64_t next = policy::period_begin(now, length) + length + 1;
    timer_.expires_after(
        std::chrono::seconds(std::clamp<std::int64_t>(next - now, 1, kMaxSleepSeconds)));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> DmarcReporter::report_finished_periods(
    const DmarcReporterSettings& settings) {
  const std::int64_t now = policy::unix_now();
  const std::int64_t length = policy::period_seconds(settings.config->dmarc_reports);
  const std::int64_t current = policy::period_begin(now, length);
  // The rows still pending in memory belong in the store before a period is read.
  const auto periods = co_await io::run_blocking(blocking_, [this] {
    store_.flush();
    return recorded_periods(store_);
  });
  for (std::int64_t begin : periods) {
    if (stopped_ || begin >= current) break;
    const std::int64_t end = begin + length;
    if (end < now - kMaxReportAge) {
      spdlog::info("dmarc_report_period_expired begin={} end={}", begin, end);
    } else {
      co_await report_period(begin, end, settings);
    }
    const auto ec =
        co_await io::run_blocking(blocking_, [&] { return store_.erase_dmarc_before(begin + 1); });
    if (ec) {
      spdlog::error("dmarc_report_erase_failed begin={} error=\"{}\"", begin, ec.message());
      co_return;  // the same period again at the next wake-up, rather than a loop on a bad disk
    }
  }
}

asio::awaitable<void> DmarcReporter::report_period(std::int64_t begin, std::int64_t end,
                                                   const DmarcReporterSettings& current) {
  const conf::Config& config = *current.config;
  const auto reports = co_await io::run_blocking(
      blocking_, [&] { return plan_reports(store_, begin, end, config); });
  const auto& settings = config.dmarc_reports;
  for (const auto& report : reports) {
    auto deliveries = co_await plan_deliveries(resolver_, report, settings);
    for (auto& delivery : deliveries) {
      if (delivery.outcome == Delivery::Outcome::Queue) {
        if (co_await sent_today(policy::unix_now()) >= settings.max_reports_per_day) {
          delivery.outcome = Delivery::Outcome::Capped;
          delivery.why = fmt::format("dmarc_reports.max_reports_per_day ({}) reached",
                                     settings.max_reports_per_day);
        } else {
          dr::Envelope envelope{config.server.hostname,
                                settings.from,
                                {delivery.address},
                                std::chrono::system_clock::now()};
          std::string message = dr::render_message(envelope, report.metadata,
                                                   report.published.domain, report.gzipped);
          if (current.signer) {
            const std::string signature =
                current.signer->sign(message, static_cast<std::uint64_t>(policy::unix_now()));
            if (signature.empty()) {
              spdlog::warn("dmarc_report_unsigned domain={} why=\"DKIM signing failed\"",
                           report.published.domain);
            }
            message.insert(0, signature);
          }
          if (co_await queue(config, delivery.address, std::move(message))) {
            ++sent_;
          } else {
            delivery.outcome = Delivery::Outcome::Failed;
            delivery.why = "the spool refused the message";
          }
        }
      }
      metrics_.count(delivery.outcome);
      spdlog::info(
          "dmarc_report domain={} begin={} end={} messages={} rows={} bytes={} uri={} result={} "
          "why={}",
          report.published.domain, begin, end, report.messages, report.rows.size(),
          report.gzipped.size(), common::escape(delivery.uri), outcome_name(delivery.outcome),
          common::escape(delivery.why));
    }
  }
  if (day_ >= 0) {
    const std::string key = fmt::format("{}{}", kSentDocPrefix, day_);
    const std::string value = std::to_string(sent_);
    co_await io::run_blocking(blocking_, [&] { return store_.put_doc(key, value); });
  }
  metrics_.count_period();
}

asio::awaitable<std::uint32_t> DmarcReporter::sent_today(std::int64_t now) {
  const std::int64_t day = now / kDaySeconds;
  if (day != day_) {
    const std::string key = fmt::format("{}{}", kSentDocPrefix, day);
    const auto stored = co_await io::run_blocking(blocking_, [&] { return store_.get_doc(key); });
    std::uint32_t count = 0;
    if (stored) std::from_chars(stored->data(), stored->data() + stored->size(), count);
    day_ = day;
    sent_ = count;
  }
  co_return sent_;
}

asio::awaitable<bool> DmarcReporter::queue(const conf::Config& config, std::string address,
                                           std::string message) {
  storage::Envelope envelope;
  envelope.mail_from = config.dmarc_reports.from;
  envelope.recipients = {{std::move(address), storage::SpoolRecipient::State::Pending, ""}};
  envelope.created_ms = envelope.due_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count();
  envelope.client_ip = relay::kOwnMail;
  envelope.size = message.size();
  const auto ec = co_await io::run_blocking(blocking_, [&] {
    envelope.id = spool_.make_id();
    // The spool takes a body in pieces of kBodyPiece, all but the last staged first.
    std::uint32_t staged = 0;
    std::string_view rest = message;
    while (rest.size() > storage::kBodyPiece) {
      if (auto error = spool_.stage(envelope.id, staged, rest.substr(0, storage::kBodyPiece))) {
        spool_.discard(envelope.id, staged);
        return error;
      }
      ++staged;
      rest.remove_prefix(storage::kBodyPiece);
    }
    return spool_.commit(envelope, rest, staged);
  });
  if (ec) spdlog::error("dmarc_report_queue_failed error=\"{}\"", ec.message());
  co_return !ec;
}

}  // namespace mxgate::postmaster
