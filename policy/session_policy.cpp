#include "policy/session_policy.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <iterator>

#include "common/log.hpp"
#include "policy/content_checks.hpp"
#include "policy/greylisting.hpp"
#include "policy/throttle_checks.hpp"
#include "policy/throttling.hpp"
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

asio::awaitable<void> warm(dns::Resolver& resolver, std::string name) {
  (void)co_await resolver.txt(std::move(name));
}

}  // namespace

SessionPolicy::SessionPolicy(const Services& context, const Rules& rules,
                             const std::string& session_id)
    : context_(context),
      rules_(rules),
      config_(*rules.config),
      session_id_(session_id),
      verdict_(config_.reputation.thresholds) {
  facts_->history.hygiene_days = config_.throttle.hygiene_days;
}

void SessionPolicy::set_client(const std::string& ip_text) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(ip_text, ec);
  client_.ip_text = ip_text;
  client_.address.reset();
  client_.ip = common::parse_ip(ip_text);
  client_.trusted =
      client_.ip &&
      std::any_of(rules_.trusted_clients.begin(), rules_.trusted_clients.end(),
                  [&](const common::Cidr& network) { return network.contains(*client_.ip); });
  client_.keys.clear();
  if (ec) return;
  client_.address = address;
  client_.keys.push_back(storage::ip_key(address));
  for (auto& key : context_.store.network_keys(address)) client_.keys.push_back(std::move(key));
}

const reputation::CheckSettings& SessionPolicy::settings(std::string_view check) const {
  return check_settings(config_, check);
}

// What this session's checks see now. Rebuilt for every stage: it views the session's state.
CheckContext SessionPolicy::check_context(
    std::shared_ptr<const auth::MessageScanner> message,
    std::shared_ptr<const content::MessageParser> content) const {
  return CheckContext{.services = context_,
                      .rules = rules_,
                      .config = config_,
                      .client = client_,
                      .facts = facts_,
                      .allowed = verdict_.allowed(),
                      .helo = helo_,
                      .sender_domain = sender_domain_,
                      .message = std::move(message),
                      .content = std::move(content)};
}

// Runs the stage's phases from `first` on and decides; a refusal is recorded.
asio::awaitable<std::optional<Refusal>> SessionPolicy::run_stage(
    Stage stage, Phase first, std::vector<PendingCheck> provided) {
  const auto context = check_context();
  auto run = co_await run_stage_checks(stage, first, Phase::Limits, context, std::move(provided));
  // A HELO that ran no check decides nothing: its score would only repeat the connect stage's.
  if (stage == Stage::Helo && run.checks == 0) co_return std::nullopt;
  auto refusal = decide_stage(stage, std::move(run.outcomes));
  if (refusal) record(refusal_counters(refusal->action));
  co_return refusal;
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::screen_history() {
  const auto context = check_context();
  history_ =
      (co_await run_stage_checks(Stage::Connect, Phase::First, Phase::First, context)).outcomes;
  const auto peek = reputation::decide(history_, config_.reputation.thresholds);
  // An explicit refusal or an allow decides the connect stage now; anything else waits for
  // the DNS checks (screen_dns).
  const bool decided = peek.action == Action::Accept || (refuses(peek.action) && !peek.score_based);
  if (!decided) co_return std::nullopt;
  auto refusal = decide_stage(Stage::Connect, {});
  if (refusal) record(refusal_counters(refusal->action));
  co_return refusal;
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::screen_dns(std::vector<PendingCheck> extra) {
  co_return co_await run_stage(Stage::Connect, Phase::Main, std::move(extra));
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::helo(const std::string& name) {
  helo_ = name;
  co_return co_await run_stage(Stage::Helo, Phase::First, {});
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::mail(const smtp::Path& from) {
  const bool named = !from.domain.empty() && from.domain.front() != '[';  // not a literal
  sender_domain_ = named ? storage::domain_key(from.domain) : std::string();
  sender_ = from.address();
  facts_->auth = std::make_shared<AuthFindings>();
  facts_->content = std::make_shared<ContentFindings>();
  if (authenticating()) {
    facts_->auth->identity = auth::spf::Identity{*client_.ip, helo_, from.address()};
  }
  facts_->history.sender_domain.reset();
  co_return co_await run_stage(Stage::Mail, Phase::First, {});
}

// The reply is recorded by record_rcpt(), like every RCPT reply.
std::optional<Refusal> SessionPolicy::rcpt(std::string_view recipient) {
  if (verdict_.pending_reject()) {
    return answer(Stage::Rcpt, verdict_.on_stage(Stage::Rcpt, {}), recipient);
  }
  doubtful_rcpt_ = false;
  auto outcomes = stage_outcomes_now(Stage::Rcpt, check_context());
  if (!outcomes.empty()) {
    if (auto refusal = decide_stage(Stage::Rcpt, std::move(outcomes), recipient)) return refusal;
  }
  return greylist(recipient);
}

bool SessionPolicy::greylisting() const {
  return config_.greylist.enabled && context_.greylisting != nullptr && !client_.trusted &&
         !verdict_.allowed();
}

// Doubtful mode: a deferral that only the score's defer band decided (not an explicit one, not
// a check's error) lets the session go on to RCPT, where the triplet is greylisted. At the end
// of data it lets the message through once its recipients passed greylisting: the band's
// score is still there, and the sender has shown it retries, which is what the band asked.
bool SessionPolicy::greylists_instead(Stage stage, const reputation::StageAnswer& a) const {
  return config_.greylist.mode == conf::GreylistConfig::Mode::Doubtful && greylisting() &&
         a.action == Action::Defer && a.decision.score_based && !a.from_earlier &&
         (stage != Stage::EndOfData || greylist_passed_);
}

// The RCPT's greylisting decision; the reply is recorded by record_rcpt(), like every RCPT's.
std::optional<Refusal> SessionPolicy::greylist(std::string_view recipient) {
  if (!greylisting()) return std::nullopt;
  const bool doubtful = doubtful_session_ || doubtful_transaction_ || doubtful_rcpt_;
  if (config_.greylist.mode == conf::GreylistConfig::Mode::Doubtful && !doubtful) {
    return std::nullopt;
  }
  const auto triplet = throttle::make_triplet(client_.ip_text, sender_, recipient);
  if (!triplet) return std::nullopt;
  const auto result = context_.greylisting->check(*triplet, unix_now_us());
  const bool through = throttle::lets_through(result);
  if (spdlog::should_log(spdlog::level::info)) {
    std::string line = through ? "greylist" : "refused";
    common::append_kv(line, "session", session_id_);
    common::append_kv(line, "client", client_.ip_text);
    common::append_kv(line, "stage", "rcpt");
    common::append_kv(line, "rcpt", recipient);
    if (!through) common::append_kv(line, "action", "defer");
    common::append_kv(line, "by", "greylist");
    common::append_kv(line, "result", throttle::greylist_result_name(result));
    if (!through) common::append_kv(line, "reply", "451");
    spdlog::info("{}", line);
  }
  if (through) {
    greylist_passed_ = true;
    return std::nullopt;
  }
  return Refusal{reputation::greylisted_reply(client_.ip_text, config_.reputation.postmaster_url),
                 false, Action::Defer};
}

// Not a stage of the table: an event (a 550 5.1.1 answered) that the throttle counts.
std::optional<Refusal> SessionPolicy::unknown_recipient(std::string_view recipient) {
  const auto limit = config_.throttle.dictionary_limit;
  if (!throttled() || limit == 0 || ++unknown_recipients_ < limit) return std::nullopt;
  return decide_stage(Stage::Rcpt, dictionary_check(check_context(), unknown_recipients_),
                      recipient);
}

bool SessionPolicy::throttled() const { return throttle_on(check_context()); }

void SessionPolicy::reset_transaction() {
  verdict_.reset_transaction();
  sender_domain_.clear();
  sender_.clear();
  doubtful_transaction_ = false;
  greylist_passed_ = false;
  facts_->auth.reset();
  facts_->content.reset();
  auth_header_.clear();
}

bool SessionPolicy::authenticating() const { return check_context().authenticating(); }

std::shared_ptr<auth::MessageScanner> SessionPolicy::make_scanner() const {
  return std::make_shared<auth::MessageScanner>(
      config_.auth.authserv_id,
      auth::ScanLimits{config_.auth.max_signatures, config_.auth.max_header_size});
}

void SessionPolicy::prefetch(const asio::any_io_executor& executor,
                             const auth::MessageScanner& message) {
  if (!authenticating()) return;
  for (auto& name : prefetch_names(check_context(), message)) {
    if (!context_.resolver->peek_txt(name)) {
      asio::co_spawn(executor, warm(*context_.resolver, std::move(name)), asio::detached);
    }
  }
}

bool SessionPolicy::judging_content() const { return check_context().judging_content(); }

std::shared_ptr<content::MessageParser> SessionPolicy::make_parser(bool smtputf8) const {
  return std::make_shared<content::MessageParser>(parse_options(config_, smtputf8));
}

asio::awaitable<std::optional<Refusal>> SessionPolicy::end_of_data(
    std::shared_ptr<const auth::MessageScanner> message,
    std::shared_ptr<const content::MessageParser> content) {
  const bool auth = authenticating() && facts_->auth && message;
  if (!auth && !content) co_return std::nullopt;
  const auto context = check_context(auth ? std::move(message) : nullptr, std::move(content));
  auto run = co_await run_stage_checks(Stage::EndOfData, Phase::First, Phase::Limits, context);
  if (auth) write_auth_header();
  if (auth) note_arc_vouch();
  // The final reply is recorded by record_message(), not here.
  auto refusal = decide_stage(Stage::EndOfData, std::move(run.outcomes));
  if (refusal) note_linked_domain(*refusal);  // refused mail only: accepted mail pays nothing
  co_return refusal;
}

std::optional<storage::LinkedDomainNote> linked_domain_note(const ContentFindings& findings,
                                                            reputation::Action action,
                                                            std::int64_t now) {
  if (findings.listed_domain.empty()) return std::nullopt;
  if (action != Action::Reject && action != Action::Drop) return std::nullopt;
  return storage::LinkedDomainNote{findings.listed_domain, findings.listed_by,
                                   findings.listing_reason, now};
}

// Queued in the store's pending batch like the outcome counters (no I/O on the worker). A full
// batch drops it, as it drops counters then (mxgate_reputation_updates_total{result="dropped"}:
// the same shortage); a written note is not an outcome update and is not counted.
void SessionPolicy::note_linked_domain(const Refusal& refusal) {
  if (!facts_->content || client_.keys.empty()) return;
  const auto note = linked_domain_note(*facts_->content, refusal.action, unix_now());
  if (!note) return;
  if (context_.store.note_linked_domain(client_.keys[0], *note) == storage::Error::full) {
    context_.metrics.reputation_updates_dropped.Increment();
  }
}

// The Authentication-Results header of the message: what the checks found, and iprev.
void SessionPolicy::write_auth_header() {
  const auto& dns = facts_->dns;
  const std::string& ptr_name = dns.confirmed_name.empty() && !dns.ptr_names.empty()
                                    ? dns.ptr_names.front()
                                    : dns.confirmed_name;
  const auto results =
      auth_results(*facts_->auth, config_.auth.authserv_id, client_.ip_text, dns.iprev, ptr_name);
  count_results(context_.verdicts, results);
  auth_header_ = "Authentication-Results: " + auth::format_results(results, true) + "\r\n";
}

// A DMARC policy that a trusted ARC sealer stopped (RFC 8617 §7, RFC 7489 §6.7): said once,
// with who vouched, for the operator who trusted them.
void SessionPolicy::note_arc_vouch() const {
  const auto& auth = *facts_->auth;
  if (!auth.dmarc_vouched || !auth.dmarc || !spdlog::should_log(spdlog::level::info)) return;
  std::string line = "dmarc_not_enforced";
  common::append_kv(line, "session", session_id_);
  common::append_kv(line, "client", client_.ip_text);
  common::append_kv(line, "from_domain", auth.dmarc->from_domain);
  common::append_kv(line, "policy", auth::dmarc::policy_name(auth.dmarc->policy));
  common::append_kv(line, "arc_sealer", auth.dmarc_vouched->sealer);
  common::append_kv(line, "sealer_results", auth.dmarc_vouched->result);
  spdlog::info("{}", line);
}

std::string SessionPolicy::auth_summary() const {
  if (!facts_->auth || !authenticating()) return {};
  return facts_->auth->summary();
}

// Domain reputation is credited only to a domain that authenticated (issue 5): a forger must
// neither earn a domain's good name nor spend it. Trusted clients and a gateway without
// authentication keep crediting the envelope domain.
bool SessionPolicy::sender_credited() const {
  const auto& auth = facts_->auth;
  if (!authenticating() || !auth) return true;
  if (auth->sender_authenticated()) return true;
  const auto domains = auth->authenticated_domains();
  return std::any_of(domains.begin(), domains.end(), [&](const std::string& domain) {
    return auth::dmarc::aligned(domain, sender_domain_, auth::dmarc::Alignment::Relaxed);
  });
}

std::optional<Refusal> SessionPolicy::decide_stage(Stage stage,
                                                   std::vector<reputation::CheckOutcome> outcomes,
                                                   std::string_view recipient) {
  if (stage == Stage::Connect) {
    // The history's outcomes come first: pipeline order breaks ties (policy.hpp rule 3).
    outcomes.insert(outcomes.begin(), std::make_move_iterator(history_.begin()),
                    std::make_move_iterator(history_.end()));
    history_.clear();
  }
  const auto stage_answer = verdict_.on_stage(stage, outcomes);
  note(stage, stage_answer.decision);
  return answer(stage, stage_answer, recipient);
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
          session_id_, client_.ip_text, reputation::stage_name(stage), fired.check,
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
                                             const reputation::StageAnswer& stage_answer,
                                             std::string_view recipient) {
  if (greylists_instead(stage, stage_answer)) {
    if (stage == Stage::EndOfData) return std::nullopt;  // its recipients passed greylisting
    (stage <= Stage::Helo   ? doubtful_session_
     : stage == Stage::Mail ? doubtful_transaction_
                            : doubtful_rcpt_) = true;
    if (spdlog::should_log(spdlog::level::info)) {
      spdlog::info("doubtful session={} client={} stage={} signal={} score={:g} action=greylist",
                   session_id_, client_.ip_text, reputation::stage_name(stage),
                   reputation::signal_name(stage_answer.signal), stage_answer.decision.score);
    }
    return std::nullopt;
  }
  // A quarantine is counted once the message is accepted into it (record_message).
  const bool quarantine_now =
      stage == Stage::EndOfData && stage_answer.action == Action::Quarantine;
  if (stage_answer.action != Action::Continue && !quarantine_now) {
    context_.verdicts.count_verdict(stage, stage_answer.action, stage_answer.signal);
  }
  if (stage_answer.postponed && spdlog::should_log(spdlog::level::info)) {
    spdlog::info("postponed session={} client={} stage={} signal={} score={:g} reason={}",
                 session_id_, client_.ip_text, reputation::stage_name(stage),
                 reputation::signal_name(stage_answer.signal), stage_answer.decision.score,
                 common::escape(stage_answer.reason));
  }
  if (!refuses(stage_answer.action)) return std::nullopt;
  const bool scored = stage_answer.decision.score_based || stage_answer.from_earlier;
  Refusal refusal{reputation::reply_for(stage, stage_answer.action, stage_answer.signal,
                                        client_.ip_text, config_.reputation.postmaster_url, scored),
                  stage == Stage::Connect || stage_answer.action == Action::Drop,
                  stage_answer.action};
  if (!spdlog::should_log(spdlog::level::info)) return refusal;
  std::string line = "refused";
  common::append_kv(line, "session", session_id_);
  common::append_kv(line, "client", client_.ip_text);
  common::append_kv(line, "stage", reputation::stage_name(stage));
  if (!recipient.empty()) common::append_kv(line, "rcpt", recipient);
  common::append_kv(line, "action", reputation::action_name(stage_answer.action));
  common::append_kv(line, "signal", reputation::signal_name(stage_answer.signal));
  common::append_kv(line, "score", fmt::format("{:g}", stage_answer.decision.score));
  common::append_kv(line, "reply", std::to_string(refusal.reply.code));
  common::append_kv(line, "reason", stage_answer.reason);
  spdlog::info("{}", line);
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

std::optional<Refusal> SessionPolicy::filter_verdict(Stage stage, const milter::Verdict& verdict,
                                                    std::string_view recipient) {
  if (!verdict.refused()) return std::nullopt;
  using Kind = milter::Answer::Kind;
  const Action action = verdict.kind == Kind::Reject     ? Action::Reject
                        : verdict.kind == Kind::Tempfail ? Action::Defer
                                                         : Action::Drop;
  using reputation::Signal;
  const Signal signal = action == Action::Reject ? Signal::MilterReject : Signal::MilterTempfail;
  std::optional<smtp::Reply> own;
  if (verdict.reply) own = reputation::filter_reply(action, verdict.reply->code, verdict.reply->lines);
  Refusal refusal{own ? std::move(*own)
                      : reputation::reply_for(stage, action, signal, client_.ip_text,
                                              config_.reputation.postmaster_url),
                  (stage == Stage::Connect && action != Action::Defer) || action == Action::Drop,
                  action};
  context_.verdicts.count_verdict(stage, action, signal);
  const std::string reason =
      verdict.by_default_action
          ? "default_action of milter " + verdict.filter + ": " + verdict.failure
          : "milter " + verdict.filter + ": " + (verdict.reply ? refusal.reply.text() : "refused");
  reputation::FiredSignal fired;
  fired.check = "milter";
  fired.signal = signal;
  fired.action = action;
  fired.reason = reason;
  append_signal(fired, false);
  if (stage == Stage::Connect || stage == Stage::Helo || stage == Stage::Mail) {
    record(refusal_counters(action));
  }
  if (spdlog::should_log(spdlog::level::info)) {
    std::string line = "refused";
    common::append_kv(line, "session", session_id_);
    common::append_kv(line, "client", client_.ip_text);
    common::append_kv(line, "stage", reputation::stage_name(stage));
    if (!recipient.empty()) common::append_kv(line, "rcpt", recipient);
    common::append_kv(line, "action", reputation::action_name(action));
    common::append_kv(line, "signal", reputation::signal_name(signal));
    common::append_kv(line, "by", "milter:" + verdict.filter);
    common::append_kv(line, "reply", std::to_string(refusal.reply.code));
    common::append_kv(line, "reason", reason);
    spdlog::info("{}", line);
  }
  return refusal;
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
  const auto& auth = facts_->auth;
  if (auth && auth->failed()) delta.auth_failures = 1;
  if (final_reply.positive()) {
    delta.accepted = 1;
    if (throttled()) throttle_accepted(check_context());
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
  for (std::size_t i = 0; i < client_.keys.size(); ++i) {
    add(i == 0 ? storage::Family::Ip : storage::Family::Network, client_.keys[i]);
  }
  if (!sender_domain_.empty() && sender_credited()) {
    add(storage::Family::SenderDomain, sender_domain_);
  }
  if (!facts_->auth) return;
  for (const auto& domain : facts_->auth->authenticated_domains()) {
    add(storage::Family::AuthDomain, storage::domain_key(domain));
  }
}

}  // namespace mxgate::policy
