// Test harness for the relay: an io_context, metrics, a FakeServer, and a Router and Pool
// pointed at it; run() drives one coroutine on the context for at most 2 s.
#pragma once

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/manual_time.hpp"
#include "relay/inline_relay.hpp"
#include "relay/metrics.hpp"
#include "relay/pool.hpp"
#include "relay/router.hpp"
#include "tests/relay/fake_smtp_server.hpp"

namespace mxgate::relay {
namespace testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using smtp::Reply;

inline smtp::Path addr(std::string local, std::string domain) {
  return smtp::Path{std::move(local), std::move(domain)};
}

inline smtp::Command mail_from(smtp::Path from) {
  smtp::Command mail;
  mail.verb = smtp::Verb::Mail;
  mail.path = std::move(from);
  return mail;
}

inline std::string text(const Reply& reply) { return reply.wire(); }

struct Sent {
  std::vector<Reply> rcpt;
  Reply data;
  Reply end;
};

// One transaction as a session would drive it.
inline asio::awaitable<Sent> send_message(InlineRelay& relay, smtp::Command mail,
                                          std::vector<smtp::Path> recipients,
                                          std::vector<std::string> chunks) {
  Sent sent;
  relay.mail(mail);
  for (auto& r : recipients) sent.rcpt.push_back(co_await relay.rcpt(std::move(r)));
  if (!relay.has_recipients()) co_return sent;
  sent.data = co_await relay.data();
  if (sent.data.code != 354) co_return sent;
  for (const auto& c : chunks) co_await relay.content(c);
  sent.end = co_await relay.end();
  co_return sent;
}

struct Harness {
  explicit Harness(FakeScript script = {}) : server(context, std::move(script)) {
    config.connect_timeout = 500ms;
    config.command_timeout = 500ms;
    config.data_timeout = 500ms;
    config.pool_size = 4;
    config.pool_idle_timeout = 10s;
  }

  // Routes: example.com (and subdomains) → the fake, other.test → the fake again (another route).
  void start(std::vector<conf::HostPort> first = {}, bool require_tls = false,
             conf::Route::ForwardClient forward = conf::Route::ForwardClient::Off) {
    if (first.empty()) first.push_back({"127.0.0.1", server.port()});
    router.emplace(
        std::vector<conf::Route>{{{"example.com", ".example.com"}, first, require_tls, forward},
                                 {{"other.test"}, {{"127.0.0.1", server.port()}}, false}});
    pool.emplace(context.get_executor(), config, "relay.test", metrics, gates);
  }

  template <typename T>
  T run(asio::awaitable<T> task) {
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(context, std::move(task), [&](std::exception_ptr e, T value) {
      error = e;
      result = std::move(value);
      context.stop();
    });
    context.restart();
    context.run_for(2s);
    if (error) std::rethrow_exception(error);
    if (!result) throw std::runtime_error("the test coroutine did not finish within 2 s");
    return std::move(*result);
  }

  // Runs `task` with time on `clock` (installed with io::ClockOverride): sockets get a moment of
  // real time to deliver what they have, then the clock moves on by `step`, at most `steps`
  // times. Returns the result and the manual time it took.
  template <typename T>
  std::pair<T, common::Clock::duration> run_on(common::ManualClock& clock, asio::awaitable<T> task,
                                               common::Clock::duration step, int steps = 1000) {
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(context, std::move(task), [&](std::exception_ptr e, T value) {
      error = e;
      result = std::move(value);
    });
    const auto started = clock.now();
    for (int i = 0; i < steps && !result && !error; ++i) {
      context.restart();
      context.run_for(5ms);  // real time: loopback I/O
      if (result || error) break;
      io::advance(context, clock, step);
    }
    if (error) std::rethrow_exception(error);
    if (!result) throw std::runtime_error("the test coroutine did not finish");
    return {std::move(*result), clock.now() - started};
  }

  Sent send(smtp::Command mail, std::vector<smtp::Path> to, std::vector<std::string> chunks) {
    InlineRelay relay(*pool, *router);
    relay.client(client);
    return run(send_message(relay, std::move(mail), std::move(to), std::move(chunks)));
  }

  bool settle(std::function<bool()> done) { return run(eventually(std::move(done))); }

  // The metrics series of the downstream `target`, or of the fake as start() routes to it.
  DownstreamMetrics& series(const conf::HostPort& target) {
    return metrics.downstream(target.text());
  }
  DownstreamMetrics& fake_series() { return series({"127.0.0.1", server.port()}); }

  smtp::ClientIdentity client{"192.0.2.7", "mail.sender.example", "mail.sender.example", true};

  asio::io_context context;
  prometheus::Registry registry;
  RelayMetrics metrics{registry};
  FakeServer server;
  conf::RelayConfig config;
  std::optional<Router> router;
  std::optional<Pool> pool;
  DownstreamGates* gates = nullptr;  // set before start()
};

inline const smtp::Path kAlice = addr("alice", "sender.example");
inline const smtp::Path kBob = addr("bob", "example.com");

}  // namespace testing
}  // namespace mxgate::relay
