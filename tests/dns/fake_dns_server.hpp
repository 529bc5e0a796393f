// Test helper: a tiny DNS server on 127.0.0.1 (UDP and TCP on one free port) that runs on the
// test's io_context. A script turns each query into reply octets, or into silence (nullopt).
// It is only as correct as the tests need: one query per datagram, one per TCP read.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "tests/dns/wire.hpp"

namespace mxgate::dns::testing {

enum class Transport { Udp, Tcp };

using Script = std::function<std::optional<Bytes>(const Message& query, Transport transport)>;

class FakeDnsServer {
 public:
  FakeDnsServer(boost::asio::io_context& context, Script script);
  ~FakeDnsServer();

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int udp_queries() const { return udp_queries_; }
  int tcp_queries() const { return tcp_queries_; }

 private:
  boost::asio::awaitable<void> serve_udp();
  boost::asio::awaitable<void> serve_tcp();
  boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket);
  std::optional<Bytes> answer(const std::uint8_t* data, std::size_t size, Transport transport);

  boost::asio::io_context& context_;
  Script script_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor tcp_;
  std::vector<std::weak_ptr<boost::asio::ip::tcp::socket>> connections_;
  std::uint16_t port_ = 0;
  int udp_queries_ = 0, tcp_queries_ = 0;
};

}  // namespace mxgate::dns::testing
