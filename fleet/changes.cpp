#include "fleet/changes.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <condition_variable>
#include <future>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mxgate::fleet {

namespace asio = boost::asio;
using Milliseconds = std::chrono::milliseconds;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr Milliseconds kCommandTimeout{5000};
constexpr Milliseconds kReadBlock{1000};  // XREAD BLOCK: a quiet stream answers nil this often
constexpr Milliseconds kIdle{100};        // a link down: look again this often
constexpr std::size_t kScanCount = 1000;
constexpr Milliseconds kStopDeadline{2000};
constexpr Milliseconds kRoomWait{10000};  // publish() waiting for room in the queue, at most
// Charges are worth something only for a flush_interval or two: a short stream, whatever the
// number of nodes (an entry per node per flush_interval).
constexpr std::size_t kChargesLength = 1000;
// Counts entries are kept this long (XADD MINID): the time a node may lose Redis without
// missing the fleet's counts (memory: about this much of the fleet's counter batches).
constexpr std::uint64_t kCountsKeepMs = 15 * 60 * 1000;
// Nodes whose last counts and charges batches are remembered (a fleet has a handful; past
// this, forgotten).
constexpr std::size_t kMaxBatchNodes = 1024;

// One call per batch: each change goes to the stream and becomes its field's latest state, in
// one atomic step (a follower that resyncs sees either both or neither).
// KEYS: stream, state hash. ARGV: node, stream length, then field and change pairs.
constexpr std::string_view kPublishScript = R"lua(
local last = ''
for i = 3, #ARGV, 2 do
  last = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
                    'node', ARGV[1], 'field', ARGV[i], 'change', ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return last
)lua";

// A stream entry id "<ms>-<seq>" as a pair; {0, 0} for what is not one.
std::pair<std::uint64_t, std::uint64_t> entry_id(std::string_view id) {
  std::pair<std::uint64_t, std::uint64_t> out{0, 0};
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return out;
  std::from_chars(id.data(), id.data() + dash, out.first);
  std::from_chars(id.data() + dash + 1, id.data() + id.size(), out.second);
  return out;
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<Milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

FleetMetrics::FleetMetrics(prometheus::Registry& registry)
    : enabled(prometheus::BuildGauge()
                  .Name("mxgate_fleet_enabled")
                  .Help("1 when this node is in fleet mode ([fleet] enabled)")
                  .Register(registry)
                  .Add({})),
      connected(prometheus::BuildGauge()
                    .Name("mxgate_fleet_connected")
                    .Help("1 while this node is connected to the fleet's Redis")
                    .Register(registry)
                    .Add({})),
      queued(prometheus::BuildGauge()
                 .Name("mxgate_fleet_queued")
                 .Help("Decisions of this node waiting to be published to the fleet")
                 .Register(registry)
                 .Add({})),
      lag(prometheus::BuildGauge()
              .Name("mxgate_fleet_lag_seconds")
              .Help("Age of the last fleet change this node read when it read it")
              .Register(registry)
              .Add({})),
      published(prometheus::BuildCounter()
                    .Name("mxgate_fleet_published_total")
                    .Help("Decisions of this node published to the fleet")
                    .Register(registry)
                    .Add({})),
      applied(prometheus::BuildCounter()
                  .Name("mxgate_fleet_applied_total")
                  .Help("Decisions of other nodes applied here (resyncs included)")
                  .Register(registry)
                  .Add({})),
      dropped(prometheus::BuildCounter()
                  .Name("mxgate_fleet_dropped_total")
                  .Help("Decisions of this node given up unpublished (over fleet.max_queued)")
                  .Register(registry)
                  .Add({})),
      resyncs(prometheus::BuildCounter()
                  .Name("mxgate_fleet_resyncs_total")
                  .Help("Full reads of the fleet's state (at the start, or after a gap)")
                  .Register(registry)
                  .Add({})),
      charges(prometheus::BuildCounter()
                  .Name("mxgate_fleet_charges_total")
                  .Help("Events other nodes' limits admitted, counted by this node's limits")
                  .Register(registry)
                  .Add({})),
      counts(prometheus::BuildCounter()
                 .Name("mxgate_fleet_counts_total")
                 .Help("Keys of other nodes' history counters merged into this node's records")
                 .Register(registry)
                 .Add({})) {}

struct Changes::Core {
  Core(ChangesSettings s, Apply a, FleetMetrics* m)
      : settings(std::move(s)),
        apply(std::move(a)),
        metrics(m),
        writer(io.get_executor(), settings.redis),
        follower(io.get_executor(), settings.redis),
        wake(io),
        stream(settings.prefix + ":changes"),
        state(settings.prefix + ":state"),
        nodes(settings.prefix + ":nodes"),
        charges_stream(settings.prefix + ":charges"),
        counts_stream(settings.prefix + ":counts"),
        charges_position(std::to_string(now_ms()) + "-0"),
        counts_position(charges_position),
        incarnation(now_ms()) {}

  struct Queued {
    std::uint64_t sequence;
    std::string field;
    std::string change;
  };

  asio::awaitable<void> publisher();
  asio::awaitable<bool> send_batch();
  asio::awaitable<void> follower_loop();
  asio::awaitable<bool> resync();
  asio::awaitable<bool> read_stream();
  asio::awaitable<void> report();
  asio::awaitable<void> send_counts();
  asio::awaitable<void> send_counts_once();
  asio::awaitable<void> send_charges();
  std::string take_charges();  // `charges` encoded (send_charges), and cleared
  // A batch of counts or charges on its way to Redis: taken once, named, then sent under that
  // name until Redis takes it (what comes meanwhile waits for the next batch).
  struct Outgoing {
    std::string payload;  // "": nothing waits
    std::string name;     // "<incarnation>.<n>"
  };
  void take_batch(Outgoing& out, std::string payload);
  // One XADD of `out` (`add`: the command up to the entry id), cleared once Redis has it.
  asio::awaitable<void> send_batch(Outgoing& out, std::vector<std::string> add,
                                   std::string_view field);
  void apply_charges(std::string_view payload);
  // The last batch applied per node: (incarnation, n) of its name "<incarnation>.<n>".
  using BatchesSeen = std::unordered_map<std::string, std::pair<std::uint64_t, std::uint64_t>>;
  // Whether `node`'s batch named `batch` is new here (recorded in `seen` if it is).
  static bool first_time(BatchesSeen& seen, std::string_view node, std::string_view batch);
  asio::awaitable<void> rest(Milliseconds how_long);
  void apply_one(std::string_view change);
  bool pending(const std::string& field) const;  // a change of `field` waits to be published
  std::string current_position() const;
  void update_connected(const std::string& status);

  ChangesSettings settings;
  Apply apply;
  FleetMetrics* metrics;
  asio::io_context io{1};
  RedisLink writer;    // publishes, writes the status
  RedisLink follower;  // blocks in XREAD
  asio::steady_timer wake;
  std::string stream, state, nodes, charges_stream, counts_stream;
  // The follower's places in charges_stream and counts_stream: from this node's start (its
  // state is as it was loaded then), kept across lost connections; what a stream keeps bounds
  // what it replays.
  std::string charges_position, counts_position;

  mutable std::mutex mutex;  // guards queue, pending_fields, next_sequence and position
  std::condition_variable room;  // the queue shrank, the links changed, or stopping
  std::deque<Queued> queue;
  std::unordered_map<std::string, int> pending_fields;
  std::uint64_t next_sequence = 0;
  std::string position;  // the last entry read; "" before the first resync
  std::string redis_status = "redis: not connected yet";

  std::mutex charges_mutex;  // guards charges
  std::unordered_map<std::string, std::uint32_t> charges;  // events admitted here, not yet sent
  ApplyCharges on_charges;
  TakeCounts take_counts;
  ApplyCounts apply_counts;
  // Each counts or charges batch goes out as "<incarnation>.<n>" (the node's start in ms, then
  // 1, 2, ...; a batch sent again keeps its name), and a node applies each other node's batch
  // once: Redis may have appended a batch whose reply was lost (it died in between), and the
  // batch is then sent again. *_seen: the last batch applied per node (bounded:
  // kMaxBatchNodes).
  std::uint64_t incarnation = 0;
  std::uint64_t batches = 0;
  Outgoing counts_out, charges_out;
  BatchesSeen counts_seen, charges_seen;
  bool sending_counts = false;

  bool gap_possible = true;  // the follower was away: check the stream still holds its place
  std::atomic<bool> stopping{false};
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> applied{0};
  std::atomic<double> lag{0};
};

Changes::Changes(ChangesSettings settings, Apply apply, FleetMetrics* metrics)
    : core_(std::make_shared<Core>(std::move(settings), std::move(apply), metrics)) {}

Changes::~Changes() { stop(); }

void Changes::start() {
  auto core = core_;
  core->writer.on_change(
      [core](bool, const std::string& status) { core->update_connected(status); });
  core->follower.on_change([core](bool up, const std::string& status) {
    if (up) core->gap_possible = true;
    core->update_connected(status);
  });
  core->writer.start();
  core->follower.start();
  asio::co_spawn(core->io, core->publisher(), asio::detached);
  asio::co_spawn(core->io, core->follower_loop(), asio::detached);
  asio::co_spawn(core->io, core->report(), asio::detached);
  asio::co_spawn(core->io, core->send_counts(), asio::detached);
  thread_ = std::thread([core] { core->io.run(); });
}

void Changes::stop() {
  if (!thread_.joinable()) return;
  auto core = core_;
  // This node's last decisions: a short wait for them to go out while Redis is there.
  const auto deadline = std::chrono::steady_clock::now() + kStopDeadline;
  while (core->connected && status().queued > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(Milliseconds(20));
  }
  // And the charges and counts of its last sessions (the store's last flush came before).
  if (core->connected) {
    auto sent = std::make_shared<std::promise<void>>();
    asio::co_spawn(core->io, core->send_counts_once(),
                   [sent](const std::exception_ptr&) { sent->set_value(); });
    sent->get_future().wait_until(deadline);
  }
  core->stopping = true;
  { std::lock_guard lock(core->mutex); }  // a publish() between its check and its wait
  core->room.notify_all();
  asio::post(core->io, [core] {
    core->writer.stop();
    core->follower.stop();
    core->wake.cancel();
  });
  thread_.join();
}

void Changes::publish(std::string field, std::string change) {
  auto& core = *core_;
  {
    std::unique_lock lock(core.mutex);
    // A bulk import publishes faster than Redis takes changes: it waits for room while Redis
    // is there, for a while, rather than losing the oldest.
    core.room.wait_for(lock, kRoomWait, [&core] {
      return core.queue.size() < core.settings.max_queued || !core.connected || core.stopping;
    });
    ++core.pending_fields[field];
    core.queue.push_back({core.next_sequence++, std::move(field), std::move(change)});
    if (core.queue.size() > core.settings.max_queued) {
      const auto& oldest = core.queue.front();
      if (--core.pending_fields[oldest.field] == 0) core.pending_fields.erase(oldest.field);
      core.queue.pop_front();
      if (core.metrics) core.metrics->dropped.Increment();
    }
    if (core.metrics) core.metrics->queued.Set(static_cast<double>(core.queue.size()));
  }
  auto shared = core_;
  asio::post(core.io, [shared] { shared->wake.cancel(); });
}

void Changes::on_charges(ApplyCharges apply) { core_->on_charges = std::move(apply); }

void Changes::share_counts(TakeCounts take, ApplyCounts apply) {
  core_->take_counts = std::move(take);
  core_->apply_counts = std::move(apply);
}

void Changes::charge(const std::string& key) {
  std::lock_guard lock(core_->charges_mutex);
  auto& charges = core_->charges;
  if (charges.size() >= core_->settings.max_queued && !charges.contains(key)) return;
  ++charges[key];
}

FleetStatus Changes::status() const {
  FleetStatus s;
  s.connected = core_->connected;
  s.published = core_->published;
  s.applied = core_->applied;
  s.lag_seconds = core_->lag;
  std::lock_guard lock(core_->mutex);
  s.queued = core_->queue.size();
  s.position = core_->position;
  s.redis = core_->redis_status;
  return s;
}

void Changes::Core::update_connected(const std::string& status) {
  connected = writer.connected() && follower.connected();
  if (metrics) metrics->connected.Set(connected ? 1 : 0);
  {
    std::lock_guard lock(mutex);
    redis_status = status;
  }
  room.notify_all();
}

bool Changes::Core::pending(const std::string& field) const {
  std::lock_guard lock(mutex);
  return pending_fields.contains(field);
}

std::string Changes::Core::current_position() const {
  std::lock_guard lock(mutex);
  return position;
}

asio::awaitable<void> Changes::Core::rest(Milliseconds how_long) {
  asio::steady_timer timer(io, how_long);
  co_await timer.async_wait(kTuple);
}

// Sends what is queued, a batch at a time; waits for a publish() or the next flush_interval
// when there is nothing to send or Redis cannot take it.
asio::awaitable<void> Changes::Core::publisher() {
  while (!stopping) {
    const bool sent = co_await send_batch();
    if (sent) continue;
    wake.expires_after(settings.flush_interval);
    co_await wake.async_wait(kTuple);
  }
}

asio::awaitable<bool> Changes::Core::send_batch() {
  std::vector<std::string> args{"EVAL", std::string(kPublishScript), "2", stream, state,
                                settings.node, std::to_string(settings.stream_length)};
  std::uint64_t last_sequence = 0;
  std::size_t count = 0;
  {
    std::lock_guard lock(mutex);
    for (const auto& q : queue) {
      if (count == settings.batch) break;
      args.push_back(q.field);
      args.push_back(q.change);
      last_sequence = q.sequence;
      ++count;
    }
  }
  if (count == 0 || !writer.connected()) co_return false;
  const auto reply = co_await writer.command(std::move(args), kCommandTimeout);
  if (!reply || reply->is_error()) {
    spdlog::warn("fleet_publish_failed changes={} error=\"{}\"", count,
                 reply ? reply->text : writer.status());
    co_return false;  // kept; a change sent twice is applied twice, harmlessly
  }
  std::lock_guard lock(mutex);
  while (!queue.empty() && queue.front().sequence <= last_sequence) {
    const auto& done = queue.front();
    if (--pending_fields[done.field] == 0) pending_fields.erase(done.field);
    queue.pop_front();
  }
  published += count;
  if (metrics) {
    metrics->published.Increment(static_cast<double>(count));
    metrics->queued.Set(static_cast<double>(queue.size()));
  }
  room.notify_all();
  co_return true;
}

void Changes::Core::apply_one(std::string_view change) {
  apply(change);
  ++applied;
  if (metrics) metrics->applied.Increment();
}

asio::awaitable<void> Changes::Core::follower_loop() {
  while (!stopping) {
    if (!follower.connected()) {
      co_await rest(kIdle);
      continue;
    }
    bool resynced = false;
    const std::string at = current_position();
    if (at.empty()) {
      resynced = co_await resync();
    } else if (gap_possible) {
      // The stream may have been trimmed past this node's place while it was away.
      // Named, not braced in the co_await (GCC 12 mislays such temporaries in the frame).
      std::vector<std::string> oldest{"XRANGE", stream, "-", "+", "COUNT", "1"};
      const auto first = co_await follower.command(std::move(oldest), kCommandTimeout);
      if (!first || !first->is_array()) continue;
      const bool gap = !first->elements.empty() && !first->elements[0].elements.empty() &&
                       entry_id(first->elements[0].elements[0].text) > entry_id(at);
      resynced = true;
      if (gap) {
        resynced = co_await resync();  // not in a ?: (GCC 12's coroutine frames)
      }
    } else {
      resynced = true;
    }
    if (!resynced) {
      co_await rest(kIdle);
      continue;
    }
    gap_possible = false;
    const bool read = co_await read_stream();
    if (!read) {
      co_await rest(kIdle);
    }
  }
}

// The state hash, then the stream from the point read before it.
asio::awaitable<bool> Changes::Core::resync() {
  std::vector<std::string> newest{"XREVRANGE", stream, "+", "-", "COUNT", "1"};
  const auto top = co_await follower.command(std::move(newest), kCommandTimeout);
  if (!top || !top->is_array()) co_return false;
  std::string from = "0-0";
  if (!top->elements.empty() && !top->elements[0].elements.empty()) {
    from = top->elements[0].elements[0].text;
  }
  std::string cursor = "0";
  std::size_t count = 0;
  do {
    std::vector<std::string> scan{"HSCAN", state, cursor, "COUNT", std::to_string(kScanCount)};
    const auto page = co_await follower.command(std::move(scan), kCommandTimeout);
    if (!page || !page->is_array() || page->elements.size() != 2) co_return false;
    cursor = page->elements[0].text;
    const auto& pairs = page->elements[1].elements;
    for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
      // A change this node made and has yet to publish is newer than the fleet's.
      if (pending(pairs[i].text)) continue;
      apply_one(pairs[i + 1].text);
      ++count;
    }
  } while (cursor != "0" && !stopping);
  {
    std::lock_guard lock(mutex);
    position = from;
  }
  if (metrics) metrics->resyncs.Increment();
  spdlog::info("fleet_resync node={} changes={} from={}", settings.node, count, from);
  co_return true;
}

// One XREAD of the three streams: the decisions after `position`, the charges and the counts
// after theirs, those of other nodes applied.
asio::awaitable<bool> Changes::Core::read_stream() {
  const std::string at = current_position();
  std::vector<std::string> read{"XREAD",      "COUNT",         "1000",
                                "BLOCK",      std::to_string(kReadBlock.count()),
                                "STREAMS",    stream,          charges_stream,
                                counts_stream, at,             charges_position,
                                counts_position};
  const auto reply = co_await follower.command(std::move(read), kReadBlock + kCommandTimeout);
  if (!reply) {
    gap_possible = true;
    co_return false;
  }
  if (reply->is_nil()) co_return true;  // nothing new within the block time
  if (!reply->is_array()) co_return false;
  std::string last = at;
  for (const auto& named : reply->elements) {
    if (named.elements.size() != 2) continue;
    const auto& name = named.elements[0].text;
    std::string& place = name == stream ? last
                         : name == charges_stream ? charges_position
                                                  : counts_position;
    for (const auto& entry : named.elements[1].elements) {
      if (entry.elements.size() != 2) continue;
      const auto& id = entry.elements[0].text;
      place = id;
      const auto& fields = entry.elements[1].elements;
      std::string_view node, payload, batch;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].text == "node") {
          node = fields[i + 1].text;
        } else if (fields[i].text == "batch") {
          batch = fields[i + 1].text;
        } else {
          payload = fields[i + 1].text;  // "change", "charges" or "counts"
        }
      }
      if (node == settings.node) continue;
      if (name == stream) {
        apply_one(payload);
        const auto published_ms = entry_id(id).first;
        const auto now = now_ms();
        lag = now > published_ms ? static_cast<double>(now - published_ms) / 1000.0 : 0.0;
        if (metrics) metrics->lag.Set(lag);
      } else if (name == charges_stream) {
        if (first_time(charges_seen, node, batch)) apply_charges(payload);
      } else if (apply_counts && first_time(counts_seen, node, batch)) {
        const auto merged = apply_counts(payload);
        if (metrics) metrics->counts.Increment(static_cast<double>(merged));
      }
    }
  }
  std::lock_guard lock(mutex);
  position = last;
  co_return true;
}

// Every flush_interval: this node's charges and counts, each as one stream entry.
asio::awaitable<void> Changes::Core::send_counts() {
  while (!stopping) {
    co_await rest(settings.flush_interval);
    co_await send_counts_once();
  }
}

// One at a time (the loop's and stop()'s), so that nothing goes out twice.
asio::awaitable<void> Changes::Core::send_counts_once() {
  if (sending_counts) co_return;
  sending_counts = true;
  co_await send_charges();
  if (take_counts && writer.connected()) {  // otherwise they keep adding up meanwhile
    if (counts_out.payload.empty()) take_batch(counts_out, take_counts());
    if (!counts_out.payload.empty()) {
      const auto now = now_ms();
      const auto oldest = now > kCountsKeepMs ? now - kCountsKeepMs : 0;
      std::vector<std::string> add{"XADD", counts_stream, "MINID", "~", std::to_string(oldest),
                                   "*"};
      co_await send_batch(counts_out, std::move(add), "counts");
    }
  }
  sending_counts = false;
}

// The events this node's limits admitted since the last batch, as one stream entry. While
// Redis cannot take them they keep adding up in `charges` (bounded there by max_queued keys).
asio::awaitable<void> Changes::Core::send_charges() {
  if (!writer.connected()) co_return;
  if (charges_out.payload.empty()) take_batch(charges_out, take_charges());
  if (charges_out.payload.empty()) co_return;
  std::vector<std::string> add{"XADD", charges_stream, "MAXLEN", "~",
                               std::to_string(kChargesLength), "*"};
  co_await send_batch(charges_out, std::move(add), "charges");
}

void Changes::Core::take_batch(Outgoing& out, std::string payload) {
  out.payload = std::move(payload);
  if (!out.payload.empty()) out.name = fmt::format("{}.{}", incarnation, ++batches);
}

asio::awaitable<void> Changes::Core::send_batch(Outgoing& out, std::vector<std::string> add,
                                                std::string_view field) {
  add.emplace_back("node");
  add.push_back(settings.node);
  add.emplace_back("batch");
  add.push_back(out.name);
  add.emplace_back(field);
  add.push_back(out.payload);  // a copy: kept until Redis has it
  const auto reply = co_await writer.command(std::move(add), kCommandTimeout);
  if (reply && !reply->is_error()) out.payload.clear();
}

// For each key, its length and the key, then the count (4 bytes each, big-endian).
std::string Changes::Core::take_charges() {
  std::string out;
  const auto put = [&out](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  };
  std::lock_guard lock(charges_mutex);
  for (const auto& [key, count] : charges) {
    put(static_cast<std::uint32_t>(key.size()));
    out += key;
    put(count);
  }
  charges.clear();
  return out;
}

bool Changes::Core::first_time(BatchesSeen& seen, std::string_view node, std::string_view batch) {
  const auto dot = batch.find('.');
  std::uint64_t incarnation = 0, n = 0;
  if (dot == std::string_view::npos ||
      std::from_chars(batch.data(), batch.data() + dot, incarnation).ec != std::errc() ||
      std::from_chars(batch.data() + dot + 1, batch.data() + batch.size(), n).ec != std::errc()) {
    return true;  // unnamed (an older node): applied as it comes
  }
  if (seen.size() >= kMaxBatchNodes && !seen.contains(std::string(node))) seen.clear();
  auto& [last_incarnation, last] = seen[std::string(node)];
  if (incarnation == last_incarnation && n <= last) return false;
  last_incarnation = incarnation;
  last = n;
  return true;
}

void Changes::Core::apply_charges(std::string_view payload) {
  if (!on_charges) return;
  const auto get = [&payload](std::uint32_t& v) {
    if (payload.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(payload[i]);
    payload.remove_prefix(4);
    return true;
  };
  std::uint32_t size = 0;
  std::uint32_t count = 0;
  while (get(size) && payload.size() >= size) {
    const auto key = payload.substr(0, size);
    payload.remove_prefix(size);
    if (!get(count)) break;
    on_charges(key, count);
    if (metrics) metrics->charges.Increment(count);
  }
}

// This node's status: the hash <prefix>:node:<name> (kept a day after its last write), its
// name in the set <prefix>:nodes; every flush_interval.
asio::awaitable<void> Changes::Core::report() {
  const std::string key = settings.prefix + ":node:" + settings.node;
  while (!stopping) {
    if (writer.connected()) {
      std::size_t queued_now = 0;
      std::string at;
      {
        std::lock_guard lock(mutex);
        queued_now = queue.size();
        at = position;
      }
      std::vector<std::string> fields{"HSET",
                                      key,
                                      "seen_ms",
                                      std::to_string(now_ms()),
                                      "position",
                                      at,
                                      "lag_seconds",
                                      fmt::format("{:.3f}", lag.load()),
                                      "queued",
                                      std::to_string(queued_now),
                                      "published",
                                      std::to_string(published.load()),
                                      "applied",
                                      std::to_string(applied.load()),
                                      "connected",
                                      connected ? "1" : "0"};
      std::vector<std::string> member{"SADD", nodes, settings.node};
      std::vector<std::string> expiry{"PEXPIRE", key, "86400000"};
      (void)co_await writer.command(std::move(member), kCommandTimeout);
      (void)co_await writer.command(std::move(fields), kCommandTimeout);
      (void)co_await writer.command(std::move(expiry), kCommandTimeout);
    }
    co_await rest(settings.flush_interval);
  }
}

}  // namespace mxgate::fleet
