#include "throttle/greylist.hpp"

#include <fmt/format.h>

#include <array>

#include "common/cidr.hpp"

namespace mxgate::throttle {
namespace {

constexpr int kV4Prefix = 24;
constexpr int kV6Prefix = 64;
constexpr char kSavedKind = 'G';
constexpr std::int64_t kWaiting = 0;
constexpr std::int64_t kPassed = 1;
constexpr std::int64_t kSweepIntervalUs = 1'000'000;

constexpr std::array<std::string_view, kGreylistResults> kResultNames{
    "greylisted", "retried_early", "passed", "known", "auto_allowed", "full"};

// FNV-1a, 64 bits: stable across builds and versions, so saved keys stay valid.
void fnv1a_lower(std::uint64_t& h, std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    h ^= c;
    h *= 0x100000001b3ull;
  }
}

std::string triplet_key(const Triplet& t) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  fnv1a_lower(h, t.sender);
  fnv1a_lower(h, std::string_view("\0", 1));  // "ab"+"c" and "a"+"bc" differ
  fnv1a_lower(h, t.recipient);
  return fmt::format("G|t|{}|{:016x}", t.network, h);
}

std::string ip_key(const Triplet& t) { return "G|i|" + t.ip; }

void put64(std::string& out, std::int64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

bool get64(std::string_view& in, std::int64_t& v) {
  if (in.size() < 8) return false;
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(8);
  v = static_cast<std::int64_t>(u);
  return true;
}

}  // namespace

std::string_view greylist_result_name(GreylistResult result) {
  return kResultNames[static_cast<std::size_t>(result)];
}

bool lets_through(GreylistResult result) {
  return result == GreylistResult::Passed || result == GreylistResult::Known ||
         result == GreylistResult::AutoAllowed;
}

std::optional<Triplet> make_triplet(std::string_view ip_text, std::string_view sender,
                                    std::string_view recipient) {
  const auto ip = common::parse_ip(ip_text);
  if (!ip) return std::nullopt;
  const int prefix = ip->family == 4 ? kV4Prefix : kV6Prefix;
  return Triplet{common::ip_text(*ip), common::network_of(*ip, prefix).text(), std::string(sender),
                 std::string(recipient)};
}

// The table's own bound is twice max_entries (and a little per stripe), so that it never
// evicts before full() says so; full() is the bound that holds.
Greylist::Greylist(const GreylistSettings& settings)
    : max_entries_(settings.max_entries),
      settings_(settings),
      table_(settings.max_entries * 2 + 256) {}

void Greylist::configure(const GreylistSettings& settings) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
}

GreylistSettings Greylist::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

// Expired entries still count in the table's size until swept: a full table sweeps them, at
// most once a kSweepInterval (a sweep visits every entry; a flood of new triplets at a truly
// full table must not make each one pay for it).
bool Greylist::full(std::int64_t now_us) {
  if (table_.size() < max_entries_) return false;
  std::int64_t last = last_sweep_us_.load();
  if (now_us - last < kSweepIntervalUs || !last_sweep_us_.compare_exchange_strong(last, now_us)) {
    return true;
  }
  table_.sweep(now_us);
  return table_.size() >= max_entries_;
}

bool Greylist::auto_allowed(const std::string& key, const GreylistSettings& s,
                            std::int64_t now_us) {
  if (s.auto_allow == 0) return false;
  const auto value = table_.get(key, now_us);
  if (!value || value->a < static_cast<std::int64_t>(s.auto_allow)) return false;
  // Remembered for pass_ttl after the last message, like a passed triplet.
  table_.update(key, now_us, [&](Value&, bool fresh) {
    return std::pair{fresh ? now_us : now_us + s.pass_ttl_us, 0};
  });
  return true;
}

void Greylist::count_pass(const std::string& key, const GreylistSettings& s, std::int64_t now_us) {
  if (s.auto_allow == 0) return;
  if (!table_.get(key, now_us) && full(now_us)) return;  // the IP's count waits for room
  table_.update(key, now_us, [&](Value& value, bool) {
    ++value.a;
    return std::pair{now_us + s.pass_ttl_us, 0};
  });
}

GreylistResult Greylist::check(const Triplet& triplet, std::int64_t now_us) {
  const auto s = settings();
  const std::string ip = ip_key(triplet);
  if (auto_allowed(ip, s, now_us)) return GreylistResult::AutoAllowed;
  const std::string key = triplet_key(triplet);
  // Only a triplet not kept yet needs room: the size is counted for those alone.
  const bool no_room = !table_.get(key, now_us) && full(now_us);
  const auto result = table_.update(key, now_us, [&](Value& value, bool fresh) {
    if (fresh && no_room) return std::pair{now_us, GreylistResult::Full};
    if (fresh) {
      value = Value{now_us, kWaiting, 0};
      return std::pair{now_us + s.max_delay_us, GreylistResult::Greylisted};
    }
    if (value.b == kPassed) return std::pair{now_us + s.pass_ttl_us, GreylistResult::Known};
    // Waiting: an entry past max_delay came back fresh above, so this retry is in time.
    const std::int64_t expires = value.a + s.max_delay_us;
    if (now_us - value.a < s.min_delay_us) return std::pair{expires, GreylistResult::RetriedEarly};
    value.b = kPassed;
    return std::pair{now_us + s.pass_ttl_us, GreylistResult::Passed};
  });
  if (result == GreylistResult::Passed) count_pass(ip, s, now_us);
  return result;
}

std::vector<std::pair<std::string, std::string>> Greylist::save(std::int64_t now_us) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& entry : table_.snapshot(now_us)) {
    std::string value(1, kSavedKind);
    put64(value, entry.value.a);
    put64(value, entry.value.b);
    put64(value, entry.expires_us);
    out.emplace_back(std::move(entry.key), std::move(value));
  }
  return out;
}

bool Greylist::load(std::string_view key, std::string_view value, std::int64_t now_us) {
  if (!key.starts_with(kKeyPrefix) || value.empty() || value.front() != kSavedKind) return false;
  value.remove_prefix(1);
  Entry entry{std::string(key), {}, 0, now_us};
  if (!get64(value, entry.value.a) || !get64(value, entry.value.b) ||
      !get64(value, entry.expires_us) || !value.empty() || entry.expires_us <= now_us) {
    return false;
  }
  table_.restore({entry}, now_us);
  return true;
}

}  // namespace mxgate::throttle
