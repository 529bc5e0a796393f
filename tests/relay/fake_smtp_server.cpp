#include "tests/relay/fake_smtp_server.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>
#include <string_view>

namespace mxgate::relay::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};

// A throwaway self-signed P-256 certificate for CN=localhost.
void use_self_signed(asio::ssl::context& context) {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, CertFree> cert(X509_new());
  if (!key || !cert) throw std::runtime_error("openssl: cannot make a key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0 ||
      SSL_CTX_use_certificate(context.native_handle(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(context.native_handle(), key.get()) != 1) {
    throw std::runtime_error("openssl: cannot use the certificate");
  }
}

std::string ehlo_reply(const FakeScript& script, bool tls) {
  std::vector<std::string> lines{"fake.test"};
  lines.insert(lines.end(), script.capabilities.begin(), script.capabilities.end());
  if (script.starttls && !tls) lines.emplace_back("STARTTLS");
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += (i + 1 == lines.size()) ? "250 " : "250-";
    out += lines[i] + "\r\n";
  }
  return out;
}

std::string respond(const FakeScript& script, std::string_view line, bool tls) {
  if (auto it = script.replies.find(line); it != script.replies.end()) return it->second;
  const auto verb = line.substr(0, 4);
  if (verb == "EHLO") return ehlo_reply(script, tls);
  if (verb == "HELO") return "250 fake.test\r\n";
  if (verb == "MAIL") return "250 2.1.0 Ok\r\n";
  if (verb == "RCPT") return "250 2.1.5 Ok\r\n";
  if (verb == "DATA") return "354 End data with <CR><LF>.<CR><LF>\r\n";
  if (verb == "RSET") return "250 2.0.0 Ok\r\n";
  if (verb == "QUIT") return "221 2.0.0 Bye\r\n";
  if (line == "STARTTLS" && script.starttls && !tls) return "220 2.0.0 Ready to start TLS\r\n";
  return "502 5.5.2 Error: command not recognized\r\n";
}

asio::awaitable<bool> send(asio::ssl::stream<tcp::socket>& stream, bool tls, std::string text) {
  if (text.empty()) co_return true;
  boost::system::error_code ec;
  if (tls) {
    std::tie(ec, std::ignore) = co_await asio::async_write(stream, asio::buffer(text), kTuple);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(stream.next_layer(), asio::buffer(text), kTuple);
  }
  co_return !ec;
}

}  // namespace

FakeServer::FakeServer(asio::io_context& context, FakeScript initial)
    : script(std::move(initial)),
      acceptor_(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      tls_(asio::ssl::context::tls_server) {
  use_self_signed(tls_);
  asio::co_spawn(context, accept_loop(this), asio::detached);
}

std::string FakeServer::received(std::size_t connection) const {
  return connection < connections_.size() ? connections_[connection]->received : std::string();
}

asio::awaitable<void> accept_loop(FakeServer* server) {
  for (;;) {
    auto [ec, socket] = co_await server->acceptor_.async_accept(kTuple);
    if (ec) co_return;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // pipelined replies without Nagle delays
    auto record = std::make_shared<FakeConnection>();
    server->connections_.push_back(record);
    asio::co_spawn(server->acceptor_.get_executor(), serve(server, std::move(socket), record),
                   asio::detached);
  }
}

asio::awaitable<void> serve(FakeServer* server, tcp::socket socket,
                            std::shared_ptr<FakeConnection> record) {
  asio::ssl::stream<tcp::socket> stream(std::move(socket), server->tls_);
  bool tls = false;
  if (server->script.speak && !co_await send(stream, tls, server->script.greeting)) co_return;
  std::string pending;
  char chunk[4096];
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls) {
      std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(chunk), kTuple);
    } else {
      std::tie(ec, n) = co_await stream.next_layer().async_read_some(asio::buffer(chunk), kTuple);
    }
    if (ec) {
      record->client_closed = true;
      co_return;
    }
    record->received.append(chunk, n);
    pending.append(chunk, n);
    for (auto end = pending.find("\r\n"); end != std::string::npos; end = pending.find("\r\n")) {
      const std::string line = pending.substr(0, end);
      pending.erase(0, end + 2);
      const FakeScript& script = server->script;
      if (record->in_data) {
        if (line != ".") continue;
        record->in_data = false;
        if (!co_await send(stream, tls, script.final_reply) || script.close_after_message)
          co_return;
        continue;
      }
      if (!script.speak) continue;
      const std::string reply = respond(script, line, tls);
      if (!co_await send(stream, tls, reply)) co_return;
      if (line == "DATA" && reply.starts_with("354")) record->in_data = true;
      if (line == "QUIT") co_return;
      if (line == "STARTTLS" && reply.starts_with("220")) {
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
        if (hec) co_return;
        tls = true;
        pending.clear();
        const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        record->sni = sni ? sni : "";
      }
    }
  }
}

std::uint16_t closed_port() {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

asio::awaitable<bool> eventually(std::function<bool()> done, int limit_ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int waited = 0; !done() && waited < limit_ms; ++waited) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(kTuple);
  }
  co_return done();
}

}  // namespace mxgate::relay::testing
