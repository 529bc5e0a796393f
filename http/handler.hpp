// Handler: a site served by Server under a path prefix (the admin API under /admin/,
// the postmaster portal under /postmaster/). The server reads the request header, asks each
// handler whether it takes the target, reads the body (bounded by Limits::max_body_bytes)
// and hands the request over; the handler writes its response on the stream.
// Threading: called on the Server's thread. Failure: a handler answers errors as HTTP
// responses and never throws.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <string_view>

namespace mxgate::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual bool takes(std::string_view target) const = 0;
  // The largest request body it reads; 0: the server's Limits::max_body_bytes.
  virtual std::size_t body_limit() const { return 0; }
  // Answers `request` on `stream`, each write bounded by `timeout`; co_returns whether the
  // connection may carry another request.
  virtual boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, Request request,
                                             boost::asio::ip::address peer,
                                             std::chrono::milliseconds timeout) = 0;
};

}  // namespace mxgate::http
