// `mxgate queue`: the spool of queue mode, like Postfix's postqueue and postsuper, on a stopped
// server (the spool's directory is locked while mxgate runs: the commands say so).
//   list              every queued message: id, size, arrival, sender; each recipient with its
//                     state and the downstream's last reply
//   show ID           the envelope, then the stored message
//   retry ID | --all  due now (the next runner pass delivers it)
//   delete ID         removed, without a bounce
//   stats             depth, oldest message, dead letters
// Exit status: 0, 1 on an error (message on stderr), 2 for an unknown id.
#pragma once

#include <string>

#include "conf/config.hpp"

namespace mxgate::server {

struct QueueRequest {
  enum class Verb { List, Show, Retry, Delete, Stats } verb = Verb::List;
  std::string id;    // Show, Retry, Delete
  bool all = false;  // Retry --all
};

int run_queue_command(const conf::Config& config, const QueueRequest& request);

}  // namespace mxgate::server
