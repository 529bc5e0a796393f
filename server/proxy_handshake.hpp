// The start of a connection on a proxy_listen address: the peer must be a trusted load
// balancer (server.proxy_trusted) and must send a HAProxy PROXY v1 or v2 header within
// server.proxy_timeout. The header's source address is then the client IP for everything.
// Bytes pipelined behind the header stay buffered for the SMTP session.
// Threading: the session's worker. Failure: an outcome other than Ok; the caller closes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "server/session_io.hpp"

namespace mxgate::server {

struct ProxyOutcome {
  enum class Status { Ok, Untrusted, Invalid, Timeout, Closed };
  Status status = Status::Closed;
  std::string client_ip;  // Ok: the address the header carries; empty for LOCAL (use the peer's)
  std::string error;      // why the header was refused, for the log
};

boost::asio::awaitable<ProxyOutcome> read_proxy_header(SessionIo& io,
                                                       const std::vector<common::Cidr>& trusted,
                                                       SessionIo::Duration timeout);

}  // namespace mxgate::server
