// The HTTP listener of the control thread: Prometheus metrics and health probes over HTTP/1.1
// (RFC 9110, RFC 9112) on Boost.Beast, kept out of this header behind a pimpl.
//
//   GET /metrics  200, the text exposition format 0.0.4 of everything in the registry
//   GET /healthz  200 "ok\n" while the process runs
//   GET /readyz   200 "ready\n" while ready() is true, else 503 "draining\n"; then the lines of
//                 set_ready_detail()'s function, if any (e.g. "fleet: redis ...: connection
//                 refused\n"): a state worth knowing that does not make the node unready
//   /admin/...    the admin API (admin_api.hpp), once add() gave it; else 404
//   other paths   404; methods other than GET and HEAD get 405 with "Allow: GET, HEAD"
// Without a registry (a public listener such as the postmaster portal's), only /healthz and
// the handlers' paths are served.
//
// Limits (Limits): request header size, no request body (413) except for a handler (at most
// max_body_bytes), a deadline for each request's header (header_timeout, also the idle time
// allowed between keep-alive requests) and one for its body and response (request_timeout).
// Slots: at most max_connections connections, and max_connections_per_client of one client
// (an IP address; a /64 for IPv6). A connection over either cap takes the place of the
// connection, among those it competes with, that has waited longest for a request header (a
// slowloris, a half-sent request, an idle keep-alive); when every one of them is busy with a
// request, the new connection is closed at once. So clients that send half requests, however
// many, delay a well-behaved request by at most one round of evictions, never a deadline.
// A malformed request gets 400 (431 for an oversized header) and the connection is closed.
//
// Threading: one io_context, run by one thread (the control thread). Call start(), stop() and
// the destructor on that thread or while the io_context is not running; stop() may also be
// posted to it. ready() is called on that thread. Failure: the constructor throws
// std::system_error naming the address when it cannot bind; errors on a connection close that
// connection and are logged at debug level, never thrown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "conf/config.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace mxgate::http {

// The defaults are conf::HttpLimits'.
struct Limits {
  std::size_t max_header_bytes = 8 * 1024;            // request line and headers
  std::chrono::milliseconds header_timeout{5'000};    // the header; keep-alive idle time
  std::chrono::milliseconds request_timeout{10'000};  // the body, then writing the response
  std::size_t max_connections = 64;                   // open HTTP connections at once
  std::size_t max_connections_per_client = 8;         // 0: no cap
  std::size_t max_body_bytes = 64 * 1024;             // request body, for a handler
};

// How often the listener closed a connection to keep its slots for others (null: not
// counted): `evicted` waited longest for its header when a new one needed the slot, `refused`
// found every slot busy with a request, `header_timeout` sent no complete header in time.
struct SheddingCounters {
  prometheus::Counter* evicted = nullptr;
  prometheus::Counter* refused = nullptr;
  prometheus::Counter* header_timeout = nullptr;
};

class Handler;

class Server {
 public:
  // Binds `listen` on `io` (port 0: an ephemeral port, see port()). Throws std::system_error
  // naming the address on failure. A null `registry`: no /metrics nor /readyz.
  Server(boost::asio::io_context& io, const conf::HostPort& listen,
         std::shared_ptr<prometheus::Registry> registry, std::function<bool()> ready,
         Limits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void add(std::shared_ptr<Handler> handler);                  // before start()
  void set_ready_detail(std::function<std::string()> detail);  // before start()
  void count_shedding(SheddingCounters counters);              // before start()
  void start();                // starts accepting: one coroutine per connection
  void stop();                 // closes the acceptor and every open connection
  std::uint16_t port() const;  // the bound port

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with the running coroutines, which may outlive *this
};

}  // namespace mxgate::http
