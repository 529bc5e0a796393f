// HTTP listener: an accept coroutine spawns one coroutine per connection; a pure function maps
// each request to its response. See http_server.hpp for the contract.
#include "http/server.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "http/handler.hpp"

namespace mxgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// After an accept error such as EMFILE, wait before retrying instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// After an error reply, how long and how much of the client's unread request is drained before
// closing, so that the close does not turn into a reset that destroys the reply (RFC 9112 9.6).
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr std::size_t kLingerMaxBytes = 64 * 1024;
constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";
constexpr std::string_view kServerHeader = "mxgate";

using Request = beast::http::request<beast::http::empty_body>;
using Response = beast::http::response<beast::http::string_body>;

std::string address_text(const conf::HostPort& hp) {
  // conf::HostPort::text() lives in mxgate_conf, which this library does not link.
  if (hp.host.find(':') != std::string::npos) {
    return "[" + hp.host + "]:" + std::to_string(hp.port);
  }
  return hp.host + ":" + std::to_string(hp.port);
}

[[noreturn]] void throw_listen_error(boost::system::error_code ec, const conf::HostPort& listen) {
  throw std::system_error(ec, "http listen " + address_text(listen));
}

tcp::endpoint resolve_listen(asio::io_context& io, const conf::HostPort& listen) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen.host, ec);
  if (!ec) return {address, listen.port};
  // A host name: resolved once, at start-up, where blocking is fine.
  tcp::resolver resolver(io);
  auto results =
      resolver.resolve(listen.host, std::to_string(listen.port), tcp::resolver::passive, ec);
  if (ec) throw_listen_error(ec, listen);
  if (results.empty()) throw_listen_error(asio::error::host_not_found, listen);
  return results.begin()->endpoint();
}

Response text_response(beast::http::status status, std::string_view content_type,
                       std::string body) {
  Response res{status, 11};
  res.set(beast::http::field::server, kServerHeader);
  res.set(beast::http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

// Pure: the routes. The caller sets version and keep-alive and trims the body for HEAD.
Response route(const Request& req, const prometheus::Registry* registry,
               const std::function<bool()>& ready, const std::function<std::string()>& detail) {
  if (req.method() != beast::http::verb::get && req.method() != beast::http::verb::head) {
    auto res = text_response(beast::http::status::method_not_allowed, kTextContentType,
                             "method not allowed\n");
    res.set(beast::http::field::allow, "GET, HEAD");
    return res;
  }
  std::string_view path = req.target();
  path = path.substr(0, path.find('?'));
  if (path == "/healthz") return text_response(beast::http::status::ok, kTextContentType, "ok\n");
  if (registry == nullptr) {
    return text_response(beast::http::status::not_found, kTextContentType, "not found\n");
  }
  if (path == "/metrics") {
    return text_response(beast::http::status::ok, kMetricsContentType,
                         prometheus::TextSerializer().Serialize(registry->Collect()));
  }
  if (path == "/readyz") {
    const std::string more = detail ? detail() : std::string();
    if (ready()) return text_response(beast::http::status::ok, kTextContentType, "ready\n" + more);
    return text_response(beast::http::status::service_unavailable, kTextContentType,
                         "draining\n" + more);
  }
  return text_response(beast::http::status::not_found, kTextContentType, "not found\n");
}

Response handle_request(const Request& req, const prometheus::Registry* registry,
                        const std::function<bool()>& ready,
                        const std::function<std::string()>& detail) {
  auto res = route(req, registry, ready, detail);
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == beast::http::verb::head) {
    auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

// The reply to a request that could not be read, or none when the peer is gone or silent.
std::optional<beast::http::status> status_for_read_error(beast::error_code ec) {
  if (ec == beast::http::error::header_limit || ec == beast::http::error::buffer_overflow) {
    return beast::http::status::request_header_fields_too_large;
  }
  if (ec == beast::http::error::unexpected_body || ec == beast::http::error::body_limit) {
    return beast::http::status::payload_too_large;
  }
  if (ec.category() == beast::error_code(beast::http::error::bad_target).category()) {
    return beast::http::status::bad_request;
  }
  return std::nullopt;
}

void log_coroutine_exception(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("http_exception error={}", common::escape(e.what()));
  } catch (...) {
    spdlog::error("http_exception error=unknown");
  }
}

}  // namespace

struct Server::Impl {
  Impl(asio::io_context& io_context, std::shared_ptr<prometheus::Registry> reg,
       std::function<bool()> is_ready, Limits lim)
      : io(io_context),
        acceptor(io_context),
        registry(std::move(reg)),
        ready(std::move(is_ready)),
        limits(lim) {}

  // One accepted connection, from its accept (so that the caps hold during bursts) to the end
  // of its coroutine.
  struct Slot {
    std::string client;                   // client_key()
    beast::tcp_stream* stream = nullptr;  // once its coroutine runs
    // Waiting for a request header since `since` (a tick of waits, oldest lowest).
    bool waiting = false;
    std::uint64_t since = 0;
  };

  asio::io_context& io;
  tcp::acceptor acceptor;
  std::shared_ptr<prometheus::Registry> registry;
  std::function<bool()> ready;
  std::function<std::string()> ready_detail;  // more lines for /readyz (may be empty)
  Limits limits;
  SheddingCounters shedding;
  std::vector<std::shared_ptr<Handler>> handlers;
  std::size_t max_body_bytes = 0;  // the largest body any route takes (limits or a handler's)
  std::uint16_t port = 0;
  bool stopped = false;
  std::list<Slot> slots;                                    // live connections, in accept order
  std::unordered_map<std::string, std::size_t> per_client;  // slots of each client
  std::uint64_t waits = 0;
};

namespace {

using Slot = std::list<Server::Impl::Slot>::iterator;

void count(prometheus::Counter* counter) {
  if (counter != nullptr) counter->Increment();
}

// The client a connection counts against: its IPv4 address (also when IPv4-mapped), or the
// /64 of its IPv6 address (what one host typically holds).
std::string client_key(const tcp::socket& socket) {
  beast::error_code ec;
  const auto address = socket.remote_endpoint(ec).address();
  if (ec) return {};
  if (!address.is_v6()) return address.to_string();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + bytes.size() / 2, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

// Closes the connection that has waited longest for a request header among those of `client`
// (all connections when empty). false: none is waiting, all are busy with a request.
bool evict_longest_waiting(Server::Impl& impl, const std::string& client) {
  Server::Impl::Slot* oldest = nullptr;
  for (auto& slot : impl.slots) {
    if (!slot.waiting || slot.stream == nullptr) continue;
    if (!client.empty() && slot.client != client) continue;
    if (oldest == nullptr || slot.since < oldest->since) oldest = &slot;
  }
  if (oldest == nullptr) return false;
  count(impl.shedding.evicted);
  oldest->waiting = false;  // never chosen twice; its coroutine ends and frees the slot
  oldest->stream->close();
  return true;
}

// Whether a new connection of `client` may have a slot, making room when a cap is reached.
bool admit(Server::Impl& impl, const std::string& client) {
  const auto& limits = impl.limits;
  if (limits.max_connections_per_client != 0) {
    const auto found = impl.per_client.find(client);
    if (found != impl.per_client.end() && found->second >= limits.max_connections_per_client &&
        !evict_longest_waiting(impl, client)) {
      return false;
    }
  }
  return impl.slots.size() < limits.max_connections || evict_longest_waiting(impl, {});
}

// Frees the connection's slot when its coroutine ends.
class ConnectionGuard {
 public:
  ConnectionGuard(Server::Impl& impl, Slot slot, beast::tcp_stream& stream)
      : impl_(impl), slot_(slot) {
    slot_->stream = &stream;
  }
  ~ConnectionGuard() {
    const auto found = impl_.per_client.find(slot_->client);
    if (found != impl_.per_client.end() && --found->second == 0) impl_.per_client.erase(found);
    impl_.slots.erase(slot_);
  }
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // Waiting for a request header (evictable), or busy with a request.
  void waiting(bool yes) {
    slot_->waiting = yes;
    slot_->since = ++impl_.waits;
  }

 private:
  Server::Impl& impl_;
  Slot slot_;
};

// Sends `status` with "Connection: close", then closes gracefully: half-close, then discard
// what the client still sends, under a deadline and a byte bound.
asio::awaitable<void> reply_and_close(beast::tcp_stream& stream, beast::http::status status,
                                      std::chrono::milliseconds timeout, std::size_t linger_bytes) {
  auto res = text_response(status, kTextContentType,
                           std::string(beast::http::obsolete_reason(status)) + "\n");
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(timeout);
  auto [ec, n] = co_await beast::http::async_write(stream, res, kUseTuple);
  if (ec) co_return;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::min(timeout, kLingerTimeout));
  std::array<char, 1024> scratch;
  for (std::size_t drained = 0; !ec && drained < linger_bytes; drained += n) {
    std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(scratch), kUseTuple);
  }
}

// What a refused request may still send after our reply: a body up to twice the largest we
// take is drained (bounded by kLingerTimeout too), so that a client that was still sending
// reads the reply instead of a reset (RFC 9112 §9.6).
std::size_t linger_bytes(const Server::Impl& impl) {
  return std::max(kLingerMaxBytes, 2 * std::max(impl.limits.max_body_bytes, impl.max_body_bytes));
}

// A request for `handler` whose header has been read: reads its body (bounded), hands it over.
// co_returns whether the connection may carry another request.
asio::awaitable<bool> serve_handler(Server::Impl& impl, Handler& handler, beast::tcp_stream& stream,
                                    beast::flat_buffer& buffer,
                                    beast::http::request_parser<beast::http::empty_body>& header) {
  beast::http::request_parser<beast::http::string_body> parser(std::move(header));
  parser.body_limit(handler.body_limit() != 0 ? handler.body_limit() : impl.limits.max_body_bytes);
  auto [ec, n] = co_await beast::http::async_read(stream, buffer, parser, kUseTuple);
  if (ec) {
    if (auto status = status_for_read_error(ec)) {
      co_await reply_and_close(stream, *status, impl.limits.request_timeout, linger_bytes(impl));
    }
    co_return false;
  }
  beast::error_code peer_ec;
  const auto peer = stream.socket().remote_endpoint(peer_ec).address();
  if (peer_ec) co_return false;
  const bool keep =
      co_await handler.serve(stream, parser.release(), peer, impl.limits.request_timeout);
  co_return keep;
}

asio::awaitable<void> serve_connection(std::shared_ptr<Server::Impl> impl, tcp::socket socket,
                                       Slot slot) {
  beast::tcp_stream stream(std::move(socket));
  ConnectionGuard guard(*impl, slot, stream);
  if (impl->stopped) co_return;  // stop() ran between accept and this coroutine's start
  const auto& limits = impl->limits;
  beast::flat_buffer buffer(limits.max_header_bytes);
  for (;;) {
    beast::http::request_parser<beast::http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    // Checked against Content-Length with the header; only a handler takes a body at all.
    parser.body_limit(std::max(limits.max_body_bytes, impl->max_body_bytes));
    guard.waiting(true);
    stream.expires_after(limits.header_timeout);
    auto [ec, n] = co_await beast::http::async_read_header(stream, buffer, parser, kUseTuple);
    guard.waiting(false);
    if (ec == beast::error::timeout) count(impl->shedding.header_timeout);
    stream.expires_after(limits.request_timeout);
    Handler* handler = nullptr;
    for (const auto& h : impl->handlers) {
      if (!ec && h->takes(parser.get().target())) handler = h.get();
    }
    if (handler != nullptr) {
      const bool keep = co_await serve_handler(*impl, *handler, stream, buffer, parser);
      if (!keep) break;
      continue;
    }
    if (!ec) {
      std::tie(ec, n) = co_await beast::http::async_read(stream, buffer, parser, kUseTuple);
    }
    if (ec == beast::http::error::end_of_stream) break;
    if (ec) {
      if (auto status = status_for_read_error(ec)) {
        co_await reply_and_close(stream, *status, limits.request_timeout, linger_bytes(*impl));
      } else {
        spdlog::debug("http_read_failed error={}", common::escape(ec.message()));
      }
      co_return;  // the stream's destructor closes the socket
    }
    auto res = handle_request(parser.get(), impl->registry.get(), impl->ready, impl->ready_detail);
    stream.expires_after(limits.request_timeout);
    auto [write_ec, written] = co_await beast::http::async_write(stream, res, kUseTuple);
    if (write_ec) {
      spdlog::debug("http_write_failed error={}", common::escape(write_ec.message()));
      co_return;
    }
    if (!res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Server::Impl> impl) {
  while (!impl->stopped) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(kUseTuple);
    if (impl->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("http_accept_failed error={}", common::escape(ec.message()));
      asio::steady_timer timer(impl->io, kAcceptRetryDelay);
      co_await timer.async_wait(kUseTuple);
      continue;
    }
    std::string client = client_key(socket);
    if (!admit(*impl, client)) {
      count(impl->shedding.refused);
      spdlog::debug("http_connection_refused reason=max_connections");
      continue;  // `socket` closes as it goes out of scope
    }
    ++impl->per_client[client];
    const Slot slot = impl->slots.insert(impl->slots.end(), Server::Impl::Slot{std::move(client)});
    asio::co_spawn(impl->io, serve_connection(impl, std::move(socket), slot),
                   log_coroutine_exception);
  }
}

}  // namespace

Server::Server(asio::io_context& io, const conf::HostPort& listen,
               std::shared_ptr<prometheus::Registry> registry, std::function<bool()> ready,
               Limits limits) {
  if (!ready) throw std::invalid_argument("Server: ready is empty");
  impl_ = std::make_shared<Impl>(io, std::move(registry), std::move(ready), limits);
  auto endpoint = resolve_listen(io, listen);
  auto& acceptor = impl_->acceptor;
  boost::system::error_code ec;
  // Each step reports through `ec`; checking after every one names the address that failed.
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw_listen_error(ec, listen);
  impl_->port = acceptor.local_endpoint(ec).port();
  if (ec) throw_listen_error(ec, listen);
}

Server::~Server() { stop(); }

void Server::add(std::shared_ptr<Handler> handler) {
  impl_->max_body_bytes = std::max(impl_->max_body_bytes, handler->body_limit());
  impl_->handlers.push_back(std::move(handler));
}

void Server::set_ready_detail(std::function<std::string()> detail) {
  impl_->ready_detail = std::move(detail);
}

void Server::count_shedding(SheddingCounters counters) { impl_->shedding = counters; }

void Server::start() { asio::co_spawn(impl_->io, accept_loop(impl_), log_coroutine_exception); }

void Server::stop() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  // Closing cancels the coroutines' pending operations; they free their slots later.
  for (auto& slot : impl_->slots) {
    if (slot.stream != nullptr) slot.stream->close();
  }
}

std::uint16_t Server::port() const { return impl_->port; }

}  // namespace mxgate::http
