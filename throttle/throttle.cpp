#include "throttle/throttle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>

#include "reputation/model.hpp"

namespace mxgate::throttle {
namespace {

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kHourUs = 3600 * kSecondUs;
constexpr std::int64_t kDayUs = 24 * kHourUs;
constexpr std::int64_t kDaySeconds = 86400;
constexpr double kHoursPerWeek = 7 * 24;

using Count = conf::LimitConfig::Count;
using LimitKey = conf::LimitConfig::Key;

std::int64_t micros(conf::Duration duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

std::string_view count_name(Count count) {
  switch (count) {
    case Count::Connections:
      return "connections";
    case Count::Messages:
      return "messages";
    case Count::Recipients:
      return "recipients";
  }
  return "events";
}

std::uint32_t day_count(const reputation::Record& record, std::int64_t day) {
  for (const auto& d : record.days) {
    if (d.day == day) return d.counters.accepted;
  }
  return 0;
}

}  // namespace

History history_of(const reputation::Record& record, std::int64_t now_seconds,
                   std::uint32_t hygiene_days) {
  History h;
  h.first_seen = record.first_seen;
  const std::int64_t today = now_seconds / kDaySeconds;
  h.accepted_today = day_count(record, today);
  h.accepted_previous_day = day_count(record, today - 1);
  for (const auto& d : record.days) {
    if (d.day >= today - 7 && d.day < today) h.accepted_last_week += d.counters.accepted;
  }
  const auto window = reputation::totals(record, now_seconds, static_cast<int>(hygiene_days));
  h.invalid_recipients = window.invalid_recipients;
  h.recipients = window.accepted + window.rejected;
  return h;
}

struct Throttle::Settings {
  conf::ThrottleConfig config;
  std::vector<Rate> rates;  // one per config.limits entry
  double keep_per_hour = 1;  // the EWMA keeps this share of its value each hour
};

Throttle::Throttle(const conf::ThrottleConfig& config) : table_(config.max_keys) {
  configure(config);
}

void Throttle::configure(const conf::ThrottleConfig& config) {
  auto settings = std::make_shared<Settings>();
  settings->config = config;
  for (const auto& limit : config.limits) {
    settings->rates.push_back(
        Rate{limit.rate, std::max<std::int64_t>(1, micros(limit.period)), limit.burst});
  }
  const double half_life_hours =
      std::max(1e-3, static_cast<double>(micros(config.anomaly_half_life)) / kHourUs);
  settings->keep_per_hour = std::pow(0.5, 1 / half_life_hours);
  settings_.store(std::shared_ptr<const Settings>(std::move(settings)));
}

std::shared_ptr<const Throttle::Settings> Throttle::settings() const {
  return settings_.load();
}

// Phase one asks every limit that applies; only when all admit does phase two charge them, so
// a refused event costs nothing.
std::optional<Deferral> Throttle::charge(const Settings& s, Count count, const Subject& subject,
                                         const std::vector<std::string>* auth_domains,
                                         std::int64_t now_us) {
  struct Target {
    std::size_t limit;
    std::string key;
  };
  std::vector<Target> targets;
  for (std::size_t i = 0; i < s.config.limits.size(); ++i) {
    const auto& limit = s.config.limits[i];
    if (limit.count != count) continue;
    const std::string prefix = "L|" + limit.name + "|";
    switch (limit.key) {
      case LimitKey::Ip:
        if (!auth_domains) targets.push_back({i, prefix + subject.ip});
        break;
      case LimitKey::Network:
        if (!auth_domains && !subject.network.empty()) {
          targets.push_back({i, prefix + subject.network});
        }
        break;
      case LimitKey::SenderDomain:
        if (!auth_domains && !subject.sender_domain.empty()) {
          targets.push_back({i, prefix + subject.sender_domain});
        }
        break;
      case LimitKey::IpSenderDomain:
        if (!auth_domains && !subject.sender_domain.empty()) {
          targets.push_back({i, prefix + subject.ip + "|" + subject.sender_domain});
        }
        break;
      case LimitKey::AuthDomain:
        if (auth_domains) {
          for (const auto& domain : *auth_domains) targets.push_back({i, prefix + domain});
        }
        break;
    }
  }
  for (const auto& target : targets) {
    const auto value = table_.get(target.key, now_us);
    const auto& rate = s.rates[target.limit];
    const auto decision = gcra(value ? value->a : 0, now_us, rate);
    if (decision.admitted) continue;
    const auto& limit = s.config.limits[target.limit];
    return Deferral{limit.name, reputation::Signal::RateLimited,
                    fmt::format("limit {}: more than {} {} per {} (burst {})", limit.name,
                                limit.rate, count_name(count),
                                conf::format_duration(limit.period), limit.burst),
                    decision.retry_after_us};
  }
  for (const auto& target : targets) {
    const auto& rate = s.rates[target.limit];
    table_.update(target.key, now_us, [&](Value& value, bool fresh) {
      const auto decision = gcra(fresh ? 0 : value.a, now_us, rate);
      if (decision.admitted) value.a = decision.tat_us;
      return std::pair{value.a, 0};  // at rest (forgettable) once the TAT has passed
    });
    if (charge_sink_) charge_sink_(target.key);
  }
  return std::nullopt;
}

void Throttle::charge_remote(std::string_view key, std::uint32_t events, std::int64_t now_us) {
  if (events == 0) return;
  const auto s = settings();
  if (key.starts_with("R|")) {
    count_day(std::string(key), events, now_us);
  } else if (key.starts_with("A|")) {
    count_hour(*s, std::string(key), events, std::nullopt, now_us);
  } else if (key.starts_with("L|")) {
    const auto name = key.substr(2, key.find('|', 2) - 2);
    for (std::size_t i = 0; i < s->config.limits.size(); ++i) {
      if (s->config.limits[i].name != name) continue;
      const auto step = s->rates[i].interval_us() * static_cast<std::int64_t>(events);
      table_.update(key, now_us, [&](Value& value, bool fresh) {
        value.a = std::max(fresh ? 0 : value.a, now_us) + step;
        return std::pair{value.a, 0};
      });
      return;
    }
  }
}

std::optional<Deferral> Throttle::connect(const Subject& subject, std::int64_t now_us) {
  const auto s = settings();
  if (!s->config.enabled) return std::nullopt;
  return charge(*s, Count::Connections, subject, nullptr, now_us);
}

std::optional<Deferral> Throttle::rcpt(const Subject& subject, std::int64_t now_us) {
  const auto s = settings();
  if (!s->config.enabled) return std::nullopt;
  return charge(*s, Count::Recipients, subject, nullptr, now_us);
}

std::optional<Deferral> Throttle::message(const std::vector<std::string>& auth_domains,
                                          std::int64_t now_us) {
  const auto s = settings();
  if (!s->config.enabled || auth_domains.empty()) return std::nullopt;
  return charge(*s, Count::Messages, Subject{}, &auth_domains, now_us);
}

namespace {

bool ramping(const conf::ThrottleConfig& config, const History& history, std::int64_t now_us) {
  if (config.ramp_days == 0) return false;
  if (history.first_seen == 0) return true;
  return now_us / kSecondUs - history.first_seen <
         static_cast<std::int64_t>(config.ramp_days) * kDaySeconds;
}

std::uint64_t allowance(const conf::ThrottleConfig& config, const History& history) {
  return std::max<std::uint64_t>(
      config.ramp_floor,
      static_cast<std::uint64_t>(config.ramp_factor * history.accepted_previous_day));
}

std::optional<Deferral> hygiene(const conf::ThrottleConfig& config, const History& history,
                                std::string_view whose) {
  if (history.recipients < config.hygiene_min_recipients || history.recipients == 0) {
    return std::nullopt;
  }
  const double ratio = static_cast<double>(history.invalid_recipients) / history.recipients;
  if (ratio <= config.hygiene_ratio) return std::nullopt;
  return Deferral{"hygiene", reputation::Signal::InvalidRecipients,
                  fmt::format("hygiene: {} {} of {} recipients invalid in {} days ({:.0f}% > "
                              "{:.0f}%)",
                              whose, history.invalid_recipients, history.recipients,
                              config.hygiene_days, 100 * ratio, 100 * config.hygiene_ratio),
                  0};
}

}  // namespace

std::optional<std::uint64_t> ramp_allowance(const conf::ThrottleConfig& config,
                                            const History& history, std::int64_t now_us) {
  if (!ramping(config, history, now_us)) return std::nullopt;
  return allowance(config, history);
}

std::optional<Throttle::Ramp> Throttle::ramp(const std::string& key, const History& history,
                                             std::int64_t now_us) const {
  const auto s = settings();
  const auto allowed = ramp_allowance(s->config, history, now_us);
  if (!allowed) return std::nullopt;
  Ramp out{*allowed, 0};
  const auto value = table_.get("R|" + key, now_us);
  if (value && value->a == now_us / kDayUs) out.used = static_cast<std::uint64_t>(value->b);
  return out;
}

std::optional<Deferral> Throttle::ramp_check(const Settings& s, const char* name,
                                             const std::string& key, const History& history,
                                             std::int64_t now_us) {
  const auto state = ramp(key, history, now_us);
  if (!state || state->used < state->allowance) return std::nullopt;
  const std::int64_t next_day = (now_us / kDayUs + 1) * kDayUs;
  return Deferral{name, reputation::Signal::NewIpRamp,
                  fmt::format("{}: a new sender may deliver {} messages today ({} accepted; "
                              "allowance max({}, {:g} x yesterday's {}))",
                              name, state->allowance, state->used, s.config.ramp_floor,
                              s.config.ramp_factor, history.accepted_previous_day),
                  next_day - now_us};
}

std::optional<Deferral> Throttle::anomaly_check(const Settings& s, const Subject& subject,
                                                std::int64_t now_us) {
  const auto& config = s.config;
  if (config.anomaly_factor <= 0 || subject.ip_history.first_seen == 0 ||
      ramping(config, subject.ip_history, now_us)) {
    return std::nullopt;
  }
  const auto value = table_.get("A|" + subject.ip, now_us);
  const std::int64_t hour = now_us / kHourUs;
  if (!value || value->a != hour) return std::nullopt;
  const double baseline =
      value->c >= 0 ? value->c : subject.ip_history.accepted_last_week / kHoursPerWeek;
  const double threshold =
      std::max<double>(config.anomaly_min_per_hour, config.anomaly_factor * baseline);
  if (static_cast<double>(value->b) < threshold) return std::nullopt;
  return Deferral{"anomaly", reputation::Signal::Anomaly,
                  fmt::format("anomaly: {} messages this hour, over {:g} x the hourly baseline "
                              "{:.1f} (and at least {})",
                              value->b, config.anomaly_factor, baseline,
                              config.anomaly_min_per_hour),
                  (hour + 1) * kHourUs - now_us};
}

std::optional<Deferral> Throttle::mail(const Subject& subject, std::int64_t now_us) {
  const auto s = settings();
  if (!s->config.enabled) return std::nullopt;
  if (auto d = hygiene(s->config, subject.ip_history, "IP")) return d;
  if (subject.sender_domain_history) {
    if (auto d = hygiene(s->config, *subject.sender_domain_history, "sender domain")) return d;
  }
  if (auto d = ramp_check(*s, "ramp", subject.ip, subject.ip_history, now_us)) return d;
  if (!subject.network.empty()) {
    if (auto d = ramp_check(*s, "network-ramp", subject.network, subject.network_history,
                            now_us)) {
      return d;
    }
  }
  if (auto d = anomaly_check(*s, subject, now_us)) return d;
  return charge(*s, Count::Messages, subject, nullptr, now_us);
}

void Throttle::accepted(const Subject& subject, std::int64_t now_us) {
  const auto s = settings();
  if (!s->config.enabled) return;
  const auto ramp_day = [&](const std::string& key, const History& history) {
    if (key.empty() || !ramping(s->config, history, now_us)) return;
    const std::string day_key = "R|" + key;
    count_day(day_key, 1, now_us);
    if (charge_sink_) charge_sink_(day_key);
  };
  ramp_day(subject.ip, subject.ip_history);
  ramp_day(subject.network, subject.network_history);
  if (s->config.anomaly_factor <= 0 || subject.ip_history.first_seen == 0) return;
  const std::string hour_key = "A|" + subject.ip;
  count_hour(*s, hour_key, 1, subject.ip_history.accepted_last_week / kHoursPerWeek, now_us);
  if (charge_sink_) charge_sink_(hour_key);
}

// Today's accepted messages of a ramping key ("R|<key>": a = the day, b = the count), kept
// until the day ends.
void Throttle::count_day(const std::string& key, std::uint32_t events, std::int64_t now_us) {
  const std::int64_t day = now_us / kDayUs;
  table_.update(key, now_us, [&](Value& value, bool) {
    if (value.a != day) value = Value{day, 0, 0};
    value.b += events;
    return std::pair{(day + 1) * kDayUs, 0};
  });
}

// This hour's accepted messages of an IP ("A|<ip>": a = the hour, b = the count, c = the
// baseline, an EWMA per hour). The baseline starts from the last week of the IP's record
// (`seed`), unknown (-1) when counted for another node (which knows the record) until this
// node accepts from the IP or checks it.
void Throttle::count_hour(const Settings& s, const std::string& key, std::uint32_t events,
                          std::optional<double> seed, std::int64_t now_us) {
  const std::int64_t hour = now_us / kHourUs;
  const double keep = s.keep_per_hour;
  const auto lifetime = 10 * std::max<std::int64_t>(kHourUs, micros(s.config.anomaly_half_life));
  table_.update(key, now_us, [&](Value& value, bool fresh) {
    if (fresh) value = Value{hour, 0, -1};
    if (value.c < 0 && seed) value.c = *seed;
    if (value.a != hour) {
      if (value.c >= 0) {
        // The hour that ended joins the baseline; hours without mail pull it down.
        value.c = keep * value.c + (1 - keep) * static_cast<double>(value.b);
        const auto idle = std::clamp<std::int64_t>(hour - value.a - 1, 0, 24 * 365);
        value.c *= std::pow(keep, static_cast<double>(idle));
      }
      value.a = hour;
      value.b = 0;
    }
    value.b += events;
    return std::pair{now_us + lifetime, 0};
  });
}

namespace {

constexpr std::int64_t kDeferralKeepUs = 7 * kDayUs;

void put64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool get64(std::string_view& in, std::uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(8);
  return true;
}

void put_text(std::string& out, std::string_view text) {
  put64(out, text.size());
  out.append(text);
}

bool get_text(std::string_view& in, std::string& text) {
  std::uint64_t size = 0;
  if (!get64(in, size) || in.size() < size) return false;
  text.assign(in.substr(0, size));
  in.remove_prefix(size);
  return true;
}

}  // namespace

void Throttle::note_deferral(const std::string& ip_key, const Deferral& deferral,
                             std::int64_t now_us) {
  std::lock_guard lock(deferrals_mutex_);
  if (deferrals_.size() >= kMaxDeferralRecords && !deferrals_.contains(ip_key)) {
    std::erase_if(deferrals_, [&](const auto& item) {
      return item.second.at_us < now_us - kDeferralKeepUs / 7;  // older than a day first
    });
    if (deferrals_.size() >= kMaxDeferralRecords) deferrals_.clear();
  }
  deferrals_[ip_key] = DeferralRecord{
      deferral.limit, deferral.reason, now_us,
      deferral.retry_after_us > 0 ? now_us + deferral.retry_after_us : 0};
}

std::optional<Throttle::DeferralRecord> Throttle::last_deferral(const std::string& ip_key) const {
  std::lock_guard lock(deferrals_mutex_);
  const auto found = deferrals_.find(ip_key);
  if (found == deferrals_.end()) return std::nullopt;
  return found->second;
}

// Values: "T" + a, b, c (IEEE bits), expiry, 8 octets each, little-endian; deferral records:
// "D" + at, until, limit, reason. Keys as in the table ("L|", "R|", "A|"), "D|" + IP key.
std::vector<std::pair<std::string, std::string>> Throttle::save(std::int64_t now_us) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& entry : table_.snapshot(now_us)) {
    std::string value = "T";
    put64(value, static_cast<std::uint64_t>(entry.value.a));
    put64(value, static_cast<std::uint64_t>(entry.value.b));
    put64(value, std::bit_cast<std::uint64_t>(entry.value.c));
    put64(value, static_cast<std::uint64_t>(entry.expires_us));
    out.emplace_back(std::move(entry.key), std::move(value));
  }
  std::lock_guard lock(deferrals_mutex_);
  for (const auto& [ip, record] : deferrals_) {
    if (record.at_us + kDeferralKeepUs <= now_us) continue;
    std::string value = "D";
    put64(value, static_cast<std::uint64_t>(record.at_us));
    put64(value, static_cast<std::uint64_t>(record.until_us));
    put_text(value, record.limit);
    put_text(value, record.reason);
    out.emplace_back("D|" + ip, std::move(value));
  }
  return out;
}

bool Throttle::load(std::string_view key, std::string_view value, std::int64_t now_us) {
  if (value.empty()) return false;
  const char kind = value.front();
  value.remove_prefix(1);
  std::uint64_t a = 0, b = 0, c = 0, d = 0;
  if (kind == 'T' && key.size() > 2 && get64(value, a) && get64(value, b) && get64(value, c) &&
      get64(value, d) && value.empty()) {
    Entry entry{std::string(key),
                Value{static_cast<std::int64_t>(a), static_cast<std::int64_t>(b),
                      std::bit_cast<double>(c)},
                static_cast<std::int64_t>(d), now_us};
    if (entry.expires_us <= now_us || !std::isfinite(entry.value.c)) return false;
    table_.restore({entry}, now_us);
    return true;
  }
  DeferralRecord record;
  if (kind == 'D' && key.starts_with("D|") && get64(value, a) && get64(value, b) &&
      get_text(value, record.limit) && get_text(value, record.reason) && value.empty()) {
    record.at_us = static_cast<std::int64_t>(a);
    record.until_us = static_cast<std::int64_t>(b);
    if (record.at_us + kDeferralKeepUs <= now_us) return false;
    std::lock_guard lock(deferrals_mutex_);
    if (deferrals_.size() >= kMaxDeferralRecords) return false;
    deferrals_[std::string(key.substr(2))] = std::move(record);
    return true;
  }
  return false;
}

}  // namespace mxgate::throttle
