// Session caps shared by all workers: server.max_sessions in total, server.max_sessions_per_ip
// per client address and throttle.max_sessions_per_network per /24 (IPv4) or /64 (IPv6), which
// does not apply to the exempt networks (reputation.trusted_networks). A Ticket holds one slot
// of each and gives them back when destroyed (on any worker).
// Threading: safe from any thread; the per-IP map is split into stripes, each behind its own
// mutex, so workers rarely contend.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/cidr.hpp"

namespace mxgate::server {

class ConnectionLimiter {
 public:
  enum class Refusal { None, Global, PerIp, PerNetwork };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class ConnectionLimiter;
    Ticket(ConnectionLimiter* owner, const boost::asio::ip::address& ip,
           std::optional<boost::asio::ip::address> network)
        : owner_(owner), ip_(ip), network_(network) {}
    ConnectionLimiter* owner_ = nullptr;
    boost::asio::ip::address ip_;
    std::optional<boost::asio::ip::address> network_;  // counted in the network caps
  };

  // per_network 0: no network cap.
  void set_limits(std::uint32_t total, std::uint32_t per_ip, std::uint32_t per_network = 0,
                  std::vector<common::Cidr> exempt = {});

  // An empty ticket and the reason when a cap is reached.
  Ticket acquire(const boost::asio::ip::address& ip, Refusal& refusal);

  std::uint32_t active() const { return active_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kStripes = 64;
  struct Stripe {
    std::mutex mutex;  // guards counts
    std::unordered_map<boost::asio::ip::address, std::uint32_t> counts;
  };
  Stripe& stripe_for(std::array<Stripe, kStripes>& stripes, const boost::asio::ip::address& ip);
  bool take(std::array<Stripe, kStripes>& stripes, const boost::asio::ip::address& key,
            std::uint32_t limit);
  void give_back(std::array<Stripe, kStripes>& stripes, const boost::asio::ip::address& key);
  void release(const boost::asio::ip::address& ip,
               const std::optional<boost::asio::ip::address>& network);
  std::optional<boost::asio::ip::address> network_of(const boost::asio::ip::address& ip);

  std::atomic<std::uint32_t> total_limit_{10000};
  std::atomic<std::uint32_t> per_ip_limit_{50};
  std::atomic<std::uint32_t> per_network_limit_{0};
  std::atomic<std::uint32_t> active_{0};
  std::array<Stripe, kStripes> stripes_;
  std::array<Stripe, kStripes> network_stripes_;
  std::mutex exempt_mutex_;  // guards exempt_
  std::vector<common::Cidr> exempt_;
};

}  // namespace mxgate::server
