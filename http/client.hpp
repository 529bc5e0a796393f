// A small HTTP/1.1 client for the admin API of a running server (admin_api.hpp), used by
// `mxgate rep` when that server holds the store. One request per connection, on its own
// io_context; connecting, writing and every read are bounded by the request's timeout.
// Threading: one call at a time per client. Failure: no exceptions; a reply that could not be
// had carries a message in ClientReply::error.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "conf/config.hpp"

namespace mxgate::http {

struct ClientReply {
  unsigned status = 0;  // 0: no reply (see error)
  std::string body;     // empty when streamed to a file
  std::string error;    // why there is no (complete) reply
};

class Client {
 public:
  // `listen` is the server's http.listen; a wildcard host (0.0.0.0, ::) is reached on loopback.
  // `token`: the bearer token (admin_token.hpp) sent with every request.
  Client(const conf::HostPort& listen, std::string token);

  std::string url() const;  // "http://127.0.0.1:8025"

  // `body` goes with `content_type` when not empty.
  ClientReply request(boost::beast::http::verb method, const std::string& target,
                      const std::string& body, const std::string& content_type,
                      std::chrono::milliseconds timeout) const;

  // GET `target`; a 200 body is written to `out` as it arrives (any size), another status's
  // body comes back in the reply.
  ClientReply fetch_to(const std::string& target, std::FILE* out,
                       std::chrono::milliseconds timeout) const;

 private:
  std::string host_;
  std::string token_;
  std::uint16_t port_;
};

}  // namespace mxgate::http
