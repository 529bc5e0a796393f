// One SMTP session: the coroutine that moves bytes between the client socket and the pure
// protocol (smtp::LineFramer, smtp::ServerProtocol, smtp::DataDecoder) and carries out the
// Steps that need I/O: relaying (relay::InlineRelay), STARTTLS (RFC 3207), DATA and BDAT.
// - Replies are queued and written when no complete command is left in the input, so pipelined
//   commands get their replies in one write (RFC 2920).
// - Every read and write has a deadline (server.command_timeout, server.data_timeout,
//   tls.handshake_timeout); on expiry the client gets 421 4.4.2 and the session ends.
// - Plaintext pipelined behind STARTTLS is refused and the connection closed (CVE-2011-0411).
// - A client is never told 250 for a message before the downstream said 250 for it.
// Threading: lives and dies on its worker's thread. Failure: an exception escaping the session
// is a bug; it is logged once and counted (mxgate_session_exceptions_total).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

#include "server/connection_limiter.hpp"

namespace mxgate::server {

class Worker;
class Session;  // defined in session.cpp; the worker only holds pointers to it

// Runs one session to its end; the worker tracks it (Worker::add/remove) until then.
// `proxied`: the connection came to a proxy_listen address and starts with a PROXY header;
// the session then takes its ticket itself, for the client address the header names.
boost::asio::awaitable<void> run_session(Worker& worker, boost::asio::ip::tcp::socket socket,
                                         ConnectionLimiter::Ticket ticket, bool proxied);

void drain(Session& session);        // after the current transaction: 421 4.3.2 and close
void force_close(Session& session);  // now: 421 4.3.2 and close

}  // namespace mxgate::server
