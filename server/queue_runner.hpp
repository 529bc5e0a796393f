// The queue runner of queue mode (issue 7). A new message is handed over by the session that
// queued it (deliver_now). On every worker, every queue.poll_interval (at once again while it
// finds more than it has room for), the runner claims the messages that are due (retries,
// and what found no room) and delivers each over the worker's pooled downstream
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
#include <string_view>
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
  // Claimed, or parked until later: the runners leave it alone.
  bool held(std::string_view id) const;
  std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mutex_;  // guards ids_, parked_
  std::unordered_set<std::string, Hash, std::equal_to<>> ids_;
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> parked_;
};

boost::asio::awaitable<void> run_queue(Worker& worker);

// A message just committed by this worker's session: delivered at once with its content in
// memory when the worker has room for another delivery; otherwise the runner's next pass
// takes it from the spool. Call on the worker's thread.
void deliver_now(Worker& worker, storage::Envelope envelope, std::string body);

}  // namespace mxgate::server
