#include "server/tls.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

#include <stdexcept>

namespace mxgate::server {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_server_tls(const conf::TlsConfig& tls) {
  if (tls.certificate.empty()) return nullptr;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // An idle session gives its read and write buffers back (about 34 KiB each session).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Senders reconnect often; a session cache saves full handshakes for them.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(native, reinterpret_cast<const unsigned char*>("mxgate"), 6);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.certificate, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("tls.certificate: cannot load '{}': {}", tls.certificate, ec.message()));
  }
  ctx->use_private_key_file(tls.private_key, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("tls.private_key: cannot load '{}': {}", tls.private_key, ec.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error(
        fmt::format("tls.private_key: '{}' does not match '{}'", tls.private_key, tls.certificate));
  }
  return ctx;
}

std::optional<std::int64_t> certificate_not_after(ssl::context& context) {
  const X509* certificate = SSL_CTX_get0_certificate(context.native_handle());
  if (certificate == nullptr) return std::nullopt;
  std::tm expiry{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &expiry) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&expiry));
}

}  // namespace mxgate::server
