// populate_store: fills a reputation store (storage.path) with N IPv4 records spread over the
// public IPv4 space, plus /24 network records for some of their networks, through SST ingestion
// (SstBuilder, keys ascending, one SST per kRecordsPerFile records, ingested in one call), and
// writes a sample of client addresses for benchmarks/load/connect.py.
//
//   populate_store --dir DIR [--ips 10000000] [--seed 1] [--sample FILE] [--sample-size 20000]
//
// Layout (deterministic for a seed): every /24 of 1.0.0.0-223.255.255.0 outside the special
// ranges (0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
// 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24) is occupied with probability
// kOccupied (less for a small N); an occupied /24 holds 1 + geometric hosts (mean adapted on
// the way so that the total comes out at N over the whole space, at most 254), at random host
// numbers. For N = 10 million: about 4.3 million /24s, 2.3 records each on average. Record kinds,
// per IP: 2% a manual block, 0.5% a manual allow, 5% a bad history (high reject ratio, complaints,
// a poor score), the rest a clean history; 1 to 7 days of counters in the last 30 days. 30% of the
// occupied /24s also get a network record (1% of those blocked). So 127.0.0.1 (the benchmark's real
// peer) and every private address are absent.
//
// The sample file has one "ADDRESS hit|miss" line per address, shuffled: `sample-size` "hit"
// addresses (an IP record exists, clean history, no listing, network not blocked: the client
// gets a 220 after a lookup that finds data) and as many "miss" addresses (no IP record; half
// in occupied /24s, where a network record may exist, half in unoccupied /24s), none in a
// blocked network. Every sampled address gets the 220 banner from mxgate.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "storage/reputation_store.hpp"

namespace {

using mxgate::reputation::Counters;
using mxgate::reputation::DayCounters;
using mxgate::reputation::ListingAction;
using mxgate::reputation::Record;
using mxgate::storage::Family;
using mxgate::storage::ReputationStore;
using mxgate::storage::SstBuilder;
using address_v4 = boost::asio::ip::address_v4;

constexpr std::uint64_t kRecordsPerFile = 1'000'000;  // about the size RocksDB compacts into
constexpr double kOccupied = 0.30;                    // share of /24s with at least one record
constexpr double kNetworkRecord = 0.30;               // share of occupied /24s with a record
constexpr double kNetworkBlocked = 0.01;
constexpr double kIpBlocked = 0.02;
constexpr double kIpAllowed = 0.005;
constexpr double kIpBad = 0.05;
constexpr int kHostsPerNetwork = 254;  // .1 to .254
constexpr std::int64_t kDay = 86400;

struct Range {
  std::uint32_t first;  // first /24 number (address >> 8)
  std::uint32_t last;   // last /24 number, inclusive
};

std::uint32_t net24(const char* text) { return address_v4::from_string(text).to_uint() >> 8; }

// Special-purpose ranges, ascending: no record falls in them.
std::vector<Range> excluded() {
  auto range = [](const char* first, int prefix) {
    const std::uint32_t start = net24(first);
    const std::uint32_t count = std::uint32_t{1} << (24 - prefix);
    return Range{start, start + count - 1};
  };
  return {range("0.0.0.0", 8),     range("10.0.0.0", 8),      range("100.64.0.0", 10),
          range("127.0.0.0", 8),   range("169.254.0.0", 16),  range("172.16.0.0", 12),
          range("192.0.0.0", 24),  range("192.0.2.0", 24),    range("192.168.0.0", 16),
          range("198.18.0.0", 15), range("198.51.100.0", 24), range("203.0.113.0", 24)};
}

bool is_excluded(std::uint32_t net, const std::vector<Range>& ranges) {
  for (const auto& r : ranges) {
    if (net >= r.first && net <= r.last) return true;
  }
  return false;
}

struct Options {
  std::filesystem::path dir;
  std::uint64_t ips = 10'000'000;
  std::uint64_t seed = 1;
  std::filesystem::path sample;
  std::size_t sample_size = 20'000;
};

[[noreturn]] void usage(const char* message) {
  std::cerr << "populate_store: " << message
            << "\nusage: populate_store --dir DIR [--ips N] [--seed S] [--sample FILE]"
               " [--sample-size K]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
    const char* value = argv[++i];
    if (arg == "--dir") {
      o.dir = value;
    } else if (arg == "--ips") {
      o.ips = std::strtoull(value, nullptr, 10);
    } else if (arg == "--seed") {
      o.seed = std::strtoull(value, nullptr, 10);
    } else if (arg == "--sample") {
      o.sample = value;
    } else if (arg == "--sample-size") {
      o.sample_size = std::strtoull(value, nullptr, 10);
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  if (o.dir.empty()) usage("--dir is required");
  if (o.ips == 0) usage("--ips must be > 0");
  return o;
}

// Fixed-size uniform sample of a stream (Algorithm R).
class Reservoir {
 public:
  explicit Reservoir(std::size_t size) : size_(size) { items_.reserve(size); }
  void offer(std::uint32_t item, std::mt19937_64& random) {
    ++seen_;
    if (items_.size() < size_) {
      items_.push_back(item);
    } else if (size_ > 0) {
      const std::uint64_t j = random() % seen_;
      if (j < size_) items_[j] = item;
    }
  }
  const std::vector<std::uint32_t>& items() const { return items_; }

 private:
  std::size_t size_;
  std::uint64_t seen_ = 0;
  std::vector<std::uint32_t> items_;
};

// Writes ascending records of one family into SST files of kRecordsPerFile records each.
class Writer {
 public:
  Writer(ReputationStore& store, Family family, std::filesystem::path dir, std::string name)
      : store_(store), family_(family), dir_(std::move(dir)), name_(std::move(name)) {}

  void add(const std::string& key, const Record& record) {
    if (!builder_ || builder_->count() >= kRecordsPerFile) roll();
    if (auto ec = builder_->add(key, record)) fail("sst add", ec);
    ++count_;
  }
  std::vector<std::filesystem::path> finish() {
    if (builder_) {
      if (auto ec = builder_->finish()) fail("sst finish", ec);
      builder_.reset();
    }
    return files_;
  }
  std::uint64_t count() const { return count_; }

 private:
  [[noreturn]] static void fail(const char* what, const boost::system::error_code& ec) {
    std::cerr << "populate_store: " << what << ": " << ec.message() << "\n";
    std::exit(1);
  }
  void roll() {
    if (builder_) {
      if (auto ec = builder_->finish()) fail("sst finish", ec);
    }
    char file[64];
    std::snprintf(file, sizeof file, "%s-%04zu.sst", name_.c_str(), files_.size());
    files_.push_back(dir_ / file);
    auto made = store_.make_sst_builder(family_, files_.back());
    if (!made) fail("sst open", made.error());
    builder_ = std::move(made.value());
  }

  ReputationStore& store_;
  Family family_;
  std::filesystem::path dir_;
  std::string name_;
  std::unique_ptr<SstBuilder> builder_;
  std::vector<std::filesystem::path> files_;
  std::uint64_t count_ = 0;
};

enum class Kind { Clean, Bad, Blocked, Allowed };

Record make_record(Kind kind, std::int64_t now, std::mt19937_64& random) {
  const std::int64_t today = now / kDay;
  Record record;
  record.first_seen = now - static_cast<std::int64_t>(random() % (365 * kDay)) - kDay;
  const int days = 1 + static_cast<int>(random() % 7);
  std::vector<std::int64_t> picked;
  while (static_cast<int>(picked.size()) < days) {
    const std::int64_t day = today - static_cast<std::int64_t>(random() % 30);
    if (std::find(picked.begin(), picked.end(), day) == picked.end()) picked.push_back(day);
  }
  std::sort(picked.begin(), picked.end());
  for (std::int64_t day : picked) {
    Counters c;
    if (kind == Kind::Bad) {
      c.accepted = static_cast<std::uint32_t>(random() % 20);
      c.rejected = 20 + static_cast<std::uint32_t>(random() % 200);
      c.invalid_recipients = static_cast<std::uint32_t>(random() % 50);
      c.complaints = static_cast<std::uint32_t>(random() % 3);
    } else {
      c.accepted = 1 + static_cast<std::uint32_t>(random() % 40);
      c.rejected = static_cast<std::uint32_t>(random() % 2);
      c.deferred = static_cast<std::uint32_t>(random() % 2);
    }
    record.days.push_back(DayCounters{static_cast<std::uint32_t>(day), c});
  }
  record.last_seen = std::max(record.first_seen, picked.back() * kDay + kDay / 2);
  if (kind == Kind::Bad) {
    record.score = 5 + static_cast<double>(random() % 20);
    record.score_at = record.last_seen;
  }
  if (kind == Kind::Blocked || kind == Kind::Allowed) {
    record.listing.action = kind == Kind::Blocked ? ListingAction::Block : ListingAction::Allow;
    record.listing.reason = kind == Kind::Blocked ? "spam trap hits" : "partner relay";
    record.listing.source = "import:benchmark";
    record.listing.created = record.first_seen;
    // A third expire within the next 30 days, the rest never.
    record.listing.expires =
        random() % 3 == 0 ? now + 1 + static_cast<std::int64_t>(random() % (30 * kDay)) : 0;
  }
  return record;
}

Kind ip_kind(std::mt19937_64& random) {
  const double u = std::uniform_real_distribution<double>(0, 1)(random);
  if (u < kIpBlocked) return Kind::Blocked;
  if (u < kIpBlocked + kIpAllowed) return Kind::Allowed;
  if (u < kIpBlocked + kIpAllowed + kIpBad) return Kind::Bad;
  return Kind::Clean;
}

// The /24s that may hold records: 1.0.0.0-223.255.255.0 outside the special ranges.
struct Space {
  std::vector<Range> ranges;
  std::uint32_t first_net;
  std::uint32_t last_net;  // inclusive
  std::uint64_t eligible;  // /24s in [first_net, last_net] outside `ranges`
};

Space public_space() {
  Space space{excluded(), net24("1.0.0.0"), net24("223.255.255.0"), 0};
  for (std::uint32_t net = space.first_net; net <= space.last_net; ++net) {
    if (!is_excluded(net, space.ranges)) ++space.eligible;
  }
  return space;
}

// What the generation produces: the SST writers, the counts by kind and the sampled addresses.
struct Population {
  Population(ReputationStore& store, const std::filesystem::path& sst_dir, std::size_t sample_size)
      : ips(store, Family::Ip, sst_dir, "ip"),
        networks(store, Family::Network, sst_dir, "net"),
        hits(sample_size),
        near_misses(sample_size / 2),
        far_misses(sample_size - sample_size / 2) {}

  Writer ips;
  Writer networks;
  Reservoir hits;         // clean IP records outside blocked networks
  Reservoir near_misses;  // no IP record, in an occupied /24 that is not blocked
  Reservoir far_misses;   // in an unoccupied /24
  std::uint64_t blocked_ips = 0, allowed_ips = 0, bad_ips = 0, blocked_networks = 0;
};

// Walks the eligible /24s in ascending order and fills `out` until it holds `target` IP records
// (the layout in the comment at the top). The random calls happen in a fixed order, so a seed
// always gives the same records and the same sample.
class Generator {
 public:
  Generator(std::uint64_t target, std::int64_t now, std::mt19937_64& random, Population& out)
      : target_(target), now_(now), random_(random), out_(out) {}

  void run(const Space& space) {
    std::uint64_t remaining_nets = space.eligible;
    for (std::uint32_t net = space.first_net; net <= space.last_net && out_.ips.count() < target_;
         ++net) {
      if (is_excluded(net, space.ranges)) continue;
      fill_network(net << 8, remaining_nets);
      --remaining_nets;
    }
  }

 private:
  std::uint64_t left() const { return target_ - out_.ips.count(); }

  // One eligible /24 (`base` its first address); `remaining_nets` counts it too.
  void fill_network(std::uint32_t base, std::uint64_t remaining_nets) {
    // Expected records per remaining /24; few records (a small N) occupy fewer /24s rather
    // than filling the start of the address space.
    const double per_net = static_cast<double>(left()) / static_cast<double>(remaining_nets);
    // The last /24 takes what is left (up to 254), so the total is N exactly.
    const bool last = remaining_nets == 1;
    const double occupied = last ? 1.0 : std::min(kOccupied, per_net);
    const double mean = per_net / occupied;
    if (unit_(random_) >= occupied) {
      out_.far_misses.offer(base + 1 + static_cast<std::uint32_t>(random_() % kHostsPerNetwork),
                            random_);
      return;
    }
    const int count = host_count(last, mean);
    pick_hosts(count);
    const bool network_blocked = add_network_record(base);
    add_ip_records(base, count, network_blocked);
    if (count < kHostsPerNetwork && !network_blocked) sample_near_miss(base, count);
  }

  // 1 + geometric: mean `mean`, a long tail of busy networks; capped by the /24 and by N.
  int host_count(bool last, double mean) {
    int count = 1;
    if (last) {
      count = static_cast<int>(left());
    } else if (mean > 1) {
      count += std::geometric_distribution<int>(1.0 / mean)(random_);
    }
    return static_cast<int>(std::min<std::uint64_t>(
        {static_cast<std::uint64_t>(std::min(count, kHostsPerNetwork)), left()}));
  }

  // hosts_[0..count) become `count` distinct host numbers, ascending; the rest are the unused.
  void pick_hosts(int count) {
    for (int h = 0; h < kHostsPerNetwork; ++h) hosts_[h] = h + 1;
    for (int h = 0; h < count; ++h) {  // partial Fisher-Yates
      std::swap(hosts_[h], hosts_[h + static_cast<int>(random_() % (kHostsPerNetwork - h))]);
    }
    std::sort(hosts_.begin(), hosts_.begin() + count);
  }

  // A network record for the /24, with probability kNetworkRecord; true if it blocks the /24.
  bool add_network_record(std::uint32_t base) {
    if (unit_(random_) >= kNetworkRecord) return false;
    const bool blocked = unit_(random_) < kNetworkBlocked;
    out_.blocked_networks += blocked ? 1 : 0;
    Record record = make_record(blocked ? Kind::Blocked : Kind::Clean, now_, random_);
    out_.networks.add(mxgate::storage::network_key(address_v4(base), 24), record);
    return blocked;
  }

  void add_ip_records(std::uint32_t base, int count, bool network_blocked) {
    for (int h = 0; h < count; ++h) {
      const Kind kind = ip_kind(random_);
      out_.blocked_ips += kind == Kind::Blocked ? 1 : 0;
      out_.allowed_ips += kind == Kind::Allowed ? 1 : 0;
      out_.bad_ips += kind == Kind::Bad ? 1 : 0;
      const std::uint32_t address = base + static_cast<std::uint32_t>(hosts_[h]);
      out_.ips.add(mxgate::storage::ip_key(address_v4(address)), make_record(kind, now_, random_));
      if (kind == Kind::Clean && !network_blocked) out_.hits.offer(address, random_);
    }
  }

  // A host of this /24 without a record (hosts_[count..] are the unused ones).
  void sample_near_miss(std::uint32_t base, int count) {
    const int unused = hosts_[count + static_cast<int>(random_() % (kHostsPerNetwork - count))];
    out_.near_misses.offer(base + static_cast<std::uint32_t>(unused), random_);
  }

  std::uint64_t target_;
  std::int64_t now_;
  std::mt19937_64& random_;
  Population& out_;
  std::uniform_real_distribution<double> unit_{0, 1};
  std::array<int, kHostsPerNetwork> hosts_{};
};

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Ingests the SST files into the store; false (after saying why) if that fails.
bool ingest(ReputationStore& store, const std::vector<std::filesystem::path>& ip_files,
            const std::vector<std::filesystem::path>& net_files) {
  if (auto ec = store.ingest_sst(Family::Ip, ip_files)) {
    std::cerr << "populate_store: ingest ip: " << ec.message() << "\n";
    return false;
  }
  if (!net_files.empty()) {
    if (auto ec = store.ingest_sst(Family::Network, net_files)) {
      std::cerr << "populate_store: ingest network: " << ec.message() << "\n";
      return false;
    }
  }
  return true;
}

// Sanity: the benchmark's real peer is absent, a sampled hit is present.
bool check_store(ReputationStore& store, const Reservoir& hits) {
  const auto loopback = store.get_connect(address_v4::loopback());
  if (loopback.ip.state != mxgate::storage::Lookup::Missing) {
    std::cerr << "populate_store: 127.0.0.1 is in the store\n";
    return false;
  }
  if (!hits.items().empty() && store.get_connect(address_v4(hits.items().front())).ip.state !=
                                   mxgate::storage::Lookup::Found) {
    std::cerr << "populate_store: a sampled hit is missing from the store\n";
    return false;
  }
  return true;
}

std::uintmax_t directory_bytes(const std::filesystem::path& dir) {
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

// Writes the sampled addresses, shuffled, one "ADDRESS hit|miss" a line; false if that fails.
bool write_sample(const std::filesystem::path& file, const Population& population,
                  std::mt19937_64& random) {
  std::vector<std::pair<std::uint32_t, bool>> sample;
  for (auto a : population.hits.items()) sample.emplace_back(a, true);
  for (auto a : population.near_misses.items()) sample.emplace_back(a, false);
  for (auto a : population.far_misses.items()) sample.emplace_back(a, false);
  std::shuffle(sample.begin(), sample.end(), random);
  std::ofstream out(file);
  for (const auto& [address, hit] : sample) {
    out << address_v4(address).to_string() << (hit ? " hit\n" : " miss\n");
  }
  if (!out) {
    std::cerr << "populate_store: cannot write " << file << "\n";
    return false;
  }
  return true;
}

void print_summary(const Population& p, std::size_t ip_files, double build_s, double ingest_s,
                   std::uintmax_t bytes) {
  std::printf(
      "populate_store ips=%llu networks=%llu ip_blocked=%llu ip_allowed=%llu ip_bad=%llu "
      "network_blocked=%llu ip_files=%zu build_s=%.1f ingest_s=%.1f store_mib=%.0f "
      "sample_hits=%zu sample_misses=%zu\n",
      static_cast<unsigned long long>(p.ips.count()),
      static_cast<unsigned long long>(p.networks.count()),
      static_cast<unsigned long long>(p.blocked_ips),
      static_cast<unsigned long long>(p.allowed_ips), static_cast<unsigned long long>(p.bad_ips),
      static_cast<unsigned long long>(p.blocked_networks), ip_files, build_s, ingest_s,
      static_cast<double>(bytes) / (1 << 20), p.hits.items().size(),
      p.near_misses.items().size() + p.far_misses.items().size());
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const auto started = std::chrono::steady_clock::now();
  const std::int64_t now = unix_seconds();
  std::mt19937_64 random(options.seed);
  const Space space = public_space();

  std::filesystem::create_directories(options.dir);
  const auto sst_dir = options.dir / "populate-tmp";
  std::filesystem::create_directories(sst_dir);
  auto store = ReputationStore::open(options.dir, mxgate::storage::StoreOptions{});
  Population population(*store, sst_dir, options.sample_size);
  Generator(options.ips, now, random, population).run(space);

  const auto ip_files = population.ips.finish();
  const auto net_files = population.networks.finish();
  const auto built = std::chrono::steady_clock::now();
  if (!ingest(*store, ip_files, net_files)) return 1;
  std::filesystem::remove_all(sst_dir);
  if (!check_store(*store, population.hits)) return 1;
  store.reset();
  const auto done = std::chrono::steady_clock::now();

  const std::uintmax_t bytes = directory_bytes(options.dir);
  if (!options.sample.empty() && !write_sample(options.sample, population, random)) return 1;
  auto seconds = [](auto from, auto to) {
    return std::chrono::duration<double>(to - from).count();
  };
  print_summary(population, ip_files.size(), seconds(started, built), seconds(built, done), bytes);
  return 0;
}
