#include "policy/dmarc_recorder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>

namespace mxgate::policy {

namespace dr = auth::dmarc_report;

std::int64_t period_begin(std::int64_t now, std::int64_t length) {
  if (length <= 0) return now;
  const std::int64_t rest = now % length;
  return now - (rest < 0 ? rest + length : rest);
}

std::int64_t period_seconds(const conf::DmarcReportsConfig& config) {
  return std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(config.period).count());
}

DmarcRecorder::DmarcRecorder(storage::ReputationStore& store, prometheus::Registry& registry)
    : store_(store) {
  auto& family = prometheus::BuildCounter()
                     .Name("mxgate_dmarc_report_rows_total")
                     .Help(
                         "Messages DMARC judged against a record with rua=, by what became of "
                         "their aggregate report row")
                     .Register(registry);
  recorded_ = &family.Add({{"result", "recorded"}});
  over_limit_ = &family.Add({{"result", "over_limit"}});
  store_full_ = &family.Add({{"result", "store_full"}});
}

void DmarcRecorder::configure(const conf::DmarcReportsConfig& config) {
  const std::lock_guard lock(mutex_);
  config_ = config;
}

bool DmarcRecorder::enabled() const {
  const std::lock_guard lock(mutex_);
  return config_.enabled;
}

void DmarcRecorder::record(const dr::Published& published, const dr::Row& row, std::int64_t now) {
  const std::string encoded = dr::encode_row(row);
  const std::lock_guard lock(mutex_);
  if (!config_.enabled || published.record.rua.empty()) return;
  const std::int64_t begin = period_begin(now, period_seconds(config_));
  if (begin != period_begin_) {
    period_begin_ = begin;
    rows_.clear();
    domains_.clear();
  }
  // The domain's and the row's hashes combined, without a joined copy of both per message.
  const std::hash<std::string_view> hash_of;
  const std::uint64_t hash =
      hash_of(published.domain) * 0x9e3779b97f4a7c15ULL ^ hash_of(encoded);
  const bool known = rows_.contains(hash);
  auto domain = domains_.find(published.domain);
  if (!known) {
    const std::uint32_t in_domain = domain == domains_.end() ? 0 : domain->second;
    if (rows_.size() >= config_.max_rows || in_domain >= config_.max_rows_per_domain) {
      over_limit_->Increment();
      return;
    }
  }
  if (domain == domains_.end()) {
    // The first row of the domain in this period (here): its policy as published now.
    if (store_.add_dmarc(storage::dmarc_key(begin, published.domain, storage::DmarcEntry::Policy),
                         dr::encode_published(published), storage::DmarcEntry::Policy)) {
      store_full_->Increment();
      return;
    }
    domain = domains_.emplace(published.domain, 0).first;
  }
  if (store_.add_dmarc(
          storage::dmarc_key(begin, published.domain, storage::DmarcEntry::Row, encoded),
          storage::encode_count(1), storage::DmarcEntry::Row)) {
    store_full_->Increment();
    return;
  }
  if (!known) {
    rows_.insert(hash);
    ++domain->second;
  }
  recorded_->Increment();
}

}  // namespace mxgate::policy
