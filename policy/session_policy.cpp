#include "policy/session_policy.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <iterator>
#include <random>

#include "common/log.hpp"
#include "policy/throttling.hpp"
#include "reputation/dnsbl.hpp"
#include "reputation/replies.hpp"
#include "storage/key_codec.hpp"

namespace mxgate::policy {

namespace asio = boost::asio;
using reputation::Action;
using reputation::Stage;

namespace {

constexpr std::size_t kMaxSignalsText = 1024;

bool refuses(Action action) {
  return action == Action::Reject || action == Action::Defer || action == Action::Drop;
}

reputation::Counters refusal_counters(Action action) {
  reputation::Counters delta;
  (action == Action::Defer ? delta.deferred : delta.rejected) = 1;
  return delta;
}

}  // namespace

SessionPolicy::SessionPolicy(const Services& context, const Rules& rules,
                             const std::string& session_id)
    : context_(context),
      rules_(rules),
      config_(*rules.config),
      session_id_(session_id),
      verdict_(config_.reputation.thresholds) {
  history_facts_->hygiene_days = config_.throttle.hygiene_days;
}

void SessionPolicy::set_client(const std::string& ip_text) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(ip_text, ec);
  ip_text_ = ip_text;
  address_.reset();
  ip_ = common::parse_ip(ip_text);
  trusted_ =
      ip_ && std::any_of(rules_.trusted_clients.begin(), rules_.trusted_clients.end(),
                         [&](const common::Cidr& network) { return network.contains(*ip_); });
  ip_keys_.clear();
  if (ec) return;
  address_ = address;
  ip_keys_.push_back(storage::ip_key(address));
  for (auto& key : context_.store.network_keys(address)) ip_keys_.push_back(std::move(key));
}

const reputation::CheckSettings& SessionPolicy::settings(std::string_view check) const {
  for (const auto& settings : config_.checks) {
    if (settings.name == check) return settings;
  }
  throw std::logic_error("unknown check " + std::string(check));  // checks.cpp lists them all
}

// Checks in mode "off" are not run at all.
void SessionPolicy::add_check(std::vector<PendingCheck>& checks, PendingCheck check) const {
  if (check.settings.mode != reputation::CheckSettings::Mode::Off) {
    checks.push_back(std::move(check));
  }
}

// One check per zone of `type` that is up; `target` is the address or domain asked about.
void SessionPolicy::add_dnsbl_checks(std::vector<PendingCheck>& checks,
                                     conf::DnsblConfig::Type type,
                                     const std::string& target) const {
  if (!dns_checks() || target.empty()) return;
  const auto& check = settings(type == conf::DnsblConfig::Type::Ip ? "dnsbl" : "rhsbl");
  if (check.mode == reputation::CheckSettings::Mode::Off) return;
  for (const auto& zone : rules_.dnsbls) {
    if (zone->config.type != type || !zone->state->up.load(std::memory_order_relaxed)) continue;
    const auto name = type == conf::DnsblConfig::Type::Ip
                          ? reputation::dnsbl_query_name(*ip_, zone->config.zone)
                          : reputation::rhsbl_query_name(target, zone->config.zone);
    add_check(checks, dnsbl_zone_check(*context_.resolver, check, zone, name));
  }
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::screen_history() {
  if (!address_) co_return std::nullopt;
  std::vector<PendingCheck> checks;
  add_check(checks, ip_history_check(context_, settings("ip_history"), *address_,
                                     config_.reputation.model, history_facts_));
  history_ = co_await run_checks(std::move(checks));
  const auto peek = reputation::decide(history_, config_.reputation.thresholds);
  // An explicit refusal or an allow decides the connect stage now; anything else waits for
  // the DNS checks (screen_dns).
  const bool decided = peek.action == Action::Accept || (refuses(peek.action) && !peek.score_based);
  if (!decided) co_return std::nullopt;
  auto refusal = co_await run_stage(Stage::Connect, {});
  co_return refusal;
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::screen_dns(std::vector<PendingCheck> extra) {
  std::vector<PendingCheck> checks = std::move(extra);
  if (dns_checks() && !verdict_.allowed()) {
    add_check(checks, rdns_check(*context_.resolver, settings("rdns"), *ip_, dns_facts_));
    add_dnsbl_checks(checks, conf::DnsblConfig::Type::Ip, ip_text_);
  }
  auto outcomes = co_await run_checks(std::move(checks));
  if (throttled()) {
    auto throttle =
        throttle_outcome(context_.throttling->rules().connect(subject(), unix_now_us()));
    outcomes.insert(outcomes.end(), throttle.begin(), throttle.end());
  }
  auto refusal = decide_stage(Stage::Connect, std::move(outcomes));
  if (refusal) record(refusal_counters(refusal->action));
  co_return refusal;
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::helo(const std::string& name) {
  helo_ = name;
  std::vector<PendingCheck> checks;
  if (dns_checks() && !verdict_.allowed()) {
    add_check(checks, helo_check(*context_.resolver, settings("helo"), name, *ip_,
                                 config_.server.hostname, dns_facts_));
  }
  if (checks.empty()) co_return std::nullopt;
  auto refusal = co_await run_stage(Stage::Helo, std::move(checks));
  co_return refusal;
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::mail(const smtp::Path& from) {
  const bool named = !from.domain.empty() && from.domain.front() != '[';  // not a literal
  sender_domain_ = named ? storage::domain_key(from.domain) : std::string();
  std::vector<PendingCheck> checks;
  auth_ = std::make_shared<AuthFindings>();
  if (authenticating()) {
    auth_->identity = auth::spf::Identity{*ip_, helo_, from.address()};
    if (enabled("spf")) {
      auth::spf::Options options;
      options.receiver = config_.server.hostname;
      options.now = unix_now();
      checks.push_back(spf_check(*context_.resolver, settings("spf"), options, auth_));
    }
  }
  history_facts_->sender_domain.reset();
  if (!sender_domain_.empty()) {
    add_check(checks,
              sender_domain_check(context_, settings("sender_domain_history"), sender_domain_,
                                  config_.reputation.model, history_facts_));
    if (dns_checks()) {
      add_check(checks, sender_domain_dns_check(*context_.resolver, settings("sender_domain"),
                                                sender_domain_));
    }
    add_dnsbl_checks(checks, conf::DnsblConfig::Type::SenderDomain, sender_domain_);
  }
  const bool helo_domain = !helo_.empty() && helo_.front() != '[' && !common::parse_ip(helo_);
  if (helo_domain) add_dnsbl_checks(checks, conf::DnsblConfig::Type::Helo, helo_);
  auto outcomes = co_await run_checks(std::move(checks));
  if (throttled()) {
    auto throttle = throttle_outcome(context_.throttling->rules().mail(subject(), unix_now_us()));
    outcomes.insert(outcomes.end(), throttle.begin(), throttle.end());
  }
  auto refusal = decide_stage(Stage::Mail, std::move(outcomes));
  if (refusal) record(refusal_counters(refusal->action));
  co_return refusal;
}

// The reply is recorded by record_rcpt(), like every RCPT reply.
std::optional<Refusal> SessionPolicy::rcpt() {
  if (verdict_.pending_reject()) return answer(Stage::Rcpt, verdict_.on_stage(Stage::Rcpt, {}));
  if (!throttled()) return std::nullopt;
  auto outcomes = throttle_outcome(context_.throttling->rules().rcpt(subject(), unix_now_us()));
  if (outcomes.empty()) return std::nullopt;
  return decide_stage(Stage::Rcpt, std::move(outcomes));
}

std::optional<Refusal> SessionPolicy::unknown_recipient() {
  const auto limit = config_.throttle.dictionary_limit;
  if (!throttled() || limit == 0 || ++unknown_recipients_ < limit) return std::nullopt;
  throttle::Deferral deferral{
      "dictionary", reputation::Signal::InvalidRecipients,
      fmt::format("dictionary attack: {} unknown recipients in one session", unknown_recipients_),
      0};
  return decide_stage(Stage::Rcpt, throttle_outcome(std::move(deferral)));
}

bool SessionPolicy::throttled() const {
  return context_.throttling != nullptr && config_.throttle.enabled && address_ && !trusted_ &&
         !verdict_.allowed() && enabled("throttle");
}

throttle::Subject SessionPolicy::subject() const {
  throttle::Subject s;
  if (!ip_keys_.empty()) s.ip = ip_keys_.front();
  if (ip_keys_.size() > 1) s.network = ip_keys_.back();  // the most specific network
  s.sender_domain = sender_domain_;
  if (history_facts_->ip) s.ip_history = *history_facts_->ip;
  if (history_facts_->network) s.network_history = *history_facts_->network;
  s.sender_domain_history = history_facts_->sender_domain;
  return s;
}

std::vector<reputation::CheckOutcome> SessionPolicy::throttle_outcome(
    std::optional<throttle::Deferral> deferral) {
  if (!deferral) return {};
  const auto& check = settings("throttle");
  if (check.mode == reputation::CheckSettings::Mode::Enforce) {
    context_.throttling->deferred(ip_keys_.front(), *deferral, unix_now_us());
  }
  return {reputation::CheckOutcome{
      check, reputation::Verdict::drop(deferral->signal, std::move(deferral->reason)), false,
      false}};
}

void SessionPolicy::reset_transaction() {
  verdict_.reset_transaction();
  sender_domain_.clear();
  auth_.reset();
  auth_header_.clear();
}

bool SessionPolicy::authenticating() const { return config_.auth.enabled && dns_checks(); }

std::shared_ptr<auth::MessageScanner> SessionPolicy::make_scanner() const {
  return std::make_shared<auth::MessageScanner>(
      config_.auth.authserv_id,
      auth::ScanLimits{config_.auth.max_signatures, config_.auth.max_header_size});
}

namespace {

asio::awaitable<void> warm(dns::Resolver& resolver, std::string name) {
  (void)co_await resolver.txt(std::move(name));
}

auth::dmarc::PolicyLookup policy_lookup(const conf::AuthConfig& config) {
  return config.dmarc_policy_lookup == conf::AuthConfig::PolicyLookup::TreeWalk
             ? auth::dmarc::PolicyLookup::TreeWalk
             : auth::dmarc::PolicyLookup::PublicSuffixList;
}

// Uniform in [0, 1), for DMARC's pct= sampling.
double sample() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(generator);
}

}  // namespace

void SessionPolicy::prefetch(const asio::any_io_executor& executor,
                             const auth::MessageScanner& message) {
  std::vector<std::string> names;
  if (enabled("dkim")) names = message.key_names();
  if (enabled("dmarc") && message.from().domain) {
    const std::string& from = *message.from().domain;
    names.push_back("_dmarc." + from);
    const auto organization = auth::dmarc::organizational_domain(from);
    if (policy_lookup(config_.auth) == auth::dmarc::PolicyLookup::PublicSuffixList &&
        organization != from) {
      names.push_back("_dmarc." + organization);
    }
  }
  for (auto& name : names) {
    if (!context_.resolver->peek_txt(name)) {
      asio::co_spawn(executor, warm(*context_.resolver, std::move(name)), asio::detached);
    }
  }
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::end_of_data(
    std::shared_ptr<const auth::MessageScanner> message) {
  if (!authenticating() || !auth_) co_return std::nullopt;
  std::vector<PendingCheck> checks;
  if (enabled("dkim")) {
    checks.push_back(
        dkim_check(*context_.resolver, settings("dkim"), message, *context_.dkim_keys, auth_));
  }
  auto outcomes = co_await run_checks(std::move(checks));
  if (enabled("dmarc")) {
    DmarcEnforcement enforcement;
    enforcement.reject = config_.auth.dmarc_reject;
    enforcement.quarantine = config_.auth.dmarc_quarantine;
    enforcement.allowed = verdict_.allowed();
    enforcement.sample = sample();
    checks.clear();
    checks.push_back(dmarc_check(*context_.resolver, settings("dmarc"), message,
                                 policy_lookup(config_.auth), enforcement, auth_));
    auto dmarc = co_await run_checks(std::move(checks));
    outcomes.insert(outcomes.end(), std::make_move_iterator(dmarc.begin()),
                    std::make_move_iterator(dmarc.end()));
  }
  if (throttled()) {
    auto throttle = throttle_outcome(
        context_.throttling->rules().message(auth_->authenticated_domains(), unix_now_us()));
    outcomes.insert(outcomes.end(), throttle.begin(), throttle.end());
  }
  const std::string& ptr_name = dns_facts_->confirmed_name.empty() && !dns_facts_->ptr_names.empty()
                                    ? dns_facts_->ptr_names.front()
                                    : dns_facts_->confirmed_name;
  const auto results =
      auth_results(*auth_, config_.auth.authserv_id, ip_text_, dns_facts_->iprev, ptr_name);
  count_results(results);
  auth_header_ = "Authentication-Results: " + auth::format_results(results, true) + "\r\n";
  // The final reply is recorded by record_message(), not here.
  co_return decide_stage(Stage::EndOfData, std::move(outcomes));
}

void SessionPolicy::count_results(const auth::AuthResults& results) const {
  auto& metrics = context_.verdicts;
  if (results.spf) metrics.count_auth("spf", results.spf->result);
  if (results.dkim.empty()) metrics.count_auth("dkim", "none");
  for (const auto& dkim : results.dkim) metrics.count_auth("dkim", dkim.result);
  if (results.dmarc) metrics.count_auth("dmarc", results.dmarc->result);
  if (results.iprev) metrics.count_auth("iprev", results.iprev->result);
}

std::string SessionPolicy::auth_summary() const {
  if (!auth_ || !authenticating()) return {};
  std::string out;
  if (auth_->spf) out += "spf:" + std::string(auth::spf::result_name(auth_->spf->result));
  if (auth_->dkim) {
    out += out.empty() ? "dkim:" : ",dkim:";
    if (auth_->dkim->empty()) out += "none";
    for (std::size_t i = 0; i < auth_->dkim->size(); ++i) {
      if (i > 0) out += '+';
      out += auth::to_string((*auth_->dkim)[i].verdict.status);
    }
  }
  if (auth_->dmarc) {
    out += (out.empty() ? "dmarc:" : ",dmarc:") +
           std::string(auth::dmarc::result_name(auth_->dmarc->result));
  }
  return out;
}

// Domain reputation is credited only to a domain that authenticated (issue 5): a forger must
// neither earn a domain's good name nor spend it. Trusted clients and a gateway without
// authentication keep crediting the envelope domain.
bool SessionPolicy::sender_credited() const {
  if (!authenticating() || !auth_) return true;
  if (auth_->sender_authenticated()) return true;
  const auto domains = auth_->authenticated_domains();
  return std::any_of(domains.begin(), domains.end(), [&](const std::string& domain) {
    return auth::dmarc::aligned(domain, sender_domain_, auth::dmarc::Alignment::Relaxed);
  });
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::run_stage(Stage stage,
                                                                 std::vector<PendingCheck> checks) {
  auto outcomes = co_await run_checks(std::move(checks));
  auto refusal = decide_stage(stage, std::move(outcomes));
  if (refusal) record(refusal_counters(refusal->action));
  co_return refusal;
}

std::optional<Refusal> SessionPolicy::decide_stage(Stage stage,
                                                   std::vector<reputation::CheckOutcome> outcomes) {
  if (stage == Stage::Connect) {
    // The history's outcomes come first: pipeline order breaks ties (policy.hpp rule 3).
    outcomes.insert(outcomes.begin(), std::make_move_iterator(history_.begin()),
                    std::make_move_iterator(history_.end()));
    history_.clear();
  }
  const auto stage_answer = verdict_.on_stage(stage, outcomes);
  note(stage, stage_answer.decision);
  return answer(stage, stage_answer);
}

// The session line's signals= list. A client may repeat EHLO, and every run of the HELO checks
// raises its signals again: the list stops growing at kMaxSignalsText.
void SessionPolicy::append_signal(const reputation::FiredSignal& fired, bool observe) {
  if (signals_.size() >= kMaxSignalsText) {
    if (!signals_.ends_with(",...")) signals_ += ",...";
    return;
  }
  if (!signals_.empty()) signals_ += ',';
  fmt::format_to(std::back_inserter(signals_), "{}:{}:{:g}{}", fired.check,
                 reputation::signal_name(fired.signal), fired.score, observe ? ":observe" : "");
}

// Logs and counts what a stage decided and every signal its checks raised.
void SessionPolicy::note(Stage stage, const reputation::StageDecision& decision) {
  for (const auto& fired : decision.fired) {
    const bool observe = settings(fired.check).mode == reputation::CheckSettings::Mode::Observe;
    context_.verdicts.count_signal(fired.check, fired.signal, observe);
    append_signal(fired, observe);
    if (observe && spdlog::should_log(spdlog::level::info)) {
      spdlog::info(
          "observed session={} client={} stage={} check={} signal={} action={} "
          "score={:g} reason={}",
          session_id_, ip_text_, reputation::stage_name(stage), fired.check,
          reputation::signal_name(fired.signal), reputation::action_name(fired.action), fired.score,
          common::escape(fired.reason));
    }
  }
  if (decision.action == Action::Quarantine) {
    quarantine_signal_ = decision.signal;
    quarantine_reason_ = decision.reason;
  }
}

std::optional<Refusal> SessionPolicy::answer(Stage stage,
                                             const reputation::StageAnswer& stage_answer) {
  // A quarantine is counted once the message is accepted into it (record_message).
  const bool quarantine_now =
      stage == Stage::EndOfData && stage_answer.action == Action::Quarantine;
  if (stage_answer.action != Action::Continue && !quarantine_now) {
    context_.verdicts.count_verdict(stage, stage_answer.action, stage_answer.signal);
  }
  if (stage_answer.postponed && spdlog::should_log(spdlog::level::info)) {
    spdlog::info("postponed session={} client={} stage={} signal={} score={:g} reason={}",
                 session_id_, ip_text_, reputation::stage_name(stage),
                 reputation::signal_name(stage_answer.signal), stage_answer.decision.score,
                 common::escape(stage_answer.reason));
  }
  if (!refuses(stage_answer.action)) return std::nullopt;
  const bool scored = stage_answer.decision.score_based || stage_answer.from_earlier;
  Refusal refusal{reputation::reply_for(stage, stage_answer.action, stage_answer.signal, ip_text_,
                                        config_.reputation.postmaster_url, scored),
                  stage == Stage::Connect || stage_answer.action == Action::Drop,
                  stage_answer.action};
  if (!spdlog::should_log(spdlog::level::info)) return refusal;
  spdlog::info(
      "refused session={} client={} stage={} action={} signal={} score={:g} reply={} "
      "reason={}",
      session_id_, ip_text_, reputation::stage_name(stage),
      reputation::action_name(stage_answer.action), reputation::signal_name(stage_answer.signal),
      stage_answer.decision.score, refusal.reply.code, common::escape(stage_answer.reason));
  return refusal;
}

std::string SessionPolicy::quarantine_header() const {
  std::string line = config_.reputation.quarantine_header +
                     ": signal=" + std::string(reputation::signal_name(quarantine_signal_)) +
                     "; session=" + session_id_;
  if (!quarantine_reason_.empty()) {
    // Header text: printable, one line (RFC 5322 §2.2); reasons are ours, but be safe.
    std::string reason = quarantine_reason_;
    for (char& c : reason) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    line += "; reason=\"" + reason + "\"";
  }
  return line + "\r\n";
}

void SessionPolicy::record_rcpt(const smtp::Reply& reply) {
  if (reply.positive()) return;
  reputation::Counters delta;
  if (reply.transient()) {
    delta.deferred = 1;
  } else {
    delta.rejected = 1;
    // RFC 3463 §3.2: X.1.1 "Bad destination mailbox address".
    if (reply.enhanced == "5.1.1") delta.invalid_recipients = 1;
  }
  record(delta);
}

void SessionPolicy::record_message(const smtp::Reply& final_reply) {
  reputation::Counters delta;
  if (auth_ && auth_->failed()) delta.auth_failures = 1;
  if (final_reply.positive()) {
    delta.accepted = 1;
    if (throttled()) context_.throttling->rules().accepted(subject(), unix_now_us());
    if (quarantined()) {
      context_.metrics.quarantined_messages.Increment();
      context_.verdicts.count_verdict(Stage::EndOfData, Action::Quarantine, quarantine_signal_);
    }
  } else if (final_reply.transient()) {
    delta.deferred = 1;
  } else {
    delta.rejected = 1;
  }
  record(delta);
}

void SessionPolicy::record(const reputation::Counters& delta) {
  const auto now = unix_now();
  const auto day = static_cast<std::uint32_t>(now / reputation::kSecondsPerDay);
  auto add = [&](storage::Family family, const std::string& key) {
    if (context_.store.add(family, key, day, delta, now)) {
      context_.metrics.reputation_updates_dropped.Increment();
    } else {
      context_.metrics.reputation_updates_written.Increment();
    }
  };
  for (std::size_t i = 0; i < ip_keys_.size(); ++i) {
    add(i == 0 ? storage::Family::Ip : storage::Family::Network, ip_keys_[i]);
  }
  if (!sender_domain_.empty() && sender_credited()) {
    add(storage::Family::SenderDomain, sender_domain_);
  }
  if (!auth_) return;
  for (const auto& domain : auth_->authenticated_domains()) {
    add(storage::Family::AuthDomain, storage::domain_key(domain));
  }
}

}  // namespace mxgate::policy
