// Server-side TLS for STARTTLS (RFC 3207), from [tls]: the protocol versions, ciphers, TLS 1.3
// suites and groups configured, the server's cipher order, and the certificates: tls.certificate
// and every [[tls.certificates]] entry without server_names in the default context (OpenSSL
// keeps one per key type, RSA and ECDSA, and picks by what the client supports), and one
// context per server_names list, chosen by the client's SNI (RFC 6066 §3). Built at start-up
// and at every reload; immutable once built and shared by all workers through the snapshot.
// Failure (unreadable or mismatched files, settings OpenSSL refuses): throws
// std::runtime_error naming the key.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conf/config.hpp"

namespace mxgate::server {

// nullptr when no certificate is configured (STARTTLS is then not offered).
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const conf::TlsConfig& tls);

// Each configured certificate file with its notAfter in Unix seconds (nullopt: unreadable).
std::vector<std::pair<std::string, std::optional<std::int64_t>>> certificate_expiries(
    const conf::TlsConfig& tls);

}  // namespace mxgate::server
