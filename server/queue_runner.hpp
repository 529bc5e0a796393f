// The queue runner of queue mode (issue 7): on every worker, every queue.poll_interval, it
// claims the messages that are due and delivers each over the worker's pooled downstream
// connections (an InlineRelay transaction per route: recipients of another route go in the next
// one). Per recipient: a 2xx is done; a 4xx or a lost connection is retried after the next wait
// of queue.retry (with jitter); a 5xx has failed. A message whose recipients are all done
// leaves the spool; one older than queue.max_age is dead-lettered. Nothing marks a message in
// flight on disk: after a crash it is due again and delivered again.
// Threading: deliveries run on their worker; spool calls hop to the blocking pool. QueueClaims
// is shared by the workers so that two never deliver the same message at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "storage/spool.hpp"

namespace mxgate::server {

class Worker;

// The messages being delivered (or held by an admin operation) in this process.
class QueueClaims {
 public:
  // false while another holds `id`, or while it is parked.
  bool claim(const std::string& id);
  void release(const std::string& id);
  // Released but not to be claimed again before `until_ms` (Unix ms): the attempt's new due
  // time could not be written (disk full), so the schedule still says "due now".
  void park(const std::string& id, std::int64_t until_ms);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;  // guards ids_, parked_
  std::unordered_set<std::string> ids_;
  std::unordered_map<std::string, std::int64_t> parked_;
};

boost::asio::awaitable<void> run_queue(Worker& worker);

}  // namespace mxgate::server
