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
// max_body_bytes), a read deadline per request, and a cap on concurrent connections (a
// connection over the cap is closed at once).
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
class Registry;
}  // namespace prometheus

namespace mxgate::http {

struct Limits {
  std::size_t max_header_bytes = 8 * 1024;         // request line and headers
  std::chrono::milliseconds read_timeout{10'000};  // per request, from its first byte awaited
  std::size_t max_connections = 64;                // open HTTP connections at once
  std::size_t max_body_bytes = 64 * 1024;          // request body, for a handler
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

  void add(std::shared_ptr<Handler> handler);  // before start()
  void set_ready_detail(std::function<std::string()> detail);  // before start()
  void start();                                // starts accepting: one coroutine per connection
  void stop();                                 // closes the acceptor and every open connection
  std::uint16_t port() const;                  // the bound port

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with the running coroutines, which may outlive *this
};

}  // namespace mxgate::http
