// Server-side TLS for STARTTLS (RFC 3207): an OpenSSL context with TLS 1.2 and 1.3 only, built
// from tls.certificate and tls.private_key. Built at start-up and at every reload; a context is
// immutable once built and shared by all workers through the config snapshot.
// Failure (unreadable or mismatched files): throws std::runtime_error naming the file.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "conf/config.hpp"

namespace mxgate::server {

// nullptr when no certificate is configured (STARTTLS is then not offered).
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const conf::TlsConfig& tls);

// The notAfter of `context`'s certificate in Unix seconds; nullopt without one.
std::optional<std::int64_t> certificate_not_after(boost::asio::ssl::context& context);

}  // namespace mxgate::server
