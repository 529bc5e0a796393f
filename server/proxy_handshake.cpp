#include "server/proxy_handshake.hpp"

#include <algorithm>

#include "smtp/proxy_protocol.hpp"

namespace mxgate::server {

namespace asio = boost::asio;

namespace {

bool trusted_peer(SessionIo& io, const std::vector<common::Cidr>& trusted) {
  const auto ip = common::parse_ip(io.peer_address());
  return ip && std::any_of(trusted.begin(), trusted.end(),
                           [&](const common::Cidr& network) { return network.contains(*ip); });
}

}  // namespace

asio::awaitable<ProxyOutcome> read_proxy_header(SessionIo& io,
                                                const std::vector<common::Cidr>& trusted,
                                                SessionIo::Duration timeout) {
  using Status = ProxyOutcome::Status;
  if (!trusted_peer(io, trusted)) co_return ProxyOutcome{Status::Untrusted, {}, "untrusted peer"};
  const auto deadline = io::Clock::now() + timeout;
  for (;;) {
    const auto result = smtp::parse_proxy_header(io.buffered());
    if (result.status == smtp::ProxyStatus::Complete) {
      io.consume(result.consumed);
      std::string client = result.header.local ? std::string() : result.header.source_text();
      co_return ProxyOutcome{Status::Ok, std::move(client), {}};
    }
    if (result.status == smtp::ProxyStatus::Invalid) {
      co_return ProxyOutcome{Status::Invalid, {}, result.error};
    }
    const auto left = deadline - io::Clock::now();
    if (left <= SessionIo::Duration::zero()) co_return ProxyOutcome{Status::Timeout, {}, "timeout"};
    const auto status = co_await io.read_more(left);
    if (status == IoStatus::Timeout) co_return ProxyOutcome{Status::Timeout, {}, "timeout"};
    if (status != IoStatus::Ok) co_return ProxyOutcome{Status::Closed, {}, "closed"};
  }
}

}  // namespace mxgate::server
