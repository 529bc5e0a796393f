#include "relay/queue_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <random>

#include "common/cidr.hpp"
#include "common/log.hpp"
#include "io/blocking.hpp"
#include "relay/dsn.hpp"
#include "relay/metrics.hpp"
#include "relay/outbound.hpp"
#include "relay/recipient_log.hpp"

namespace mxgate::relay {

namespace asio = boost::asio;
using storage::SpoolRecipient;

namespace {

// How soon the runner looks again when it found more due messages than it had room for.
constexpr auto kBusyPoll = std::chrono::milliseconds(20);

std::int64_t unix_ms(const common::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall_now().time_since_epoch())
      .count();
}

}  // namespace

std::int64_t QueueClaims::now_ms() const { return unix_ms(clock_); }

bool QueueClaims::claim(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (const auto parked = parked_.find(id); parked != parked_.end()) {
    if (parked->second > now_ms()) return false;
    parked_.erase(parked);
  }
  return ids_.insert(id).second;
}

void QueueClaims::release(const std::string& id) {
  std::lock_guard lock(mutex_);
  ids_.erase(id);
}

bool QueueClaims::held(std::string_view id) const {
  std::lock_guard lock(mutex_);
  if (ids_.find(id) != ids_.end()) return true;
  const auto parked = parked_.find(id);
  return parked != parked_.end() && parked->second > now_ms();
}

void QueueClaims::park(const std::string& id, std::int64_t until_ms) {
  std::lock_guard lock(mutex_);
  ids_.erase(id);
  parked_[id] = until_ms;
}

std::size_t QueueClaims::size() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
}

namespace {

std::string reply_text(const smtp::Reply& reply) {
  return fmt::format("{} {}{}{}", reply.code, reply.enhanced, reply.enhanced.empty() ? "" : " ",
                     reply.text());
}

smtp::Path path_of(const std::string& address) {
  smtp::Path path;
  const auto at = address.rfind('@');
  if (at == std::string::npos) {
    path.local_part = address;
  } else {
    path.local_part = address.substr(0, at);
    path.domain = address.substr(at + 1);
  }
  return path;
}

smtp::Command mail_command(const storage::Envelope& envelope) {
  smtp::Command mail;
  mail.verb = smtp::Verb::Mail;
  mail.path = path_of(envelope.mail_from);
  mail.smtputf8 = envelope.smtputf8;
  mail.body = envelope.eight_bit ? smtp::Body::EightBitMime : smtp::Body::Unspecified;
  mail.size = envelope.size;
  return mail;
}

// The wait before the next attempt: queue.retry[attempts - 1] (the last repeating), +-10%.
std::int64_t backoff_ms(const conf::QueueConfig& queue, std::uint32_t attempts) {
  const auto& waits = queue.retry;
  const auto wait =
      waits[std::min<std::size_t>(attempts == 0 ? 0 : attempts - 1, waits.size() - 1)];
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::max<std::int64_t>(
      1, ms + static_cast<std::int64_t>(std::uniform_real_distribution<double>(-0.1, 0.1)(random) *
                                        static_cast<double>(ms)));
}

bool any_in(const storage::Envelope& envelope, SpoolRecipient::State state) {
  return std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                     [state](const SpoolRecipient& r) { return r.state == state; });
}

}  // namespace

// One delivery attempt of a claimed message, and what became of it.
struct QueueRunner::Attempt {
  storage::Spool::Due due;
  storage::Envelope envelope;
  std::optional<std::string> body;  // nullopt: read from the spool piece by piece
  std::shared_ptr<const conf::Config> config;
  std::shared_ptr<const Router> router;
  std::optional<Router> outbound;  // a DSN's route to its sender's domain (route_outbound())
  bool null_mx = false;            // a DSN whose sender's domain takes no mail: dropped
  std::int64_t now_ms = 0;
  enum class Outcome { Deferred, Done, Expired, Dead, Dropped } outcome = Outcome::Done;
  std::string bounce_id;         // the DSN queued for it, if any
  boost::system::error_code ec;  // the outcome could not be written
  struct Tried {
    std::size_t index;  // into envelope.recipients
    smtp::Reply reply;
    std::string relay;
  };
  std::vector<Tried> tried;  // this attempt's deciding reply per recipient, for the log
};

QueueRunner::QueueRunner(asio::any_io_executor executor, QueueShared shared, Relay relay,
                         dns::Resolver& resolver, RelayMetrics& metrics,
                         const common::Clock& clock)
    : executor_(executor),
      shared_(std::move(shared)),
      relay_(std::move(relay)),
      resolver_(resolver),
      metrics_(metrics),
      clock_(clock),
      timer_(executor) {}

void QueueRunner::configure(std::shared_ptr<const conf::Config> config,
                            std::shared_ptr<const Router> router) {
  config_ = std::move(config);
  router_ = std::move(router);
}

void QueueRunner::start() { asio::co_spawn(executor_, poll(), asio::detached); }

void QueueRunner::drain() {
  draining_ = true;
  timer_.cancel();
}

// Every pending recipient of the message, one transaction per route; updates their states.
asio::awaitable<void> QueueRunner::attempt(Attempt& a) {
  if (is_own_mail(a.envelope)) {
    const bool deliverable = co_await route_outbound(a);
    if (!deliverable) co_return;
  }
  auto relay = relay_(a.outbound ? *a.outbound : *a.router);
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < a.envelope.recipients.size(); ++i) {
    if (a.envelope.recipients[i].state == SpoolRecipient::State::Pending) pending.push_back(i);
  }
  const smtp::Command mail = mail_command(a.envelope);
  const auto& e = a.envelope;
  // A bounce of ours has the client "local": no address to tell.
  const bool remote = common::parse_ip(e.client_ip).has_value();
  const smtp::ClientIdentity client{remote ? e.client_ip : "", e.client_name, e.client_helo,
                                    e.client_esmtp};
  while (!pending.empty()) {
    relay->client(client);
    relay->mail(mail);
    std::vector<std::size_t> accepted, next_route;
    for (std::size_t i : pending) {
      auto& recipient = a.envelope.recipients[i];
      const auto reply = co_await relay->rcpt(path_of(recipient.address), a.envelope.quarantine);
      if (reply.positive()) {
        accepted.push_back(i);
      } else if (reply.code == 452 && reply.enhanced == "4.5.3" && !accepted.empty()) {
        next_route.push_back(i);  // another route: its own transaction, right after this one
      } else {
        recipient.last_reply = reply_text(reply);
        if (!reply.transient()) recipient.state = SpoolRecipient::State::Failed;
        a.tried.push_back({i, reply, relay->relay_name()});
      }
    }
    if (accepted.empty()) {
      relay->abort();
      break;
    }
    smtp::Reply final = co_await relay->data();
    bool sent = false;
    if (final.code == 354) sent = co_await send_body(*relay, a);
    if (sent) {
      final = co_await relay->end();
    } else {
      relay->abort();
      if (final.code == 354) {
        final = smtp::Reply::make(451, "4.3.0", "Cannot read the message from the queue");
      }
    }
    for (std::size_t i : accepted) {
      auto& recipient = a.envelope.recipients[i];
      a.tried.push_back({i, final, relay->relay_name()});
      recipient.last_reply = reply_text(final);
      if (final.positive()) {
        recipient.state = SpoolRecipient::State::Delivered;
      } else if (!final.transient()) {
        recipient.state = SpoolRecipient::State::Failed;
      }
    }
    pending = std::move(next_route);
  }
}

// A DSN to a domain that no route serves: a route of its own to where outbound.hpp finds it
// goes. false: nowhere (the recipient has the reply that says why).
asio::awaitable<bool> QueueRunner::route_outbound(Attempt& a) {
  // Own mail has one recipient: a DSN's sender, a report's rua address.
  auto& recipient = a.envelope.recipients.front();
  const smtp::Path path = path_of(recipient.address);
  if (recipient.state != SpoolRecipient::State::Pending || a.router->route_for(path)) {
    co_return true;
  }
  Destination destination = co_await find_destination(resolver_, path.domain, a.config->outbound,
                                                      a.config->server.listen);
  metrics_.dsn_destinations.at(static_cast<std::size_t>(destination.kind))->Increment();
  if (destination.deliverable()) {
    conf::Route route{{path.domain}, std::move(destination.hosts)};
    route.mail_exchangers = destination.kind != Destination::Kind::BounceRelay;
    a.outbound.emplace(std::vector<conf::Route>{std::move(route)});
    co_return true;
  }
  recipient.last_reply = reply_text(destination.refusal);
  if (!destination.refusal.transient()) recipient.state = SpoolRecipient::State::Failed;
  a.null_mx = destination.kind == Destination::Kind::NullMx;
  a.tried.push_back({0, destination.refusal, ""});
  co_return false;
}

// The content, from memory or from the spool one piece at a time (so that a delivery holds at
// most one piece of a large message). false: the spool has not all of it.
asio::awaitable<bool> QueueRunner::send_body(Transaction& relay, Attempt& a) {
  if (a.body) {
    co_await relay.content(*a.body);
    co_return true;
  }
  std::uint64_t sent = 0;
  for (std::uint32_t index = 0; sent < a.envelope.size; ++index) {
    auto piece = co_await io::run_blocking(
        shared_.blocking, [&] { return shared_.spool.body_piece(a.envelope.id, index); });
    if (!piece || piece->empty()) {
      spdlog::error("queue_body_missing id={} piece={} read={} size={}", a.envelope.id, index, sent,
                    a.envelope.size);
      co_return false;
    }
    sent += piece->size();
    const bool passed = co_await relay.content(*piece);
    if (!passed) break;  // the downstream failed; end() says how
  }
  co_return true;
}

// Writes what the attempt decided: a new due time, the end of the message (with a DSN for the
// failed recipients), or a dead letter for a bounce that bounced.
asio::awaitable<void> QueueRunner::settle(Attempt& a) {
  storage::Spool& spool = shared_.spool;
  auto& envelope = a.envelope;
  const auto& queue = a.config->queue;
  const bool done = !any_in(envelope, SpoolRecipient::State::Pending);
  const auto max_age = std::chrono::duration_cast<std::chrono::milliseconds>(queue.max_age);
  const bool expired = !done && a.now_ms - envelope.created_ms >= max_age.count();
  if (expired) {
    for (auto& r : envelope.recipients) {
      if (r.state == SpoolRecipient::State::Pending) r.state = SpoolRecipient::State::Failed;
    }
  }
  const bool failed = any_in(envelope, SpoolRecipient::State::Failed);
  a.outcome = expired ? Attempt::Outcome::Expired : Attempt::Outcome::Done;
  if (!done && !expired) {
    ++envelope.attempts;
    envelope.due_ms = a.now_ms + backoff_ms(queue, envelope.attempts);
    a.outcome = Attempt::Outcome::Deferred;
    a.ec = co_await io::run_blocking(shared_.blocking,
                                     [&] { return spool.reschedule(envelope, a.due.due_ms); });
  } else if (a.null_mx) {
    // RFC 7505 §4.2: the sender's domain takes no mail; its DSN goes nowhere.
    a.outcome = Attempt::Outcome::Dropped;
    a.ec = co_await io::run_blocking(shared_.blocking, [&] { return spool.finish(envelope); });
  } else if (failed && is_own_mail(envelope) && !envelope.mail_from.empty()) {
    // A report of ours that failed for good (a rua address that takes no mail): no DSN to
    // ourselves about it, only the log line.
    a.outcome = Attempt::Outcome::Dropped;
    a.ec = co_await io::run_blocking(shared_.blocking, [&] { return spool.finish(envelope); });
  } else if (failed && envelope.mail_from.empty()) {
    // A bounce that bounced: never bounce it again (RFC 3464 §2; RFC 5321 §6.1).
    a.outcome = Attempt::Outcome::Dead;
    a.ec = co_await io::run_blocking(shared_.blocking, [&] {
      return spool.bury(envelope, a.due.due_ms, expired ? "expired" : "undeliverable bounce");
    });
  } else if (failed && queue.dsn) {
    storage::Envelope bounce;
    bounce.id = spool.make_id();
    bounce.recipients = {{envelope.mail_from, SpoolRecipient::State::Pending, ""}};
    bounce.created_ms = bounce.due_ms = a.now_ms;
    bounce.client_ip = kOwnMail;
    bounce.smtputf8 = envelope.smtputf8;  // the sender's address may need it (RFC 6531)
    std::optional<std::string> head = a.body;  // the DSN quotes the header section only
    if (!head) {
      head = co_await io::run_blocking(shared_.blocking,
                                       [&] { return spool.body_piece(envelope.id, 0); });
    }
    const std::string report = make_dsn(envelope, head.value_or(std::string()),
                                        a.config->server.hostname, bounce.id, clock_.wall_now());
    bounce.size = report.size();
    a.bounce_id = bounce.id;
    a.ec = co_await io::run_blocking(shared_.blocking,
                                     [&] { return spool.finish_with(envelope, bounce, report); });
  } else {
    a.ec = co_await io::run_blocking(shared_.blocking, [&] { return spool.finish(envelope); });
  }
  if (a.ec) {
    // The outcome is not on disk (disk full?): the schedule still says "due now". Wait as
    // after a failed attempt; a delivered message may then go out again (a duplicate).
    shared_.claims.park(a.due.id, a.now_ms + backoff_ms(queue, envelope.attempts));
  }
}

void QueueRunner::count(const Attempt& a) const {
  using Outcome = Attempt::Outcome;
  static constexpr const char* kNames[] = {"deferred", "done", "expired", "dead", "dropped"};
  switch (a.outcome) {
    case Outcome::Deferred:
      metrics_.queue_deliveries_deferred.Increment();
      break;
    case Outcome::Done:
      metrics_.queue_deliveries_done.Increment();
      break;
    case Outcome::Expired:
      metrics_.queue_deliveries_expired.Increment();
      break;
    case Outcome::Dead:
      metrics_.queue_deliveries_dead.Increment();
      break;
    case Outcome::Dropped:
      metrics_.queue_deliveries_dropped.Increment();
      break;
  }
  if (!a.bounce_id.empty()) metrics_.queue_dsns.Increment();
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::size_t delivered = 0, refused = 0, left = 0;
  for (const auto& r : a.envelope.recipients) {
    (r.state == SpoolRecipient::State::Delivered ? delivered
     : r.state == SpoolRecipient::State::Failed  ? refused
                                                 : left) += 1;
  }
  spdlog::info("delivery id={} outcome={}{} delivered={} failed={} pending={} attempts={}{}",
               a.due.id, kNames[static_cast<int>(a.outcome)],
               a.bounce_id.empty() ? "" : " bounce=" + a.bounce_id, delivered, refused, left,
               a.envelope.attempts,
               a.ec ? " spool_error=" + common::escape(a.ec.message()) : std::string());
}

// One line per recipient this attempt tried: sent, deferred (retried later) or bounced (no
// retry: a 5xx, or the message expired), with the DSN it caused.
void QueueRunner::log_recipients(const Attempt& a) const {
  if (!spdlog::should_log(spdlog::level::info)) return;
  const double delay = static_cast<double>(a.now_ms - a.envelope.created_ms) / 1000.0;
  for (const auto& tried : a.tried) {
    const auto& recipient = a.envelope.recipients[tried.index];
    const bool failed = recipient.state == SpoolRecipient::State::Failed;
    const std::string_view status = tried.reply.positive() ? "sent"
                                    : failed               ? "bounced"
                                                           : "deferred";
    std::string line = recipient_line({a.due.id, recipient.address, tried.relay, delay,
                                       tried.reply, status});
    if (failed && tried.reply.transient()) common::append_kv(line, "reason", "queue.max_age");
    if (failed && !a.bounce_id.empty()) common::append_kv(line, "bounce", a.bounce_id);
    if (failed && a.outcome == Attempt::Outcome::Dead) common::append_kv(line, "dead", "yes");
    if (a.outcome == Attempt::Outcome::Dropped) {
      common::append_kv(line, "dropped", a.null_mx ? "null MX" : "own mail");
    }
    spdlog::info("{}", line);
  }
}

// Delivers a claimed message; without `envelope`, reads it from the spool, and without `body`,
// a body of one piece (a large one is sent from the spool piece by piece).
asio::awaitable<void> QueueRunner::deliver(storage::Spool::Due due,
                                           std::optional<storage::Envelope> envelope,
                                           std::optional<std::string> body) {
  storage::Spool& spool = shared_.spool;
  if (!envelope) {
    envelope = co_await io::run_blocking(shared_.blocking, [&] { return spool.envelope(due.id); });
  }
  // Gone, or rescheduled by someone else since it was found due.
  if (!envelope || envelope->due_ms != due.due_ms) co_return;
  if (!body && envelope->size <= storage::kBodyPiece) {
    body = co_await io::run_blocking(shared_.blocking, [&] { return spool.body(due.id); });
    if (!body) co_return;
  }
  Attempt a{std::move(due), std::move(*envelope), std::move(body), config_, router_};
  co_await attempt(a);
  a.now_ms = unix_ms(clock_);
  co_await settle(a);
  count(a);
  log_recipients(a);
}

void QueueRunner::spawn(storage::Spool::Due due, std::optional<storage::Envelope> envelope,
                        std::optional<std::string> body) {
  deliveries_.fetch_add(1, std::memory_order_relaxed);
  std::string id = due.id;
  asio::co_spawn(executor_, deliver(std::move(due), std::move(envelope), std::move(body)),
                 [this, id = std::move(id)](std::exception_ptr error) {
                   shared_.claims.release(id);
                   deliveries_.fetch_sub(1, std::memory_order_relaxed);
                   if (error) spdlog::error("delivery_exception id={}", id);
                 });
}

void QueueRunner::deliver_now(storage::Envelope envelope, std::optional<std::string> body) {
  if (draining_ || deliveries() >= config_->queue.max_deliveries ||
      !shared_.claims.claim(envelope.id)) {
    return;  // the runner's next pass takes it from the spool
  }
  storage::Spool::Due due{envelope.due_ms, envelope.id};
  spawn(std::move(due), std::move(envelope), std::move(body));
}

asio::awaitable<void> QueueRunner::poll() {
  while (!draining_) {
    const auto config = config_;
    const std::size_t limit = config->queue.max_deliveries;
    const std::size_t room = limit - std::min(limit, deliveries());
    std::vector<storage::Spool::Due> due;
    if (room > 0) {
      due = co_await io::run_blocking(shared_.blocking, [&] {
        return shared_.spool.due(unix_ms(clock_), room,
                                 [&](std::string_view id) { return shared_.claims.held(id); });
      });
    }
    const bool more = room == 0 || due.size() == room;  // more may be due than there was room for
    for (auto& entry : due) {
      if (draining_) break;
      if (!shared_.claims.claim(entry.id)) continue;  // another worker took it meanwhile
      spawn(std::move(entry), std::nullopt, std::nullopt);
    }
    if (draining_) break;
    timer_.expires_after(more ? std::min<conf::Duration>(kBusyPoll, config->queue.poll_interval)
                              : config->queue.poll_interval);
    (void)co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace mxgate::relay
