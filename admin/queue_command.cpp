#include "admin/queue_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "admin/cli.hpp"
#include "admin/paths.hpp"
#include "admin/store_access.hpp"
#include "admin/token.hpp"
#include "common/clock.hpp"
#include "http/client.hpp"
#include "relay/queue_runner.hpp"
#include "smtp/received.hpp"
#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"

namespace mxgate::admin {
namespace {

namespace beast = boost::beast;
using Status = QueueOutcome::Status;

constexpr auto kAdminTimeout = std::chrono::seconds(60);
constexpr std::string_view kRetrySuffix = "/retry";
constexpr std::string_view kStats = "stats";

std::string when(std::int64_t ms) {
  return smtp::rfc5322_date(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
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

void print_envelope(std::string& out, const storage::Envelope& e) {
  fmt::format_to(std::back_inserter(out), "{}  {:>9}  {}  <{}>\n", e.id, e.size, when(e.created_ms),
                 e.mail_from);
  fmt::format_to(std::back_inserter(out), "    attempts {}, next attempt {}, from {}\n", e.attempts,
                 when(e.due_ms), e.client_ip);
  for (const auto& r : e.recipients) {
    fmt::format_to(std::back_inserter(out), "    {:<9} <{}>{}{}\n", state_name(r.state), r.address,
                   r.last_reply.empty() ? "" : "  ", r.last_reply);
  }
}

QueueOutcome failed(Status status, std::string err) {
  QueueOutcome outcome;
  outcome.status = status;
  outcome.err = std::move(err);
  return outcome;
}

QueueOutcome unknown(const std::string& id) {
  return failed(Status::UnknownId, fmt::format("mxgate queue: no queued message {}\n", id));
}

QueueOutcome being_delivered(const std::string& id) {
  return failed(Status::BeingDelivered,
                fmt::format("mxgate queue: message {} is being delivered now; try again\n", id));
}

// Holds a message against the queue runners of a running server for one operation.
class Hold {
 public:
  Hold(relay::QueueClaims* claims, std::string id)
      : claims_(claims), id_(std::move(id)), held_(!claims_ || claims_->claim(id_)) {}
  ~Hold() {
    if (claims_ && held_) claims_->release(id_);
  }
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;
  bool held() const { return held_; }

 private:
  relay::QueueClaims* claims_;
  std::string id_;
  bool held_;
};

// Due now; the envelope is read again under the hold (a runner may have just changed it).
QueueOutcome retry(storage::Spool& spool, const std::string& id, relay::QueueClaims* claims) {
  Hold hold(claims, id);
  if (!hold.held()) return being_delivered(id);
  auto envelope = spool.envelope(id);
  if (!envelope) return unknown(id);
  const auto old_due = envelope->due_ms;
  envelope->due_ms = common::unix_millis();
  if (auto ec = spool.reschedule(*envelope, old_due, storage::Spool::Durability::Synced)) {
    return failed(Status::Error, fmt::format("mxgate queue retry {}: {}\n", id, ec.message()));
  }
  QueueOutcome outcome;
  outcome.out = fmt::format("{} due now\n", id);
  return outcome;
}

QueueOutcome retry_all(storage::Spool& spool, relay::QueueClaims* claims) {
  std::vector<std::string> ids;
  if (auto ec = spool.for_each([&](const storage::Envelope& e) {
        ids.push_back(e.id);
        return true;
      })) {
    return failed(Status::Error, fmt::format("mxgate queue retry: {}\n", ec.message()));
  }
  QueueOutcome all;
  std::size_t due = 0, busy = 0;
  for (const auto& id : ids) {
    auto one = retry(spool, id, claims);
    if (one.status == Status::Ok) ++due;
    if (one.status == Status::BeingDelivered) ++busy;
    if (one.status == Status::Error) all = std::move(one);  // UnknownId: delivered meanwhile
  }
  all.out = fmt::format("{} message{} due now{}\n", due, due == 1 ? "" : "s",
                        busy == 0 ? "" : fmt::format(", {} being delivered", busy));
  return all;
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(c) != 0; });
}

}  // namespace

QueueOutcome queue_operation(storage::Spool& spool, const QueueRequest& request,
                             relay::QueueClaims* claims) {
  using Verb = QueueRequest::Verb;
  QueueOutcome outcome;
  switch (request.verb) {
    case Verb::List: {
      std::size_t count = 0;
      const auto ec = spool.for_each([&](const storage::Envelope& e) {
        print_envelope(outcome.out, e);
        ++count;
        return true;
      });
      if (ec) return failed(Status::Error, fmt::format("mxgate queue list: {}\n", ec.message()));
      fmt::format_to(std::back_inserter(outcome.out), "-- {} message{} queued\n", count,
                     count == 1 ? "" : "s");
      return outcome;
    }
    case Verb::Show: {
      const auto e = spool.envelope(request.id);
      const auto body = spool.body(request.id);
      if (!e || !body) return unknown(request.id);
      print_envelope(outcome.out, *e);
      outcome.out += "\n" + *body;
      return outcome;
    }
    case Verb::Retry:
      return request.all ? retry_all(spool, claims) : retry(spool, request.id, claims);
    case Verb::Delete: {
      Hold hold(claims, request.id);
      if (!hold.held()) return being_delivered(request.id);
      const auto e = spool.envelope(request.id);
      if (!e) return unknown(request.id);
      if (auto ec = spool.finish(*e, storage::Spool::Durability::Synced)) {
        return failed(Status::Error,
                      fmt::format("mxgate queue delete {}: {}\n", request.id, ec.message()));
      }
      outcome.out = fmt::format("{} deleted\n", request.id);
      return outcome;
    }
    case Verb::Stats: {
      const auto s = spool.stats();
      outcome.out =
          fmt::format("depth {}\noldest {}\ndead {}\n", s.depth,
                      s.depth == 0 ? std::string("-") : when(s.oldest_created_ms), s.dead);
      return outcome;
    }
  }
  return failed(Status::Error, "mxgate queue: unknown operation\n");
}

QueueHttp queue_http(const QueueRequest& request) {
  using Verb = QueueRequest::Verb;
  const std::string one = fmt::format("{}/{}", kAdminQueuePath, request.id);
  switch (request.verb) {
    case Verb::List:
      return {beast::http::verb::get, std::string(kAdminQueuePath)};
    case Verb::Stats:
      return {beast::http::verb::get, fmt::format("{}/{}", kAdminQueuePath, kStats)};
    case Verb::Show:
      return {beast::http::verb::get, one};
    case Verb::Retry:
      return {beast::http::verb::post, request.all
                                           ? fmt::format("{}{}", kAdminQueuePath, kRetrySuffix)
                                           : one + std::string(kRetrySuffix)};
    case Verb::Delete:
      return {beast::http::verb::delete_, one};
  }
  return {beast::http::verb::get, std::string(kAdminQueuePath)};
}

std::optional<QueueRequest> queue_request_from(beast::http::verb method, std::string_view path,
                                               std::string& error) {
  using Verb = QueueRequest::Verb;
  QueueRequest request;
  if (path == kAdminQueuePath || path == fmt::format("{}/", kAdminQueuePath)) {
    if (method != beast::http::verb::get) error = "method not allowed";
    request.verb = Verb::List;
    return error.empty() ? std::optional(request) : std::nullopt;
  }
  if (!path.starts_with(kAdminQueuePath) || path.size() < kAdminQueuePath.size() + 2 ||
      path[kAdminQueuePath.size()] != '/') {
    error = "not found";
    return std::nullopt;
  }
  std::string_view rest = path.substr(kAdminQueuePath.size() + 1);
  const bool retry = rest.ends_with(kRetrySuffix) || rest == kRetrySuffix.substr(1);
  if (rest == kStats) {
    request.verb = Verb::Stats;
  } else if (retry) {
    request.verb = Verb::Retry;
    request.all = rest == kRetrySuffix.substr(1);
    if (!request.all) rest.remove_suffix(kRetrySuffix.size());
  } else {
    request.verb = method == beast::http::verb::delete_ ? Verb::Delete : Verb::Show;
  }
  const beast::http::verb expected = request.verb == Verb::Retry    ? beast::http::verb::post
                                     : request.verb == Verb::Delete ? beast::http::verb::delete_
                                                                    : beast::http::verb::get;
  if (request.verb == Verb::Show && method != beast::http::verb::get) {
    error = "method not allowed";
  } else if (method != expected) {
    error = "method not allowed";
  } else if (request.verb != Verb::Stats && !request.all && !valid_id(rest)) {
    error = "a queue id is hexadecimal digits";
  }
  if (!error.empty()) return std::nullopt;
  if (request.verb != Verb::Stats && !request.all) request.id = std::string(rest);
  return request;
}

namespace {

// The operation through the admin API of the running server that holds the spool.
std::optional<QueueOutcome> ask_server(const conf::Config& config, const QueueRequest& request) {
  if (config.http.listen.port == 0) {
    fmt::print(stderr,
               "mxgate queue: a running mxgate holds the queue and its HTTP listener is off "
               "(http.listen port 0); stop mxgate or enable the listener\n");
    return std::nullopt;
  }
  std::string problem;
  const auto token = read_admin_token(config, problem);
  if (!token) {
    fmt::print(stderr, "mxgate queue: a running mxgate holds the queue; {}\n", problem);
    return std::nullopt;
  }
  const http::Client client(config.http.listen, *token);
  const auto call = queue_http(request);
  const auto reply = client.request(call.method, call.target, "", "", kAdminTimeout);
  if (reply.status == 0) {
    fmt::print(stderr, "mxgate queue: a running mxgate holds the queue; its admin API at {}: {}\n",
               client.url(), reply.error);
    return std::nullopt;
  }
  QueueOutcome outcome;
  (reply.status == 200 ? outcome.out : outcome.err) = reply.body;
  outcome.status = reply.status == 200   ? Status::Ok
                   : reply.status == 404 ? Status::UnknownId
                   : reply.status == 409 ? Status::BeingDelivered
                                         : Status::Error;
  return outcome;
}

}  // namespace

namespace {

int queue_fail(const std::string& message) {
  fmt::print(stderr, "mxgate queue: {}\n", message);
  return kExitFailure;
}

std::string inline_text(const conf::Config& config) {
  return fmt::format("queue mode is off (relay.mode = \"inline\" in {})", config.source.string());
}

// The spool opened here; null when a running server holds it (ask it), or after printing why
// there is none to work on (`failed`). In inline mode only a spool left from an earlier
// queue-mode period that still holds messages is worked on, with a note: the postmaster who
// switched back to inline must be able to see, drain or delete what it holds.
std::unique_ptr<storage::Spool> open_spool(const conf::Config& config, bool& failed) {
  const std::filesystem::path path = config.queue.path;
  const bool queue_mode = config.relay.mode == conf::RelayConfig::Mode::Queue;
  failed = true;
  if (!storage::database_exists(path)) {
    if (queue_mode) {
      queue_fail(missing_text("queue", path, "queue.path", config.source) +
                 "; start mxgate once in queue mode to create it, or check -c");
    } else {
      queue_fail(inline_text(config) + "; there is no queue");
    }
    return nullptr;
  }
  std::unique_ptr<storage::Spool> spool;
  if (!storage::store_in_use(path)) {
    storage::SpoolOptions options;
    options.create_if_missing = false;
    try {
      spool = storage::Spool::open(path, options);
    } catch (const std::exception& e) {
      if (!storage::store_in_use(path)) {  // not a server that started meanwhile
        queue_fail(e.what());
        return nullptr;
      }
    }
  }
  if (!queue_mode && spool) {
    const auto stats = spool->stats();
    if (stats.depth == 0 && stats.dead == 0) {
      queue_fail(inline_text(config) + "; there is no queue (the spool at " + path.string() +
                 " from an earlier queue-mode period is empty)");
      return nullptr;
    }
    fmt::print(stderr,
               "mxgate queue: {}, but the spool at {} from an earlier queue-mode period holds "
               "{} message{} ({} dead); working on it. Only mxgate in queue mode delivers them.\n",
               inline_text(config), path.string(), stats.depth, stats.depth == 1 ? "" : "s",
               stats.dead);
  }
  failed = false;
  return spool;
}

}  // namespace

int run_queue_command(const conf::Config& config, const QueueRequest& request) {
  if (request.verb == QueueRequest::Verb::Retry && !request.all && request.id.empty()) {
    fmt::print(stderr, "mxgate queue retry: give a queue id or --all\n");
    return kExitUsage;
  }
  // Before anything under queue.path is opened (store_access.hpp).
  if (auto problem = become_owner_of(config.queue.path); !problem.empty()) {
    return queue_fail(problem);
  }
  bool failed = false;
  const auto spool = open_spool(config, failed);
  if (failed) return kExitFailure;
  const auto outcome = spool ? std::optional(queue_operation(*spool, request, nullptr))
                             : ask_server(config, request);
  if (!outcome) return kExitFailure;
  std::fwrite(outcome->out.data(), 1, outcome->out.size(), stdout);
  std::fwrite(outcome->err.data(), 1, outcome->err.size(), stderr);
  return outcome->status == Status::Ok ? kExitOk : kExitFailure;
}

namespace {

int run_queue_cli(const Cli& cli, QueueRequest& request, QueueRequest::Verb verb) {
  if (verb == QueueRequest::Verb::Retry && request.all == !request.id.empty()) {
    throw UsageError("queue retry: give a queue id or --all, not both");
  }
  if (!request.id.empty() && !valid_id(request.id)) {
    throw UsageError(fmt::format("queue {}: '{}' is not a queue id (hexadecimal digits)",
                                 verb == QueueRequest::Verb::Show     ? "show"
                                 : verb == QueueRequest::Verb::Delete ? "delete"
                                                                      : "retry",
                                 request.id));
  }
  request.verb = verb;
  return run_queue_command(cli.load_config(), request);
}

}  // namespace

void add_queue_commands(Cli& cli) {
  auto& queue = *cli.app().add_subcommand(
      "queue",
      "Inspect and change the spool of queue mode (through the admin API while mxgate runs)");
  queue.require_subcommand(1);
  const auto request = std::make_shared<QueueRequest>();
  auto* list = queue.add_subcommand("list", "Every queued message and its recipients");
  auto* show = queue.add_subcommand("show", "One message: envelope and content");
  show->add_option("id", request->id, "Queue id")->required();
  auto* retry = queue.add_subcommand("retry", "Make a message (or all) due now");
  retry->add_option("id", request->id, "Queue id");
  retry->add_flag("--all", request->all, "Every queued message");
  auto* del = queue.add_subcommand("delete", "Remove a message without a bounce");
  del->add_option("id", request->id, "Queue id")->required();
  auto* stats = queue.add_subcommand("stats", "Depth, oldest message, dead letters");

  using Verb = QueueRequest::Verb;
  const std::pair<CLI::App*, Verb> commands[] = {{list, Verb::List},
                                                 {show, Verb::Show},
                                                 {retry, Verb::Retry},
                                                 {del, Verb::Delete},
                                                 {stats, Verb::Stats}};
  for (auto [command, verb] : commands) {
    cli.add_config_options(*command);
    cli.on(*command, [&cli, request, verb = verb] { return run_queue_cli(cli, *request, verb); });
  }
}

}  // namespace mxgate::admin
