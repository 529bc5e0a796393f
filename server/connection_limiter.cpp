#include "server/connection_limiter.hpp"

#include <functional>
#include <utility>

namespace mxgate::server {

ConnectionLimiter::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), ip_(other.ip_) {}

ConnectionLimiter::Ticket& ConnectionLimiter::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release(ip_);
    owner_ = std::exchange(other.owner_, nullptr);
    ip_ = other.ip_;
  }
  return *this;
}

ConnectionLimiter::Ticket::~Ticket() {
  if (owner_) owner_->release(ip_);
}

void ConnectionLimiter::set_limits(std::uint32_t total, std::uint32_t per_ip) {
  total_limit_.store(total, std::memory_order_relaxed);
  per_ip_limit_.store(per_ip, std::memory_order_relaxed);
}

ConnectionLimiter::Stripe& ConnectionLimiter::stripe_for(const boost::asio::ip::address& ip) {
  return stripes_[std::hash<boost::asio::ip::address>{}(ip) % kStripes];
}

ConnectionLimiter::Ticket ConnectionLimiter::acquire(const boost::asio::ip::address& ip,
                                                     Refusal& refusal) {
  if (active_.fetch_add(1, std::memory_order_relaxed) >=
      total_limit_.load(std::memory_order_relaxed)) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    refusal = Refusal::Global;
    return {};
  }
  Stripe& stripe = stripe_for(ip);
  {
    std::lock_guard lock(stripe.mutex);
    auto& count = stripe.counts[ip];
    if (count >= per_ip_limit_.load(std::memory_order_relaxed)) {
      if (count == 0) stripe.counts.erase(ip);
      active_.fetch_sub(1, std::memory_order_relaxed);
      refusal = Refusal::PerIp;
      return {};
    }
    ++count;
  }
  refusal = Refusal::None;
  return Ticket(this, ip);
}

void ConnectionLimiter::release(const boost::asio::ip::address& ip) {
  Stripe& stripe = stripe_for(ip);
  {
    std::lock_guard lock(stripe.mutex);
    auto it = stripe.counts.find(ip);
    if (it != stripe.counts.end() && --it->second == 0) stripe.counts.erase(it);
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace mxgate::server
