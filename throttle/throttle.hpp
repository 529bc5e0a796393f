// Throttle: the sending-pattern decisions of issue 6, over one StateTable shared by all workers.
//   - Named rate limits ([[limit]], GCRA per key): connections at connect, messages at MAIL
//     (auth_domain ones at end of data), recipients at RCPT. An event is charged to every
//     limit that applies only when all of them admit it.
//   - New-IP ramp: an IP (and its network) first seen less than ramp_days ago has at most
//     max(ramp_floor, ramp_factor x its previous day's accepted messages) accepted per day;
//     today's count is kept here, exact across workers, and saved with the rest.
//   In fleet mode (issue 19) the limits', the ramp's and the anomaly check's counts include
//   the other nodes' (set_charge_sink, charge_remote), about flush_interval late.
//   - Anomaly: an established IP whose accepted messages this hour reach anomaly_factor x its
//     hourly baseline (an EWMA per hour with anomaly_half_life, seeded from the last week in
//     the reputation record) and at least anomaly_min_per_hour.
//   - List hygiene: invalid recipients over hygiene_ratio of at least hygiene_min_recipients in
//     the last hygiene_days, from the reputation records of the IP and the sender domain.
// Each refusal is a Deferral that names its limit. The caller exempts trusted and allow-listed
// clients, and turns a Deferral into "421 4.7.0 Deferred - see <url>?ip=<ip>".
// Times: Unix microseconds from the caller (tests use a manual clock).
// Threading: thread-safe (the table's stripes; configure() swaps the settings atomically).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "reputation/record.hpp"
#include "reputation/verdict.hpp"
#include "throttle/gcra.hpp"
#include "throttle/state_table.hpp"

namespace mxgate::throttle {

// What the reputation record of a key says, as far as throttling cares.
struct History {
  std::int64_t first_seen = 0;             // 0: never seen
  std::uint32_t accepted_today = 0;        // today so far (UTC), as far as recorded
  std::uint32_t accepted_previous_day = 0;  // yesterday (UTC)
  std::uint32_t accepted_last_week = 0;     // the seven days before today
  std::uint32_t invalid_recipients = 0;     // over the hygiene window
  std::uint32_t recipients = 0;             // accepted + rejected, over the hygiene window
};

History history_of(const reputation::Record& record, std::int64_t now_seconds,
                   std::uint32_t hygiene_days);

// The messages a key first seen less than ramp_days ago may have accepted today, or nullopt
// when it is not ramping (established, or the ramp is off).
std::optional<std::uint64_t> ramp_allowance(const conf::ThrottleConfig& config,
                                            const History& history, std::int64_t now_us);

// Who is asking, as far as known at the stage.
struct Subject {
  std::string ip;             // the IP's key (storage::ip_key)
  std::string network;        // its network's key (/24 or /64), "" for none
  std::string sender_domain;  // the MAIL FROM domain's key, "" before MAIL or for <>
  History ip_history;
  History network_history;
  std::optional<History> sender_domain_history;  // at MAIL, when the record was read
};

struct Deferral {
  std::string limit;  // a [[limit]] name, or "ramp", "network-ramp", "anomaly", "hygiene"
  reputation::Signal signal = reputation::Signal::RateLimited;
  std::string reason;
  std::int64_t retry_after_us = 0;  // 0: unknown (ramp: the next day)
};

class Throttle {
 public:
  explicit Throttle(const conf::ThrottleConfig& config);
  // New limits and thresholds (reload). State of limits that keep their name is kept.
  void configure(const conf::ThrottleConfig& config);

  std::optional<Deferral> connect(const Subject& subject, std::int64_t now_us);
  std::optional<Deferral> mail(const Subject& subject, std::int64_t now_us);
  std::optional<Deferral> rcpt(const Subject& subject, std::int64_t now_us);
  // End of data: the auth_domain limits, for the domains that authenticated the message.
  std::optional<Deferral> message(const std::vector<std::string>& auth_domains,
                                  std::int64_t now_us);
  // A message was accepted (250 at end of data): the ramp and anomaly counts.
  void accepted(const Subject& subject, std::int64_t now_us);

  // The ramp of a key at `now`: its allowance today and what it used (for logs and the
  // portal); nullopt when the key is not ramping (established, or the ramp is off).
  struct Ramp {
    std::uint64_t allowance = 0;
    std::uint64_t used = 0;
  };
  std::optional<Ramp> ramp(const std::string& key, const History& history,
                           std::int64_t now_us) const;

  // The last deferral of each client IP (by its key), for the postmaster portal; kept a week,
  // at most kMaxDeferralRecords.
  struct DeferralRecord {
    std::string limit;
    std::string reason;
    std::int64_t at_us = 0;
    std::int64_t until_us = 0;  // 0: unknown
  };
  static constexpr std::size_t kMaxDeferralRecords = 100000;
  void note_deferral(const std::string& ip_key, const Deferral& deferral, std::int64_t now_us);
  std::optional<DeferralRecord> last_deferral(const std::string& ip_key) const;

  // Persistence (ReputationStore::save_state/load_state): every live entry as key and value.
  std::vector<std::pair<std::string, std::string>> save(std::int64_t now_us) const;
  // Takes back one saved entry; expired or undecodable ones are skipped. Returns whether kept.
  bool load(std::string_view key, std::string_view value, std::int64_t now_us);

  // Fleet mode (issue 19): `sink` hears of every event counted here that the other nodes
  // must count too, by its table key: an event a [[limit]] admitted ("L|<limit>|<subject>"), a
  // message a ramping key accepted ("R|<key>"), a message counted for the anomaly check
  // ("A|<ip>"). Set it once, before the throttle is shared; it must be quick (the SMTP path).
  using ChargeSink = std::function<void(const std::string& key)>;
  void set_charge_sink(ChargeSink sink) { charge_sink_ = std::move(sink); }
  // `events` another node counted for `key`: a limit's TAT moves on as if they had been
  // admitted here (beyond any tolerance: they happened); a ramp's day count and an IP's hour
  // count grow by them. A key of a limit this node does not have is ignored.
  void charge_remote(std::string_view key, std::uint32_t events, std::int64_t now_us);

  StateTable& table() { return table_; }
  const StateTable& table() const { return table_; }

 private:
  struct Settings;
  std::shared_ptr<const Settings> settings() const;
  std::optional<Deferral> charge(const Settings& settings, conf::LimitConfig::Count count,
                                 const Subject& subject,
                                 const std::vector<std::string>* auth_domains,
                                 std::int64_t now_us);
  std::optional<Deferral> ramp_check(const Settings& settings, const char* name,
                                     const std::string& key, const History& history,
                                     std::int64_t now_us);
  std::optional<Deferral> anomaly_check(const Settings& settings, const Subject& subject,
                                        std::int64_t now_us);
  void count_day(const std::string& key, std::uint32_t events, std::int64_t now_us);
  void count_hour(const Settings& settings, const std::string& key, std::uint32_t events,
                  std::optional<double> seed, std::int64_t now_us);

  StateTable table_;
  std::atomic<std::shared_ptr<const Settings>> settings_;
  ChargeSink charge_sink_;
  mutable std::mutex deferrals_mutex_;
  std::unordered_map<std::string, DeferralRecord> deferrals_;  // by IP key
};

}  // namespace mxgate::throttle
