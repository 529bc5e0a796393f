// AresResolver: the Resolver that asks DNS servers, with c-ares 1.18 driven by one worker's
// io_context. c-ares reports the sockets it wants watched (ARES_OPT_SOCK_STATE_CB); each is
// registered with the reactor and waited on for readable/writable, then handed to
// ares_process_fd(); one steady_timer armed from ares_timeout() runs c-ares's retransmissions
// and timeouts. c-ares sends the queries (UDP with EDNS, TCP when truncated) and matches the
// replies; the replies are parsed and interpreted by dns/message.hpp, which gives TTLs for
// every type, the CNAME chain and the SOA for negative caching.
// Servers: settings.servers ("192.0.2.53:53", "[2001:db8::53]:53") or, when empty, the
// nameservers of /etc/resolv.conf. c-ares tries the servers in turn for `tries` rounds,
// doubling the per-try timeout each round: with one server that never answers, a query ends
// with Timeout after timeout x (2^tries - 1). A SERVFAIL or REFUSED
// reply is final (ARES_FLAG_NOCHECKRESP: c-ares 1.18 would retry the other servers and then
// report both as ECONNREFUSED): list only servers that recurse for mxgate.
// Failure: a query always completes, with an Outcome; construction throws std::runtime_error
// for settings that c-ares refuses (start-up only). More than max_outstanding queries at once
// complete with Error at once (a bound on memory if a server stops answering under load).
// Threading: one AresResolver (one c-ares channel) per worker, used on that worker's thread
// only, destroyed before its io_context. Queries in progress when it is destroyed complete
// with Error.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "dns/resolver.hpp"

namespace mxgate::dns {

struct DnsMetrics;

struct AresSettings {
  std::vector<std::string> servers;         // "ip:port" or "[ipv6]:port"; empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{2000};  // first try; c-ares doubles it each round
  int tries = 2;                            // per server
  std::uint16_t edns_udp_size = 1232;       // RFC 6891 payload size advertised; 0: no EDNS
  std::size_t max_cname_chain = kDefaultMaxCnameChain;
  std::size_t max_outstanding = 4096;  // queries in flight on this channel
};

class AresResolver final : public Resolver {
 public:
  // `metrics` (optional) counts every query sent; it outlives the resolver.
  AresResolver(boost::asio::any_io_executor executor, AresSettings settings,
               DnsMetrics* metrics = nullptr);
  ~AresResolver() override;
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  boost::asio::awaitable<Response> query(std::string name, RecordType type) override;

  std::size_t outstanding() const;  // queries sent and not yet completed
  std::size_t sockets() const;      // sockets c-ares has open now (for tests)

  struct Impl;  // c-ares channel, socket watches and timer (ares_resolver.cpp)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mxgate::dns
