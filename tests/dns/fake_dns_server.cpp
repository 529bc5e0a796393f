#include "tests/dns/fake_dns_server.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace mxgate::dns::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
}

// UDP first on port 0, then TCP on the same number (retrying when that TCP port is taken).
FakeDnsServer::FakeDnsServer(asio::io_context& context, Script script)
    : context_(context), script_(std::move(script)), udp_(context), tcp_(context) {
  const auto loopback = asio::ip::make_address_v4("127.0.0.1");
  for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
    udp_ = udp::socket(context, udp::endpoint(loopback, 0));
    const std::uint16_t port = udp_.local_endpoint().port();
    boost::system::error_code ec;
    tcp_ = tcp::acceptor(context);
    tcp_.open(tcp::v4(), ec);
    if (!ec) tcp_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) tcp_.bind(tcp::endpoint(loopback, port), ec);
    if (!ec) tcp_.listen(16, ec);
    if (!ec) port_ = port;
  }
  if (port_ == 0) throw std::runtime_error("no free port for the fake DNS server");
  asio::co_spawn(context_, serve_udp(), asio::detached);
  asio::co_spawn(context_, serve_tcp(), asio::detached);
}

FakeDnsServer::~FakeDnsServer() {
  boost::system::error_code ec;
  udp_.close(ec);
  tcp_.close(ec);
  for (auto& weak : connections_) {
    if (auto socket = weak.lock()) socket->close(ec);
  }
}

std::optional<Bytes> FakeDnsServer::answer(const std::uint8_t* data, std::size_t size,
                                           Transport transport) {
  const ParseResult query = parse_message(std::span<const std::uint8_t>(data, size));
  if (!query.ok() || query.message.questions.empty()) return std::nullopt;
  ++(transport == Transport::Udp ? udp_queries_ : tcp_queries_);
  return script_(query.message, transport);
}

asio::awaitable<void> FakeDnsServer::serve_udp() {
  std::array<std::uint8_t, 4096> buffer{};
  for (;;) {
    udp::endpoint peer;
    auto [ec, n] = co_await udp_.async_receive_from(asio::buffer(buffer), peer, kTuple);
    if (ec == asio::error::operation_aborted || !udp_.is_open()) co_return;
    if (ec) continue;
    std::optional<Bytes> reply = answer(buffer.data(), n, Transport::Udp);
    if (!reply) continue;
    auto [send_ec, sent] = co_await udp_.async_send_to(asio::buffer(*reply), peer, kTuple);
    (void)send_ec;
    (void)sent;
  }
}

asio::awaitable<void> FakeDnsServer::serve_tcp() {
  for (;;) {
    auto [ec, socket] = co_await tcp_.async_accept(kTuple);
    if (ec == asio::error::operation_aborted || !tcp_.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(context_, serve_connection(std::move(socket)), asio::detached);
  }
}

// RFC 1035 §4.2.2: each message is preceded by its length in two octets.
asio::awaitable<void> FakeDnsServer::serve_connection(tcp::socket socket) {
  auto shared = std::make_shared<tcp::socket>(std::move(socket));
  connections_.push_back(shared);
  for (;;) {
    std::array<std::uint8_t, 2> length{};
    auto [ec, n] = co_await asio::async_read(*shared, asio::buffer(length), kTuple);
    if (ec) co_return;
    Bytes query(static_cast<std::size_t>(length[0] << 8 | length[1]));
    auto [body_ec, body_n] = co_await asio::async_read(*shared, asio::buffer(query), kTuple);
    if (body_ec) co_return;
    std::optional<Bytes> reply = answer(query.data(), query.size(), Transport::Tcp);
    if (!reply) continue;
    const std::array<std::uint8_t, 2> prefix = {static_cast<std::uint8_t>(reply->size() >> 8),
                                                static_cast<std::uint8_t>(reply->size() & 0xFF)};
    const std::array<asio::const_buffer, 2> framed = {asio::buffer(prefix), asio::buffer(*reply)};
    auto [write_ec, written] = co_await asio::async_write(*shared, framed, kTuple);
    if (write_ec) co_return;
  }
}

}  // namespace mxgate::dns::testing
