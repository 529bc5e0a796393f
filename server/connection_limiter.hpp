// Session caps shared by all workers: server.max_sessions in total and
// server.max_sessions_per_ip per client address. A Ticket holds one slot and gives it back when
// destroyed (on any worker).
// Threading: safe from any thread; the per-IP map is split into stripes, each behind its own
// mutex, so workers rarely contend.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace mxgate::server {

class ConnectionLimiter {
 public:
  enum class Refusal { None, Global, PerIp };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class ConnectionLimiter;
    Ticket(ConnectionLimiter* owner, const boost::asio::ip::address& ip) : owner_(owner), ip_(ip) {}
    ConnectionLimiter* owner_ = nullptr;
    boost::asio::ip::address ip_;
  };

  void set_limits(std::uint32_t total, std::uint32_t per_ip);

  // An empty ticket and the reason when a cap is reached.
  Ticket acquire(const boost::asio::ip::address& ip, Refusal& refusal);

  std::uint32_t active() const { return active_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kStripes = 64;
  struct Stripe {
    std::mutex mutex;  // guards counts
    std::unordered_map<boost::asio::ip::address, std::uint32_t> counts;
  };
  Stripe& stripe_for(const boost::asio::ip::address& ip);
  void release(const boost::asio::ip::address& ip);

  std::atomic<std::uint32_t> total_limit_{10000};
  std::atomic<std::uint32_t> per_ip_limit_{50};
  std::atomic<std::uint32_t> active_{0};
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace mxgate::server
