#include "server/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "common/cidr.hpp"
#include "common/log.hpp"
#include "policy/session_policy.hpp"
#include "relay/recipient_log.hpp"
#include "server/metrics.hpp"
#include "server/proxy_handshake.hpp"
#include "server/session_io.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/received.hpp"
#include "smtp/replies.hpp"
#include "smtp/server_protocol.hpp"

namespace mxgate::server {

namespace asio = boost::asio;
using smtp::Reply;
using smtp::Step;
using smtp::StepKind;

namespace {

constexpr auto kGoodbyeTimeout = std::chrono::seconds(2);

double seconds_since(io::Clock::time_point start) {
  return std::chrono::duration<double>(io::Clock::now() - start).count();
}

// Judged messages are held here: [content] memory_per_session in memory, the rest spilled to
// <storage.path>/tmp.
content::HeldOptions held_options(const conf::Config& config) {
  content::HeldOptions options;
  options.memory_per_session = config.content.memory_per_session;
  options.spill_dir = config.storage.path + "/tmp";
  return options;
}

}  // namespace

Session::Session(SessionServices& services, std::shared_ptr<SessionIo> io,
                 ConnectionLimiter::Ticket ticket, bool proxied)
    : services_(services),
      snapshot_(services.snapshot()),
      config_(*snapshot_->config),
      metrics_(services.metrics()),
      io_(std::move(io)),
      ticket_(std::move(ticket)),
      framer_(snapshot_->line_endings),
      protocol_(snapshot_->smtp),
      held_(services.content_budget(), held_options(config_)),
      id_(smtp::make_id()),
      client_ip_(io_->peer_address()),
      policy_(services.policy(), snapshot_->rules, id_),
      proxied_(proxied) {
  relay_ = services.make_transaction(*snapshot_, client_ip_);
}

Session::~Session() { release_held(); }

smtp::Reply refusal_reply(ConnectionLimiter::Refusal refusal, std::string_view client,
                          const std::string& hostname, ServerMetrics& metrics) {
  using Crowd = smtp::replies::Crowd;
  using Refusal = ConnectionLimiter::Refusal;
  (refusal == Refusal::Global       ? metrics.sessions_refused_global_limit
   : refusal == Refusal::PerNetwork ? metrics.sessions_refused_network_limit
                                    : metrics.sessions_refused_ip_limit)
      .Increment();
  const Crowd crowd = refusal == Refusal::Global       ? Crowd::Global
                      : refusal == Refusal::PerNetwork ? Crowd::Network
                                                       : Crowd::Address;
  auto reply = smtp::replies::too_many_connections(hostname, crowd);
  if (spdlog::should_log(spdlog::level::info)) {
    std::string line = "refused";
    common::append_kv(line, "client", client);
    common::append_kv(line, "stage", "connect");
    common::append_kv(line, "by", "limit");
    common::append_kv(line, "reply", fmt::format("{} {}", reply.code, reply.enhanced));
    common::append_kv(line, "reason",
                      refusal == Refusal::Global       ? "server.max_sessions"
                      : refusal == Refusal::PerNetwork ? "throttle.max_sessions_per_network"
                                                       : "server.max_sessions_per_ip");
    spdlog::info("{}", line);
  }
  return reply;
}

void Session::drain() {
  draining_ = true;
  if (idle_) io_->cancel();
}

void Session::force_close() {
  forced_ = true;
  io_->cancel();
}

// A proxy_listen connection: the PROXY header first, then the session caps for the client it
// names. Refused connections are closed without a word (untrusted or not PROXY) or with 421.
asio::awaitable<bool> Session::accept_proxy() {
  const auto outcome =
      co_await read_proxy_header(*io_, snapshot_->proxy_trusted, config_.server.proxy_timeout);
  if (outcome.status != ProxyOutcome::Status::Ok) {
    (outcome.status == ProxyOutcome::Status::Untrusted ? metrics_.proxy_untrusted
                                                       : metrics_.proxy_invalid)
        .Increment();
    spdlog::info("refused session={} client={} stage=proxy by=limit reply=none reason={}", id_,
                 client_ip_, common::escape(outcome.error));
    end_ = End::Refused;
    co_return false;
  }
  metrics_.proxy_accepted.Increment();
  if (!outcome.client_ip.empty()) client_ip_ = outcome.client_ip;
  ConnectionLimiter::Refusal refusal;
  boost::system::error_code ec;
  ticket_ = services_.admit(asio::ip::make_address(client_ip_, ec), refusal);
  if (!ticket_) {
    queue(refusal_reply(refusal, client_ip_, config_.server.hostname, metrics_));
    co_await flush();
    end_ = End::Refused;
    co_return false;
  }
  co_return true;
}

// Connect stage: the client's reputation decides whether it gets a banner at all. A listing in
// the store refuses at once; otherwise the banner's first line "220-" goes out (unless the
// client passed recently) and the DNS checks run during the greet pause, while the pregreet
// check watches for a client that talks too early. A refusal after "220-" ends the session
// with the refusal line, as postscreen does.
asio::awaitable<bool> Session::screen() {
  policy_.set_client(client_ip_);
  auto refusal = co_await policy_.screen_history();
  if (!refusal && !policy_.allowed()) {
    std::vector<policy::PendingCheck> extra;
    auto talked = std::make_shared<bool>(false);
    const bool pause = greet_pause_due();
    if (pause) {
      out_ += smtp::replies::greet_pause_line(config_.server.hostname);
      if (!co_await flush()) co_return false;
      extra.push_back(pregreet_check(talked));
    }
    refusal = co_await policy_.screen_dns(std::move(extra));
    if (pause && !*talked) {
      services_.policy().passes.remember(
          client_ip_, policy::PassMemory::Clock::now() + config_.pregreet.pass_ttl);
    }
  }
  if (!refusal) co_return true;
  queue(refusal->reply);
  co_await flush();
  end_ = End::Refused;
  co_return false;
}

// The greet pause applies to clients that have not passed it within pregreet.pass_ttl; it is
// shorter while the server is loaded.
bool Session::greet_pause_due() const {
  const auto& pregreet = config_.pregreet;
  if (!pregreet.enabled || policy_.trusted() ||
      policy_.settings("pregreet").mode == reputation::CheckSettings::Mode::Off) {
    return false;
  }
  return !services_.policy().passes.passed(client_ip_, policy::PassMemory::Clock::now());
}

// Reads during the greet pause: any octet before the banner ends is a protocol violation
// (RFC 5321 §4.3.1: the client waits for the 220). What was read stays buffered for the
// command loop (an observe-mode pregreet lets the session go on).
policy::PendingCheck Session::pregreet_check(std::shared_ptr<bool> talked) {
  const auto& pregreet = config_.pregreet;
  const auto loaded = static_cast<double>(services_.active_sessions()) >
                      pregreet.load_factor * config_.server.max_sessions;
  const conf::Duration pause = loaded ? pregreet.greet_pause_under_load : pregreet.greet_pause;
  auto settings = policy_.settings("pregreet");
  // The read must end before the pipeline stops waiting: it owns the socket until then.
  settings.timeout = std::max(settings.timeout, pause + std::chrono::seconds(2));
  return policy::PendingCheck{
      std::move(settings), [io = io_, pause, talked]() -> asio::awaitable<policy::CheckResult> {
        // Octets that came with the PROXY header count too.
        if (io->buffered().empty()) {
          const auto status = co_await io->read_more(pause);
          if (status != IoStatus::Ok) co_return policy::CheckResult{};
        }
        *talked = true;
        co_return policy::CheckResult{{reputation::Verdict::reject(
            reputation::Signal::Pregreet,
            fmt::format("sent {} octets before the greeting", io->buffered().size()))}};
      }};
}

// MAIL: the sender's policy first, then the relay learns of the transaction. false: the session
// must end (the policy dropped the client).
asio::awaitable<bool> Session::begin_transaction(Step& step) {
  if (filter_deferral_) {
    step = protocol_.mail_done(*filter_deferral_);
    co_return true;
  }
  policy_.reset_transaction();
  auto refusal = co_await policy_.mail(step.command.path);
  if (!refusal && filters_) {
    macros_["{mail_addr}"] = step.command.path.address();
    std::vector<std::string> parameters;
    if (step.command.size) parameters.push_back("SIZE=" + std::to_string(*step.command.size));
    if (step.command.body == smtp::Body::EightBitMime) parameters.emplace_back("BODY=8BITMIME");
    if (step.command.smtputf8) parameters.emplace_back("SMTPUTF8");
    const auto verdict = co_await filters_->mail("<" + step.command.path.address() + ">",
                                                 std::move(parameters), macros_);
    refusal = policy_.filter_verdict(reputation::Stage::Mail, verdict);
  }
  if (refusal && refusal->close) {
    queue(refusal->reply);
    end_ = End::Refused;
    co_return false;
  }
  if (refusal) {
    step = protocol_.mail_done(refusal->reply);
    co_return true;
  }
  txn_open_ = true;
  txn_id_ = smtp::make_id();
  txn_from_ = step.command.path.address();
  txn_rcpts_.clear();
  txn_accepted_.clear();
  message_id_.reset();
  txn_started_ = io::Clock::now();
  relay_->client({client_ip_, policy_.client_name(), protocol_.helo(), protocol_.esmtp()});
  relay_->mail(step.command);
  step = protocol_.mail_done(smtp::replies::sender_ok());
  co_return true;
}

// RCPT: a reject postponed by delay_reject or a throttle deferral, else the downstream's own
// answer (quarantined mail goes to the quarantine route). Unknown recipients count towards the
// dictionary-attack limit, whose refusal replaces the 550 and ends the session.
asio::awaitable<void> Session::relay_recipient(Step& step) {
  const std::string recipient = step.command.path.address();
  Reply reply;
  bool relayed = false;  // the reply came from the relay (the downstream, in inline mode)
  auto refusal = policy_.rcpt(recipient);
  if (!refusal && filters_) {
    macros_["{rcpt_addr}"] = recipient;
    const auto verdict = co_await filters_->rcpt("<" + recipient + ">", {}, macros_);
    refusal = policy_.filter_verdict(reputation::Stage::Rcpt, verdict, recipient);
  }
  if (refusal) {
    reply = std::move(refusal->reply);
    closing_ = refusal->close;
    policy_.record_rcpt(reply);
  } else {
    reply = co_await relay_->rcpt(step.command.path, policy_.quarantined());
    relayed = true;
    policy_.record_rcpt(reply);
    // RFC 3463 §3.2: X.1.1 "Bad destination mailbox address".
    auto dictionary = reply.code == 550 && reply.enhanced == "5.1.1"
                          ? policy_.unknown_recipient(recipient)
                          : std::nullopt;
    if (dictionary) {
      reply = std::move(dictionary->reply);
      closing_ = dictionary->close;
    } else if (!reply.positive()) {
      log_refusal("rcpt", reply, "relay", reply.text(), recipient);
    }
  }
  if (reply.positive()) {
    if (!txn_rcpts_.empty()) txn_rcpts_ += ',';
    txn_rcpts_ += recipient;
    txn_accepted_.push_back(recipient);
  } else {
    log_recipient(recipient, reply, "refused", relayed ? relay_->relay_name() : std::string());
  }
  step = protocol_.rcpt_done(std::move(reply));
}

// The filters' connect step, once the client passed the connect checks.
asio::awaitable<std::optional<policy::Refusal>> Session::filter_connect() {
  filters_ = std::make_unique<milter::Chain>(co_await asio::this_coro::executor, snapshot_->milters,
                                             services_.milter_pool());
  const std::string& name = policy_.client_name();
  const std::string shown = name.empty() ? "[" + client_ip_ + "]" : name;
  macros_ = {{"j", config_.server.hostname},
             {"{daemon_name}", "mxgate"},
             {"{client_addr}", client_ip_},
             {"{client_name}", name.empty() ? "unknown" : name},
             {"_", shown + " [" + client_ip_ + "]"}};
  const auto ip = common::parse_ip(client_ip_);
  const auto family = !ip               ? milter::Family::Unknown
                      : ip->family == 4 ? milter::Family::Inet
                                        : milter::Family::Inet6;
  const auto verdict = co_await filters_->connect(shown, family, 0, client_ip_, macros_);
  co_return policy_.filter_verdict(reputation::Stage::Connect, verdict);
}

asio::awaitable<void> Session::run() {
  bool welcome = true;
  if (proxied_) {
    welcome = co_await accept_proxy();
  }
  if (welcome) {
    welcome = co_await screen();
  }
  if (welcome && !snapshot_->milters.empty()) {
    auto refusal = co_await filter_connect();
    if (refusal && refusal->action == reputation::Action::Defer) {
      // As Postfix does for a filter's tempfail at connect: the client is greeted and every
      // transaction gets the 4xx, so that it retries later rather than reconnecting at once.
      filter_deferral_ = std::move(refusal->reply);
    } else if (refusal) {
      queue(refusal->reply);
      (void)co_await flush();
      end_ = End::Refused;
      welcome = false;
    }
  }
  if (!welcome) {
    io_->close();
    log_session();
    co_return;
  }
  queue(protocol_.greeting());
  // Braces and a named result: GCC 12 lays out the frame wrongly for an unbraced
  // `if (co_await a) co_await b;`.
  const bool greeted = co_await flush();
  if (greeted) {
    co_await command_loop();
  }
  abandon_transaction();
  if (filters_) co_await filters_->quit();
  if (end_ == End::Drained) {
    queue(smtp::replies::shutting_down(config_.server.hostname));
    co_await io_->write(out_, kGoodbyeTimeout);
  }
  if (end_ != End::PeerClosed && end_ != End::IoError && end_ != End::TlsFailed) {
    co_await io_->shutdown_tls(kGoodbyeTimeout);
  }
  io_->close();
  log_session();
}

asio::awaitable<void> Session::command_loop() {
  for (;;) {
    auto frame = framer_.next(io_->buffered());
    if (frame.event == smtp::FrameEvent::NeedMore) {
      io_->consume(frame.consumed);
      if (!co_await flush()) co_return;
      if ((draining_ && !protocol_.in_transaction()) || forced_) {
        end_ = End::Drained;
        co_return;
      }
      idle_ = !protocol_.in_transaction();
      if (!command_budget_) command_budget_ = ReadBudget::command(config_.server.command_timeout);
      const bool more = co_await read_more(*command_budget_);
      idle_ = false;
      if (!more) co_return;
      continue;
    }
    command_budget_.reset();  // a whole line: the next one has its own time
    Step step;
    if (frame.event == smtp::FrameEvent::Line) {
      step = protocol_.on_line(frame.line);  // the Step owns its data; the line may go now
      io_->consume(frame.consumed);
    } else {
      io_->consume(frame.consumed);
      if (frame.event != smtp::FrameEvent::TooLong) metrics_.bare_line_endings_command.Increment();
      step = protocol_.on_frame_error(frame.event);
    }
    const bool was_in_transaction = protocol_.in_transaction();
    const bool go_on = co_await carry_out(std::move(step));
    if (was_in_transaction && !protocol_.in_transaction() && txn_open_) abandon_transaction();
    // A transaction the filters heard of ended without its message (RSET, a refusal).
    if (filters_ && !protocol_.in_transaction()) co_await filters_->abort();
    if (!go_on) {
      co_await flush();
      co_return;
    }
  }
}

// Carries out a Step and the Steps it leads to, until one only needs a reply.
asio::awaitable<bool> Session::carry_out(Step step) {
  for (;;) {
    switch (step.kind) {
      case StepKind::Reply:
        if (!step.limit.empty()) log_limit_refusal(step);
        queue(step.reply);
        if (closing_) {  // a 421 refusal (throttle): the session ends after it
          end_ = End::Refused;
          co_return false;
        }
        co_return true;
      case StepKind::Close:
        if (step.reply.code == 0) co_return false;  // the session already said goodbye
        queue(step.reply);
        end_ = step.reply.code == 221 ? End::Quit : End::ErrorLimit;
        if (end_ == End::ErrorLimit) metrics_.session_errors_limit.Increment();
        co_return false;
      case StepKind::StartTls:
        co_return co_await start_tls(std::move(step.reply));
      case StepKind::Helo: {
        auto refusal = co_await policy_.helo(step.command.argument);
        if (!refusal && filters_) {
          macros_["{tls_version}"] = io_->tls_version();
          macros_["{cipher}"] = io_->tls_cipher();
          const auto verdict = co_await filters_->helo(step.command.argument, macros_);
          refusal = policy_.filter_verdict(reputation::Stage::Helo, verdict);
        }
        if (refusal && refusal->close) {
          queue(refusal->reply);
          end_ = End::Refused;
          co_return false;
        }
        step = protocol_.helo_done(refusal ? refusal->reply : Reply{});
        continue;
      }
      case StepKind::Mail: {
        const bool go_on = co_await begin_transaction(step);
        if (!go_on) co_return false;
        continue;
      }
      case StepKind::Rcpt:
        co_await relay_recipient(step);
        continue;
      case StepKind::Data: {
        if (!start_holding()) {
          step = protocol_.data_done(budget_refusal());
          continue;
        }
        if (filters_) {
          macros_["i"] = txn_id_;
          const auto verdict = co_await filters_->data(macros_);
          if (auto refusal = policy_.filter_verdict(reputation::Stage::EndOfData, verdict)) {
            release_held();
            closing_ = refusal->close;
            step = protocol_.data_done(std::move(refusal->reply));
            continue;
          }
        }
        if (holding_) relay_->release();  // nothing downstream waits for a trickling client
        Reply reply = co_await relay_->data();
        const bool go = reply.code == 354;
        if (!go) release_held();
        if (!go && !reply.positive()) log_refusal("data", reply, "relay", reply.text());
        step = protocol_.data_done(std::move(reply));
        if (!go || step.kind != StepKind::Reply) continue;
        queue(step.reply);
        step = co_await receive_data();
        continue;
      }
      case StepKind::Bdat:
        step = co_await receive_chunk(step.command);
        continue;
      case StepKind::DiscardChunk:
        if (!step.limit.empty()) log_limit_refusal(step);
        if (!co_await discard_octets(step.command.chunk_size)) co_return false;
        queue(step.reply);
        co_return true;
    }
  }
}

asio::awaitable<bool> Session::start_tls(Reply ready) {
  // RFC 3207 §4.2 / CVE-2011-0411: commands pipelined behind STARTTLS would be read as if they
  // came over TLS. Refuse them outright.
  if (!io_->buffered().empty()) {
    metrics_.starttls_injection.Increment();
    queue(smtp::replies::plaintext_after_starttls());
    end_ = End::Refused;
    co_return false;
  }
  queue(ready);
  if (!co_await flush()) co_return false;
  const auto status = co_await io_->handshake(*snapshot_->tls, config_.tls.handshake_timeout);
  if (status != IoStatus::Ok) {
    metrics_.tls_handshakes_failed.Increment();
    end_ = End::TlsFailed;
    spdlog::info("tls_failed session={} client={}", id_, client_ip_);
    co_return false;
  }
  (io_->tls_version() == "TLSv1.3" ? metrics_.tls_handshakes_tls13 : metrics_.tls_handshakes_tls12)
      .Increment();
  protocol_.tls_started();
  co_return true;
}

ReadBudget Session::content_budget() const {
  return ReadBudget::content(config_.server.data_timeout, config_.server.min_data_rate);
}

asio::awaitable<bool> Session::read_more(ReadBudget& budget) {
  if (forced_) co_return false;
  const auto before = io_->buffered().size();
  const auto started = io::Clock::now();
  IoStatus status = IoStatus::Timeout;
  if (!budget.exhausted()) {
    status = co_await io_->read_more(budget.left());
  }
  budget.spent(io::Clock::now() - started, io_->buffered().size() - before);
  switch (status) {
    case IoStatus::Ok:
      co_return true;
    case IoStatus::Timeout:
      metrics_.session_timeouts.Increment();
      end_ = End::Timeout;
      queue(smtp::replies::timeout(config_.server.hostname));
      co_await io_->write(out_, kGoodbyeTimeout);
      out_.clear();
      co_return false;
    case IoStatus::Cancelled:
      end_ = End::Drained;
      co_return false;
    case IoStatus::Closed:
      end_ = End::PeerClosed;
      co_return false;
    case IoStatus::Error:
      end_ = End::IoError;
      co_return false;
  }
  co_return false;
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  co_await tarpit();
  const auto status = co_await io_->write(out_, config_.server.command_timeout);
  out_.clear();
  errors_answered_ = errors_;
  if (status == IoStatus::Ok) co_return true;
  end_ = status == IoStatus::Timeout ? End::Timeout : End::PeerClosed;
  co_return false;
}

void Session::queue(const Reply& reply) {
  if (reply.code == 0) return;
  metrics_.count_reply(reply.code);
  if (reply.code >= 400) ++errors_;
  reply.append_wire(out_);
}

// A client that keeps failing waits before each reply once it has been sent
// throttle.tarpit_after error replies: tarpit_delay, doubling with each further error, at most
// tarpit_max. Only this session waits (a timer); trusted and allow-listed clients never do.
asio::awaitable<void> Session::tarpit() {
  const auto& throttle = config_.throttle;
  if (throttle.tarpit_after == 0 || errors_answered_ < throttle.tarpit_after ||
      !policy_.throttled()) {
    co_return;
  }
  const auto doublings = std::min<std::uint32_t>(errors_answered_ - throttle.tarpit_after, 20);
  const auto delay =
      std::min<conf::Duration>(throttle.tarpit_delay * (1u << doublings), throttle.tarpit_max);
  metrics_.tarpit_delays.Increment();
  metrics_.tarpit_seconds.Increment(std::chrono::duration<double>(delay).count());
  io::Timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string Session::transaction_line() const {
  std::string line = "transaction";
  common::append_kv(line, "id", txn_id_);
  common::append_kv(line, "session", id_);
  common::append_kv(line, "client", client_ip_);
  common::append_kv(line, "helo", protocol_.helo());
  common::append_kv(line, "tls", io_->tls() ? io_->tls_version() : "no");
  common::append_kv(line, "from", txn_from_);
  common::append_kv(line, "rcpts", txn_rcpts_);
  if (!message_id_.id().empty()) common::append_kv(line, "message_id", message_id_.id());
  if (policy_.quarantined()) common::append_kv(line, "quarantine", "yes");
  if (const auto auth = policy_.auth_summary(); !auth.empty())
    common::append_kv(line, "auth", auth);
  return line;
}

void Session::finish_transaction(const Reply& final_reply) {
  release_held();
  if (!txn_open_) return;
  txn_open_ = false;
  ++transactions_;
  policy_.record_message(final_reply);
  if (final_reply.positive()) {
    metrics_.transactions_accepted.Increment();
  } else if (final_reply.transient()) {
    metrics_.transactions_deferred.Increment();
  } else {
    metrics_.transactions_rejected.Increment();
  }
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::string line = transaction_line();
  common::append_kv(line, "size", std::to_string(decoder_ ? decoder_->size() : 0));
  common::append_kv(line, "reply", fmt::format("{} {}", final_reply.code, final_reply.enhanced));
  common::append_kv(line, "text", final_reply.text());
  common::append_kv(line, "duration", fmt::format("{:.3f}", seconds_since(txn_started_)));
  spdlog::info("{}", line);
}

void Session::abandon_transaction() {
  relay_->abort();
  release_held();
  chunking_ = false;
  if (!txn_open_) return;
  txn_open_ = false;
  metrics_.transactions_aborted.Increment();
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::string line = transaction_line();
  common::append_kv(line, "result", "aborted");
  spdlog::info("{}", line);
}

void Session::log_limit_refusal(const Step& step) const {
  using smtp::Verb;
  const auto verb = step.command.verb;
  const std::string_view stage = verb == Verb::Mail ? "mail" : verb == Verb::Rcpt ? "rcpt" : "data";
  log_refusal(stage, step.reply, "limit", step.limit,
              verb == Verb::Rcpt ? step.command.path.address() : std::string());
  if (verb == Verb::Rcpt) log_recipient(step.command.path.address(), step.reply, "refused", {});
}

void Session::log_recipient(std::string_view address, const Reply& reply, std::string_view status,
                            std::string_view downstream) const {
  if (!spdlog::should_log(spdlog::level::info)) return;
  spdlog::info("{}", relay::recipient_line({txn_id_, address, downstream,
                                            seconds_since(txn_started_), reply, status}));
}

// Inline mode: the downstream's answer to the message is each accepted recipient's outcome (the
// client retries after a 4xx and bounces after a 5xx, so mxgate itself refused it).
void Session::log_delivered(const Reply& final_reply) const {
  if (config_.relay.mode != conf::RelayConfig::Mode::Inline) return;
  const std::string downstream = relay_->relay_name();
  const std::string_view status = final_reply.positive()    ? "sent"
                                  : final_reply.transient() ? "deferred"
                                                            : "refused";
  for (const auto& recipient : txn_accepted_) {
    log_recipient(recipient, final_reply, status, downstream);
  }
}

void Session::log_refusal(std::string_view stage, const Reply& reply, std::string_view by,
                          std::string_view reason, std::string_view recipient) const {
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::string line = "refused";
  common::append_kv(line, "session", id_);
  common::append_kv(line, "client", client_ip_);
  common::append_kv(line, "stage", stage);
  if (!recipient.empty()) common::append_kv(line, "rcpt", recipient);
  common::append_kv(line, "by", by);
  common::append_kv(line, "reply", fmt::format("{} {}", reply.code, reply.enhanced));
  common::append_kv(line, "reason", reason);
  spdlog::info("{}", line);
}

void Session::log_session() const {
  static constexpr const char* kEnds[] = {"quit",    "peer_closed", "timeout",    "error_limit",
                                          "drained", "io_error",    "tls_failed", "refused"};
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::string line = "session";
  common::append_kv(line, "id", id_);
  common::append_kv(line, "client", client_ip_);
  common::append_kv(line, "helo", protocol_.helo());
  common::append_kv(line, "tls", io_->tls() ? io_->tls_version() : "no");
  common::append_kv(line, "transactions", std::to_string(transactions_));
  common::append_kv(line, "errors", std::to_string(protocol_.errors()));
  common::append_kv(line, "end", kEnds[static_cast<int>(end_)]);
  if (!policy_.signals().empty()) common::append_kv(line, "signals", policy_.signals());
  common::append_kv(line, "duration", fmt::format("{:.3f}", seconds_since(started_)));
  spdlog::info("{}", line);
}

}  // namespace mxgate::server
