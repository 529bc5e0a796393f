#include "server/queue_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <random>

#include "common/blocking.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "relay/inline_relay.hpp"
#include "server/dsn.hpp"
#include "server/worker.hpp"

namespace mxgate::server {

namespace asio = boost::asio;
using storage::SpoolRecipient;

// How soon the runner looks again when it found more due messages than it had room for.
constexpr auto kBusyPoll = std::chrono::milliseconds(20);

namespace {}  // namespace

bool QueueClaims::claim(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (const auto parked = parked_.find(id); parked != parked_.end()) {
    if (parked->second > common::unix_millis()) return false;
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
  return parked != parked_.end() && parked->second > common::unix_millis();
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

// One attempt at every pending recipient of `envelope`; updates their states in place.
asio::awaitable<void> attempt(Worker& worker, storage::Envelope& envelope,
                              const std::string& body) {
  const auto snapshot = worker.snapshot();
  relay::InlineRelay relay(worker.pool(), snapshot->router, worker.metrics());
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    if (envelope.recipients[i].state == SpoolRecipient::State::Pending) pending.push_back(i);
  }
  smtp::Command mail;
  mail.verb = smtp::Verb::Mail;
  mail.path = path_of(envelope.mail_from);
  mail.smtputf8 = envelope.smtputf8;
  mail.body = envelope.eight_bit ? smtp::Body::EightBitMime : smtp::Body::Unspecified;
  mail.size = envelope.size;
  while (!pending.empty()) {
    relay.mail(mail);
    std::vector<std::size_t> accepted, next_route;
    for (std::size_t i : pending) {
      auto& recipient = envelope.recipients[i];
      const auto reply = co_await relay.rcpt(path_of(recipient.address), envelope.quarantine);
      if (reply.positive()) {
        accepted.push_back(i);
      } else if (reply.code == 452 && reply.enhanced == "4.5.3" && !accepted.empty()) {
        next_route.push_back(i);  // another route: its own transaction, right after this one
      } else {
        recipient.last_reply = reply_text(reply);
        if (!reply.transient()) recipient.state = SpoolRecipient::State::Failed;
      }
    }
    if (accepted.empty()) {
      relay.abort();
      break;
    }
    smtp::Reply final = co_await relay.data();
    if (final.code == 354) {
      co_await relay.content(body);
      final = co_await relay.end();
    } else {
      relay.abort();
    }
    for (std::size_t i : accepted) {
      auto& recipient = envelope.recipients[i];
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

// Delivers a claimed message; without `envelope` and `body`, reads them from the spool.
asio::awaitable<void> deliver(Worker& worker, storage::Spool::Due due,
                              std::optional<storage::Envelope> envelope,
                              std::optional<std::string> body) {
  const auto& context = worker.screening();
  storage::Spool& spool = *context.spool;
  if (!envelope) {
    envelope =
        co_await common::run_blocking(context.blocking, [&] { return spool.envelope(due.id); });
  }
  if (!body) {
    body = co_await common::run_blocking(context.blocking, [&] { return spool.body(due.id); });
  }
  if (envelope && body && envelope->due_ms == due.due_ms) {
    co_await attempt(worker, *envelope, *body);
    const auto config = worker.snapshot()->config;
    const bool done = std::none_of(
        envelope->recipients.begin(), envelope->recipients.end(),
        [](const SpoolRecipient& r) { return r.state == SpoolRecipient::State::Pending; });
    const auto now = common::unix_millis();
    const auto max_age =
        std::chrono::duration_cast<std::chrono::milliseconds>(config->queue.max_age).count();
    boost::system::error_code ec;
    std::string outcome;
    const bool expired = !done && now - envelope->created_ms >= max_age;
    if (expired) {
      for (auto& r : envelope->recipients) {
        if (r.state == SpoolRecipient::State::Pending) r.state = SpoolRecipient::State::Failed;
      }
    }
    const bool failed = std::any_of(
        envelope->recipients.begin(), envelope->recipients.end(),
        [](const SpoolRecipient& r) { return r.state == SpoolRecipient::State::Failed; });
    if (!done && !expired) {
      ++envelope->attempts;
      envelope->due_ms = now + backoff_ms(config->queue, envelope->attempts);
      outcome = "deferred";
      ec = co_await common::run_blocking(context.blocking,
                                         [&] { return spool.reschedule(*envelope, due.due_ms); });
    } else if (failed && envelope->mail_from.empty()) {
      // A bounce that bounced: never bounce it again (RFC 3464 §2; RFC 5321 §6.1).
      outcome = "dead";
      ec = co_await common::run_blocking(context.blocking, [&] {
        return spool.bury(*envelope, due.due_ms, expired ? "expired" : "undeliverable bounce");
      });
    } else if (failed && config->queue.dsn) {
      storage::Envelope bounce;
      bounce.id = spool.make_id();
      bounce.recipients = {{envelope->mail_from, SpoolRecipient::State::Pending, ""}};
      bounce.created_ms = bounce.due_ms = now;
      bounce.client_ip = "local";
      const std::string report = make_dsn(*envelope, *body, config->server.hostname, bounce.id,
                                          std::chrono::system_clock::now());
      bounce.size = report.size();
      outcome = expired ? "expired bounce=" + bounce.id : "done bounce=" + bounce.id;
      ec = co_await common::run_blocking(
          context.blocking, [&] { return spool.finish_with(*envelope, bounce, report); });
    } else {
      outcome = expired ? "expired" : "done";
      ec = co_await common::run_blocking(context.blocking, [&] { return spool.finish(*envelope); });
    }
    if (ec) {
      // The outcome is not on disk (disk full?): the schedule still says "due now". Wait as
      // after a failed attempt; a delivered message may then go out again (a duplicate).
      context.claims->park(due.id, now + backoff_ms(config->queue, envelope->attempts));
    }
    auto& metrics = worker.metrics();
    if (outcome == "deferred") {
      metrics.queue_deliveries_deferred.Increment();
    } else if (outcome == "dead") {
      metrics.queue_deliveries_dead.Increment();
    } else if (expired) {
      metrics.queue_deliveries_expired.Increment();
    } else {
      metrics.queue_deliveries_done.Increment();
    }
    if (outcome.find("bounce=") != std::string::npos) metrics.queue_dsns.Increment();
    if (spdlog::should_log(spdlog::level::info)) {
      std::size_t delivered = 0, refused = 0, left = 0;
      for (const auto& r : envelope->recipients) {
        (r.state == SpoolRecipient::State::Delivered ? delivered
         : r.state == SpoolRecipient::State::Failed  ? refused
                                                     : left) += 1;
      }
      spdlog::info("delivery id={} outcome={} delivered={} failed={} pending={} attempts={}{}",
                   due.id, outcome, delivered, refused, left, envelope->attempts,
                   ec ? " spool_error=" + common::escape(ec.message()) : std::string());
    }
  }
}

}  // namespace

namespace {

// Spawns the delivery of a message already claimed.
void spawn_delivery(Worker& worker, storage::Spool::Due due,
                    std::optional<storage::Envelope> envelope, std::optional<std::string> body) {
  worker.add_delivery();
  std::string id = due.id;
  asio::co_spawn(worker.io(), deliver(worker, std::move(due), std::move(envelope), std::move(body)),
                 [&worker, id = std::move(id)](std::exception_ptr error) {
                   worker.screening().claims->release(id);
                   worker.remove_delivery();
                   if (error) spdlog::error("delivery_exception id={}", id);
                 });
}

}  // namespace

void deliver_now(Worker& worker, storage::Envelope envelope, std::string body) {
  const auto& context = worker.screening();
  if (worker.draining() || context.claims == nullptr ||
      worker.deliveries() >= worker.snapshot()->config->queue.max_deliveries ||
      !context.claims->claim(envelope.id)) {
    return;  // the runner's next pass takes it from the spool
  }
  storage::Spool::Due due{envelope.due_ms, envelope.id};
  spawn_delivery(worker, std::move(due), std::move(envelope), std::move(body));
}

asio::awaitable<void> run_queue(Worker& worker) {
  const auto& context = worker.screening();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!worker.draining()) {
    const auto config = worker.snapshot()->config;
    const std::size_t limit = config->queue.max_deliveries;
    const std::size_t room = limit - std::min(limit, worker.deliveries());
    std::vector<storage::Spool::Due> due;
    if (room > 0) {
      due = co_await common::run_blocking(context.blocking, [&] {
        return context.spool->due(common::unix_millis(), room,
                                  [&](std::string_view id) { return context.claims->held(id); });
      });
    }
    const bool more = room == 0 || due.size() == room;  // more may be due than there was room for
    for (auto& entry : due) {
      if (!context.claims->claim(entry.id)) continue;  // another worker took it meanwhile
      spawn_delivery(worker, std::move(entry), std::nullopt, std::nullopt);
    }
    timer.expires_after(more ? std::min<conf::Duration>(kBusyPoll, config->queue.poll_interval)
                             : config->queue.poll_interval);
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace mxgate::server
