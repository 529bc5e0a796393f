#include "server/tls.hpp"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>

namespace mxgate::server {

namespace ssl = boost::asio::ssl;

namespace {

// Every context of a configuration: the default one and one per server_names list. The
// default's SNI callback reads `named`; the shared_ptr handed out aliases `main`.
struct Contexts {
  std::unique_ptr<ssl::context> main;
  std::map<std::string, std::shared_ptr<ssl::context>, std::less<>> named;  // by server name

  SSL_CTX* for_name(std::string name) const {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auto exact = named.find(name); exact != named.end()) return exact->second->native_handle();
    // "*.example.com" stands for one label (RFC 6125 §6.4.3).
    const auto dot = name.find('.');
    if (dot == std::string::npos) return nullptr;
    auto wildcard = named.find("*" + name.substr(dot));
    return wildcard != named.end() ? wildcard->second->native_handle() : nullptr;
  }
};

int choose_by_name(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  if (SSL_CTX* ctx = static_cast<const Contexts*>(arg)->for_name(name)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;  // an unknown name gets the default certificate
}

constexpr int version_of(conf::TlsConfig::Version v) {
  using V = conf::TlsConfig::Version;
  return v == V::Tls1 ? TLS1_VERSION : v == V::Tls1_1 ? TLS1_1_VERSION
                                     : v == V::Tls1_2 ? TLS1_2_VERSION
                                                      : TLS1_3_VERSION;
}

std::unique_ptr<ssl::context> make_context(const conf::TlsConfig& tls) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  if (tls.prefer_server_ciphers) SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(native, version_of(tls.min_version));
  // An idle session gives its read and write buffers back (about 34 KiB each session).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Senders reconnect often; a session cache saves full handshakes for them.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(native, reinterpret_cast<const unsigned char*>("mxgate"), 6);
  // OpenSSL 3 refuses TLS 1.0 and 1.1 above security level 0 (their handshakes use SHA-1).
  const bool old_versions = tls.min_version < conf::TlsConfig::Version::Tls1_2;
  const std::string ciphers = tls.ciphers + (old_versions ? ":@SECLEVEL=0" : "");
  if (SSL_CTX_set_cipher_list(native, ciphers.c_str()) != 1) {
    throw std::runtime_error(
        fmt::format("tls.ciphers: OpenSSL knows no cipher in \"{}\"", tls.ciphers));
  }
  if (!tls.ciphersuites.empty() && SSL_CTX_set_ciphersuites(native, tls.ciphersuites.c_str()) != 1) {
    throw std::runtime_error(
        fmt::format("tls.ciphersuites: OpenSSL refuses \"{}\"", tls.ciphersuites));
  }
  if (!tls.groups.empty() && SSL_CTX_set1_groups_list(native, tls.groups.c_str()) != 1) {
    throw std::runtime_error(fmt::format("tls.groups: OpenSSL refuses \"{}\"", tls.groups));
  }
  return ctx;
}

// `key` names the entry in errors ("tls" or "tls.certificates[1]").
void add_certificate(ssl::context& ctx, const std::string& certificate,
                     const std::string& private_key, const std::string& key) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(certificate, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("{}.certificate: cannot load '{}': {}", key, certificate, ec.message()));
  }
  ctx.use_private_key_file(private_key, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("{}.private_key: cannot load '{}': {}", key, private_key, ec.message()));
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    throw std::runtime_error(fmt::format("{}.private_key: '{}' does not match '{}'", key,
                                         private_key, certificate));
  }
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls(const conf::TlsConfig& tls) {
  if (!tls.enabled()) return nullptr;
  auto contexts = std::make_shared<Contexts>();
  contexts->main = make_context(tls);
  bool main_has_one = false;
  if (!tls.certificate.empty()) {
    add_certificate(*contexts->main, tls.certificate, tls.private_key, "tls");
    main_has_one = true;
  }
  // Entries with the same names share a context (e.g. an RSA and an ECDSA certificate).
  std::map<std::vector<std::string>, std::shared_ptr<ssl::context>> by_names;
  for (std::size_t i = 0; i < tls.certificates.size(); ++i) {
    const auto& entry = tls.certificates[i];
    const std::string key = fmt::format("tls.certificates[{}]", i);
    if (entry.server_names.empty()) {
      add_certificate(*contexts->main, entry.certificate, entry.private_key, key);
      main_has_one = true;
      continue;
    }
    auto& ctx = by_names[entry.server_names];
    if (!ctx) ctx = make_context(tls);
    add_certificate(*ctx, entry.certificate, entry.private_key, key);
    for (const auto& name : entry.server_names) contexts->named[name] = ctx;
  }
  // Without a default certificate, a client that names nobody (or an unknown name) gets the
  // first entry's.
  if (!main_has_one) {
    const auto& first = tls.certificates.front();
    add_certificate(*contexts->main, first.certificate, first.private_key, "tls.certificates[0]");
  }
  if (!contexts->named.empty()) {
    SSL_CTX_set_tlsext_servername_callback(contexts->main->native_handle(), choose_by_name);
    SSL_CTX_set_tlsext_servername_arg(contexts->main->native_handle(), contexts.get());
  }
  ssl::context* main = contexts->main.get();
  return std::shared_ptr<ssl::context>(std::move(contexts), main);
}

std::vector<std::pair<std::string, std::optional<std::int64_t>>> certificate_expiries(
    const conf::TlsConfig& tls) {
  std::vector<std::string> files;
  if (!tls.certificate.empty()) files.push_back(tls.certificate);
  for (const auto& entry : tls.certificates) files.push_back(entry.certificate);
  std::vector<std::pair<std::string, std::optional<std::int64_t>>> out;
  for (const auto& file : files) {
    std::optional<std::int64_t> not_after;
    if (FILE* f = std::fopen(file.c_str(), "r")) {
      if (X509* certificate = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
        std::tm expiry{};
        if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &expiry) == 1) {
          not_after = static_cast<std::int64_t>(timegm(&expiry));
        }
        X509_free(certificate);
      }
      std::fclose(f);
    }
    out.emplace_back(file, not_after);
  }
  return out;
}

}  // namespace mxgate::server
