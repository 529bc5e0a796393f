#include "server/connection_limiter.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace mxgate::server {

ConnectionLimiter::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), ip_(other.ip_), network_(other.network_) {}

ConnectionLimiter::Ticket& ConnectionLimiter::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release(ip_, network_);
    owner_ = std::exchange(other.owner_, nullptr);
    ip_ = other.ip_;
    network_ = other.network_;
  }
  return *this;
}

ConnectionLimiter::Ticket::~Ticket() {
  if (owner_) owner_->release(ip_, network_);
}

void ConnectionLimiter::set_limits(std::uint32_t total, std::uint32_t per_ip,
                                   std::uint32_t per_network, std::vector<common::Cidr> exempt) {
  total_limit_.store(total, std::memory_order_relaxed);
  per_ip_limit_.store(per_ip, std::memory_order_relaxed);
  per_network_limit_.store(per_network, std::memory_order_relaxed);
  std::lock_guard lock(exempt_mutex_);
  exempt_ = std::move(exempt);
}

ConnectionLimiter::Stripe& ConnectionLimiter::stripe_for(std::array<Stripe, kStripes>& stripes,
                                                         const boost::asio::ip::address& ip) {
  return stripes[std::hash<boost::asio::ip::address>{}(ip) % kStripes];
}

// The /24 or /64 around `ip`, or nullopt when the network cap does not apply to it.
std::optional<boost::asio::ip::address> ConnectionLimiter::network_of(
    const boost::asio::ip::address& ip) {
  if (per_network_limit_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  // The address as IpBytes, without a round trip through text (this runs per connection).
  common::IpBytes key;
  if (ip.is_v4()) {
    key.family = 4;
    const auto v4 = ip.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), key.bytes.begin());
  } else {
    key.family = 6;
    const auto v6 = ip.to_v6().to_bytes();
    std::copy(v6.begin(), v6.end(), key.bytes.begin());
  }
  {
    std::lock_guard lock(exempt_mutex_);
    for (const auto& network : exempt_) {
      if (network.contains(key)) return std::nullopt;
    }
  }
  if (ip.is_v4()) {
    return boost::asio::ip::address_v4(ip.to_v4().to_uint() & 0xffffff00u);
  }
  auto bytes = ip.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes);
}

bool ConnectionLimiter::take(std::array<Stripe, kStripes>& stripes,
                             const boost::asio::ip::address& key, std::uint32_t limit) {
  Stripe& stripe = stripe_for(stripes, key);
  std::lock_guard lock(stripe.mutex);
  auto& count = stripe.counts[key];
  if (count >= limit) {
    if (count == 0) stripe.counts.erase(key);
    return false;
  }
  ++count;
  return true;
}

void ConnectionLimiter::give_back(std::array<Stripe, kStripes>& stripes,
                                  const boost::asio::ip::address& key) {
  Stripe& stripe = stripe_for(stripes, key);
  std::lock_guard lock(stripe.mutex);
  auto it = stripe.counts.find(key);
  if (it != stripe.counts.end() && --it->second == 0) stripe.counts.erase(it);
}

ConnectionLimiter::Ticket ConnectionLimiter::acquire(const boost::asio::ip::address& ip,
                                                     Refusal& refusal) {
  if (active_.fetch_add(1, std::memory_order_relaxed) >=
      total_limit_.load(std::memory_order_relaxed)) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    refusal = Refusal::Global;
    return {};
  }
  if (!take(stripes_, ip, per_ip_limit_.load(std::memory_order_relaxed))) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    refusal = Refusal::PerIp;
    return {};
  }
  const auto network = network_of(ip);
  if (network &&
      !take(network_stripes_, *network, per_network_limit_.load(std::memory_order_relaxed))) {
    give_back(stripes_, ip);
    active_.fetch_sub(1, std::memory_order_relaxed);
    refusal = Refusal::PerNetwork;
    return {};
  }
  refusal = Refusal::None;
  return Ticket(this, ip, network);
}

void ConnectionLimiter::release(const boost::asio::ip::address& ip,
                                const std::optional<boost::asio::ip::address>& network) {
  give_back(stripes_, ip);
  if (network) give_back(network_stripes_, *network);
  active_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace mxgate::server
