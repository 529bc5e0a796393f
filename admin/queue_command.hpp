// `mxgate queue`: the spool of queue mode, like Postfix's postqueue and postsuper. On a stopped
// server the command opens the spool itself (run as root, as the owner of queue.path:
// store_access.hpp); while mxgate runs (the spool's directory is locked) it asks the server's
// admin API, which runs the same operation on its open spool.
//   list              every queued message: id, size, arrival, sender; each recipient with its
//                     state and the downstream's last reply
//   show ID           the envelope, then the stored message
//   retry ID | --all  due now (the next runner pass delivers it)
//   delete ID         removed, without a bounce
//   stats             depth, oldest message, dead letters
// Each takes -c FILE and -o KEY=VALUE (cli.hpp); add_queue_commands() registers them.
// The tool never makes a spool: without one at queue.path it says so ("no queue at /abs/path
// (queue.path in FILE)"). In inline mode (relay.mode = "inline") there is no queue: the tool
// says "queue mode is off (relay.mode = "inline" in FILE); there is no queue" and exits 1,
// unless a spool left from an earlier queue-mode period still holds messages: then it says so
// on stderr and works on that spool (list, show, delete drain it; only a server in queue mode
// delivers what retry makes due).
// Exit status: 0; 1 on an error (message on stderr), for an unknown id, for a message being
// delivered at that moment (try again), and without a queue; 2 for a usage error (retry with
// neither or both of ID and --all, an ID that is not hexadecimal digits), before the
// configuration is read.
//
// Admin API (api.hpp; loopback peers only), plain text like the command's output:
//   GET    /admin/queue             list        GET  /admin/queue/stats        stats
//   GET    /admin/queue/<id>        show        POST /admin/queue/<id>/retry   retry
//   DELETE /admin/queue/<id>        delete      POST /admin/queue/retry        retry --all
// 200 with the output; 404 for an unknown id (or queue mode off), 409 for a message being
// delivered, 400 for a malformed id, 500 for a spool error.
// Threading: queue_operation() blocks on the spool (the server runs it on its blocking pool).
#pragma once

#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace mxgate::storage {
class Spool;
}

namespace mxgate::relay {
class QueueClaims;
}

namespace mxgate::admin {

struct QueueRequest {
  enum class Verb { List, Show, Retry, Delete, Stats } verb = Verb::List;
  std::string id;    // Show, Retry, Delete
  bool all = false;  // Retry --all
};

struct QueueOutcome {
  enum class Status { Ok, Error, UnknownId, BeingDelivered } status = Status::Ok;
  std::string out;  // what the command prints on stdout
  std::string err;  // and on stderr
};

// Runs `request` on `spool`. With `claims` (a running server), a message that a queue runner
// is delivering is left alone (BeingDelivered).
QueueOutcome queue_operation(storage::Spool& spool, const QueueRequest& request,
                             relay::QueueClaims* claims);

// The admin API's form of a request, and back; nullopt (with `error`) for a path or method
// that is not one.
struct QueueHttp {
  boost::beast::http::verb method;
  std::string target;
};
QueueHttp queue_http(const QueueRequest& request);
std::optional<QueueRequest> queue_request_from(boost::beast::http::verb method,
                                               std::string_view path, std::string& error);

int run_queue_command(const conf::Config& config, const QueueRequest& request);

class Cli;
// Adds `mxgate queue` and its commands to `cli` (cli.hpp).
void add_queue_commands(Cli& cli);

}  // namespace mxgate::admin
