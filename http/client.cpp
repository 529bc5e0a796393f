#include "http/client.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <vector>

namespace mxgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadPieceBytes = 64 * 1024;
constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;  // a reply held in memory

struct Exchange {
  std::string host;
  std::uint16_t port = 0;
  beast::http::request<beast::http::string_body> request;
  std::FILE* out = nullptr;  // where a 200 body goes; null: into the reply
  std::chrono::milliseconds timeout{};
};

std::string failure(std::string_view step, const beast::error_code& ec) {
  return fmt::format("{}: {}", step, ec.message());
}

// Reads the body piece by piece into `out` or the reply, so an export of any size streams.
asio::awaitable<void> read_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                beast::http::response_parser<beast::http::buffer_body>& parser,
                                const Exchange& exchange, ClientReply& reply) {
  const bool to_file = exchange.out != nullptr && reply.status == 200;
  std::vector<char> piece(kReadPieceBytes);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    stream.expires_after(exchange.timeout);
    auto [ec, n] = co_await beast::http::async_read(stream, buffer, parser, kUseTuple);
    if (ec == beast::http::error::need_buffer) ec = {};
    if (ec) {
      reply.error = failure("reading the reply", ec);
      co_return;
    }
    const std::size_t got = piece.size() - parser.get().body().size;
    if (to_file) {
      if (std::fwrite(piece.data(), 1, got, exchange.out) != got) {
        reply.error = "writing the output failed";
        co_return;
      }
    } else if (reply.body.size() + got > kMaxReplyBytes) {
      reply.error = "reply too large";
      co_return;
    } else {
      reply.body.append(piece.data(), got);
    }
  }
}

asio::awaitable<ClientReply> exchange_once(Exchange exchange) {
  ClientReply reply;
  const auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(exchange.host, std::to_string(exchange.port), kUseTuple);
  if (resolve_ec) {
    reply.error = failure("resolving " + exchange.host, resolve_ec);
    co_return reply;
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(exchange.timeout);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kUseTuple);
  if (connect_ec) {
    reply.error = failure("connecting", connect_ec);
    co_return reply;
  }
  stream.expires_after(exchange.timeout);
  auto [write_ec, written] = co_await beast::http::async_write(stream, exchange.request, kUseTuple);
  if (write_ec) {
    reply.error = failure("sending the request", write_ec);
    co_return reply;
  }
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::buffer_body> parser;
  parser.body_limit(boost::none);  // read_body bounds what it keeps in memory
  stream.expires_after(exchange.timeout);
  auto [read_ec, read] = co_await beast::http::async_read_header(stream, buffer, parser, kUseTuple);
  if (read_ec) {
    reply.error = failure("reading the reply", read_ec);
    co_return reply;
  }
  reply.status = parser.get().result_int();
  co_await read_body(stream, buffer, parser, exchange, reply);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return reply;
}

ClientReply run(Exchange exchange) {
  asio::io_context io;
  ClientReply result;
  asio::co_spawn(io, exchange_once(std::move(exchange)),
                 [&result](std::exception_ptr error, ClientReply reply) {
                   if (!error) {
                     result = std::move(reply);
                     return;
                   }
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     result.error = e.what();
                   }
                 });
  io.run();
  return result;
}

}  // namespace

Client::Client(const conf::HostPort& listen, std::string token)
    : host_(listen.host), token_(std::move(token)), port_(listen.port) {
  if (host_.empty() || host_ == "0.0.0.0") host_ = "127.0.0.1";
  if (host_ == "::") host_ = "::1";
}

std::string Client::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", host_, v6 ? "]" : "", port_);
}

ClientReply Client::request(beast::http::verb method, const std::string& target,
                            const std::string& body, const std::string& content_type,
                            std::chrono::milliseconds timeout) const {
  Exchange exchange{host_, port_, {method, target, 11}, nullptr, timeout};
  exchange.request.set(beast::http::field::host, host_);
  exchange.request.set(beast::http::field::user_agent, "mxgate-rep");
  exchange.request.set(beast::http::field::authorization, "Bearer " + token_);
  exchange.request.keep_alive(false);
  if (!body.empty()) {
    exchange.request.set(beast::http::field::content_type, content_type);
    exchange.request.body() = body;
  }
  exchange.request.prepare_payload();
  return run(std::move(exchange));
}

ClientReply Client::fetch_to(const std::string& target, std::FILE* out,
                             std::chrono::milliseconds timeout) const {
  Exchange exchange{host_, port_, {beast::http::verb::get, target, 11}, out, timeout};
  exchange.request.set(beast::http::field::host, host_);
  exchange.request.set(beast::http::field::user_agent, "mxgate-rep");
  exchange.request.set(beast::http::field::authorization, "Bearer " + token_);
  exchange.request.keep_alive(false);
  exchange.request.prepare_payload();
  return run(std::move(exchange));
}

}  // namespace mxgate::http
