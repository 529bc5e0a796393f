#include "server/queue_command.hpp"

#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "server/trace.hpp"
#include "storage/spool.hpp"

namespace mxgate::server {
namespace {

constexpr int kExitUnknownId = 2;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string when(std::int64_t ms) {
  return rfc5322_date(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string_view state_name(storage::SpoolRecipient::State state) {
  switch (state) {
    case storage::SpoolRecipient::State::Pending:
      return "pending";
    case storage::SpoolRecipient::State::Delivered:
      return "delivered";
    case storage::SpoolRecipient::State::Failed:
      return "failed";
  }
  return "?";
}

void print_envelope(const storage::Envelope& e) {
  fmt::print("{}  {:>9}  {}  <{}>\n", e.id, e.size, when(e.created_ms), e.mail_from);
  fmt::print("    attempts {}, next attempt {}, from {}\n", e.attempts, when(e.due_ms),
             e.client_ip);
  for (const auto& r : e.recipients) {
    fmt::print("    {:<9} <{}>{}{}\n", state_name(r.state), r.address,
               r.last_reply.empty() ? "" : "  ", r.last_reply);
  }
}

int unknown(const std::string& id) {
  fmt::print(stderr, "mxgate queue: no queued message {}\n", id);
  return kExitUnknownId;
}

int retry(storage::Spool& spool, storage::Envelope envelope) {
  const auto old_due = envelope.due_ms;
  envelope.due_ms = now_ms();
  if (auto ec = spool.reschedule(envelope, old_due)) {
    fmt::print(stderr, "mxgate queue retry {}: {}\n", envelope.id, ec.message());
    return 1;
  }
  return 0;
}

}  // namespace

int run_queue_command(const conf::Config& config, const QueueRequest& request) {
  std::unique_ptr<storage::Spool> spool;
  try {
    spool = storage::Spool::open(config.queue.path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "mxgate queue: {}\n", e.what());
    return 1;
  }
  using Verb = QueueRequest::Verb;
  switch (request.verb) {
    case Verb::List: {
      std::size_t count = 0;
      const auto ec = spool->for_each([&](const storage::Envelope& e) {
        print_envelope(e);
        ++count;
        return true;
      });
      if (ec) {
        fmt::print(stderr, "mxgate queue list: {}\n", ec.message());
        return 1;
      }
      fmt::print("-- {} message{} queued\n", count, count == 1 ? "" : "s");
      return 0;
    }
    case Verb::Show: {
      const auto e = spool->envelope(request.id);
      const auto body = spool->body(request.id);
      if (!e || !body) return unknown(request.id);
      print_envelope(*e);
      fmt::print("\n{}", *body);
      return 0;
    }
    case Verb::Retry: {
      if (!request.all) {
        const auto e = spool->envelope(request.id);
        return e ? retry(*spool, *e) : unknown(request.id);
      }
      std::vector<storage::Envelope> all;
      spool->for_each([&](const storage::Envelope& e) {
        all.push_back(e);
        return true;
      });
      int status = 0;
      for (auto& e : all) status = std::max(status, retry(*spool, std::move(e)));
      fmt::print("{} message{} due now\n", all.size(), all.size() == 1 ? "" : "s");
      return status;
    }
    case Verb::Delete: {
      const auto e = spool->envelope(request.id);
      if (!e) return unknown(request.id);
      if (auto ec = spool->finish(*e)) {
        fmt::print(stderr, "mxgate queue delete {}: {}\n", request.id, ec.message());
        return 1;
      }
      return 0;
    }
    case Verb::Stats: {
      const auto s = spool->stats();
      fmt::print("depth {}\noldest {}\ndead {}\n", s.depth,
                 s.depth == 0 ? std::string("-") : when(s.oldest_created_ms), s.dead);
      return 0;
    }
  }
  return 1;
}

}  // namespace mxgate::server
