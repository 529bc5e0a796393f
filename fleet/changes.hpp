// fleet::Changes: the decisions a fleet shares (issue 19): listings, delisting and the
// portal's documents, as opaque bytes (storage::Change, encoded by the store's owner).
//   - publish(): a change this node made, keyed by what it decides about (`field`, e.g. the
//     family and key of a listing). Queued (at most max_queued: while Redis is there a full
//     queue makes publish() wait up to 10 s for room, as a bulk import does; beyond it the
//     oldest go, counted) and sent at once, in batches, by one Lua script per batch that appends each change to the
//     stream <prefix>:changes (XADD MAXLEN ~ stream_length) and records it as the latest of its
//     field in the hash <prefix>:state.
//   - Every node follows the stream from where it stands (XREAD BLOCK, on a connection of its
//     own) and hands each change another node made to `apply`. At the start, and after a
//     disconnection whose gap the stream no longer holds, it resyncs: the whole state hash
//     (skipping the fields of changes it has yet to publish), then the stream from the point
//     before the scan. Applying a change twice is harmless: a change states a result.
//   - Every flush_interval it writes its status to the hash <prefix>:node:<name> and its name
//     to the set <prefix>:nodes (`mxgate fleet status` reads them).
//   - Charges (fleet-wide limits): charge() counts an event this node's limit admitted for a
//     key; every flush_interval the counts go out as one entry of the stream <prefix>:charges
//     (about 1000 entries kept), and every other node hands them to `on_charges`, which moves
//     its own limit state on as if it had admitted them. A node so counts the fleet's events
//     with a delay of about flush_interval: the error of a fleet-wide limit is what the other
//     nodes admit in that time. Batches are named and applied once, as counts batches are.
//   - Counts (history counters): every flush_interval the batch `take` gives goes out as one
//     entry of the stream <prefix>:counts (entries of the last 15 minutes kept), and every
//     other node hands it to `apply`: each node's records are the fleet's sums. Each batch is
//     named (the node's start, then a sequence number) and applied once per node, even when
//     Redis appended it but its reply was lost and the batch was sent again.
//   A node follows both streams from its start, and across lost connections from where it
//   was: what was published while it was down is the part of the fleet's counts it misses.
// Redis down or slow: publish() keeps queueing, nothing waits; the links reconnect (Sentinel
// included) and the node catches up. The SMTP path never touches this.
// Threading: a thread of its own (start()/stop()); publish() (which may wait: not from an
// event loop) and status() from any thread;
// `apply` and `on_state` run on the fleet's thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "fleet/redis_link.hpp"

namespace mxgate::fleet {

struct ChangesSettings {
  RedisLinkSettings redis;
  std::string node;    // this node's name
  std::string prefix;  // of every key
  std::chrono::milliseconds flush_interval{1000};
  std::size_t max_queued = 100'000;
  std::size_t stream_length = 100'000;  // changes kept in the stream for followers behind
  std::size_t batch = 500;              // changes per script call
};

// mxgate_fleet_* (one set per process).
struct FleetMetrics {
  explicit FleetMetrics(prometheus::Registry& registry);
  prometheus::Gauge& enabled;    // 1 when [fleet] enabled (for alerts on `connected`)
  prometheus::Gauge& connected;  // 1 while both links are up
  prometheus::Gauge& queued;     // changes waiting to be published
  prometheus::Gauge& lag;        // seconds between a change's publication and its application
  prometheus::Counter& published;
  prometheus::Counter& applied;
  prometheus::Counter& dropped;  // queued changes given up (over max_queued)
  prometheus::Counter& resyncs;
  prometheus::Counter& charges;  // events other nodes' limits admitted, counted here too
  prometheus::Counter& counts;   // keys of other nodes' counter batches merged here
};

struct FleetStatus {
  bool connected = false;
  std::string redis;  // the links' status line ("redis 127.0.0.1:6379: connection refused")
  std::size_t queued = 0;
  std::uint64_t published = 0;
  std::uint64_t applied = 0;
  double lag_seconds = 0;
  std::string position;  // the last stream entry read
};

class Changes {
 public:
  using Apply = std::function<void(std::string_view change)>;
  using ApplyCharges = std::function<void(std::string_view key, std::uint32_t events)>;
  // `metrics` may be null; it outlives the object.
  Changes(ChangesSettings settings, Apply apply, FleetMetrics* metrics = nullptr);
  ~Changes();  // stop()
  Changes(const Changes&) = delete;
  Changes& operator=(const Changes&) = delete;

  void start();
  void stop();

  void publish(std::string field, std::string change);
  // Before start(): where the other nodes' charges go (none: they are ignored).
  void on_charges(ApplyCharges apply);
  // Any thread, quick (the SMTP path): one event admitted here for `key`.
  void charge(const std::string& key);
  // Before start(): this node's counter deltas, taken every flush_interval while Redis is
  // there (`take`: one batch, "" for none), and where the other nodes' batches go (`apply`:
  // the number of keys it merged).
  using TakeCounts = std::function<std::string()>;
  using ApplyCounts = std::function<std::size_t(std::string_view batch)>;
  void share_counts(TakeCounts take, ApplyCounts apply);
  FleetStatus status() const;

  struct Core;  // the fleet thread's state (changes.cpp)

 private:
  std::shared_ptr<Core> core_;
  std::thread thread_;
};

}  // namespace mxgate::fleet
