#include "relay/downstream.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <string>
#include <utility>

namespace mxgate::relay {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using boost::system::result;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kInitialInput = 1024;
// A reply can legitimately be this large; anything bigger is not an SMTP server.
constexpr std::size_t kMaxInput = smtp::ReplyParser::kMaxLine * smtp::ReplyParser::kMaxLines;

// boost::system::error_category's destructor is protected and non-virtual by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "mxgate.relay"; }
  std::string message(int value) const override {
    switch (static_cast<Error>(value)) {
      case Error::connect:
        return "cannot connect";
      case Error::timeout:
        return "timed out";
      case Error::protocol:
        return "protocol error";
      case Error::tls:
        return "TLS failure";
      case Error::shutdown:
        return "shutting down";
      case Error::busy:
        return "every downstream at its connection limit";
      case Error::circuit_open:
        return "downstream failing (circuit breaker open)";
    }
    return "unknown relay error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

error_code make_error_code(Error e) { return {static_cast<int>(e), error_category()}; }

// The I/O objects of one connection and its deadline. The watchdog coroutine holds a
// shared_ptr to it, so it stays valid until the watchdog has seen `closing`.
struct DownstreamLink {
  using Clock = Downstream::Clock;

  DownstreamLink(const asio::any_io_executor& executor, asio::ssl::context& tls)
      : stream(executor, tls), timer(executor, Clock::time_point::max()), resolver(executor) {}

  // Arming is a store; the timer moves only when the deadline comes earlier than its expiry.
  void arm(conf::Duration timeout) {
    deadline = Clock::now() + timeout;
    if (deadline < timer.expiry()) timer.expires_at(deadline);
  }
  void disarm() { deadline = Clock::time_point::max(); }

  void shut() {
    error_code ignored;
    stream.lowest_layer().close(ignored);
    resolver.cancel();
  }

  asio::ssl::stream<tcp::socket> stream;
  io::Timer timer;  // when the watchdog looks at the deadline next
  tcp::resolver resolver;
  Clock::time_point deadline = Clock::time_point::max();
  bool expired = false;  // the watchdog closed the socket because the deadline passed
  bool closing = false;  // the owner is done: the watchdog exits
};

namespace {

asio::awaitable<void> watchdog(std::shared_ptr<DownstreamLink> link) {
  for (;;) {
    co_await link->timer.async_wait(kTuple);
    if (link->closing) co_return;
    if (link->deadline <= DownstreamLink::Clock::now()) {
      link->expired = true;
      link->shut();
      link->disarm();
      link->timer.expires_at(link->deadline);
    } else if (link->timer.expiry() != link->deadline) {
      link->timer.expires_at(link->deadline);  // the deadline moved later (or away)
    }
  }
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Downstream::Downstream(asio::any_io_executor executor, asio::ssl::context& tls,
                       conf::HostPort target)
    : link_(std::make_shared<DownstreamLink>(executor, tls)), target_(std::move(target)) {
  asio::co_spawn(executor, watchdog(link_), asio::detached);
}

Downstream::~Downstream() { close(); }

void Downstream::close() {
  if (link_->closing) return;
  link_->closing = true;
  link_->timer.cancel();
  link_->shut();
}

bool Downstream::usable() const {
  return !failed_ && !link_->closing && !link_->expired && link_->stream.lowest_layer().is_open();
}

void Downstream::park(conf::Duration idle_timeout) { link_->arm(idle_timeout); }

void Downstream::unpark() { link_->disarm(); }

error_code Downstream::fail(Error error) {
  failed_ = true;
  close();
  return make_error_code(error);
}

// An I/O operation failed: a passed deadline is a timeout, anything else (EOF, reset, TLS
// record errors) a protocol failure.
error_code Downstream::io_failure() {
  return fail(link_->expired ? Error::timeout : Error::protocol);
}

namespace {

// Whether the peer's certificate has one of `fingerprints` (SHA-256, lowercase hex).
bool matches_fingerprint(SSL* ssl, const std::vector<std::string>& fingerprints) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &size) != 1) {
    return false;
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return std::find(fingerprints.begin(), fingerprints.end(), hex) != fingerprints.end();
}

}  // namespace

asio::awaitable<error_code> Downstream::open(DownstreamSettings settings) {
  if (auto ec = co_await connect(settings.connect_timeout)) co_return ec;
  link_->arm(settings.command_timeout);
  auto greeting = co_await read_in();
  link_->disarm();
  if (!greeting) co_return greeting.error();
  if (greeting->code != 220) co_return fail(Error::protocol);  // e.g. 554: not now, not us
  settings_ = settings;
  if (auto ec = co_await hello(settings)) co_return ec;
  if (settings.tls == conf::Route::Tls::None) co_return error_code{};
  co_return co_await starttls(settings);
}

asio::awaitable<error_code> Downstream::hello_again(std::string name) {
  auto settings = settings_;
  settings.helo_name = std::move(name);
  co_return co_await hello(settings);
}

asio::awaitable<error_code> Downstream::connect(conf::Duration timeout) {
  auto& socket = link_->stream.next_layer();
  error_code ec;
  const auto address = asio::ip::make_address(target_.host, ec);
  if (!ec) {
    link_->arm(timeout);
    std::tie(ec) = co_await socket.async_connect(tcp::endpoint(address, target_.port), kTuple);
    link_->disarm();
  } else {
    link_->arm(timeout);
    auto [resolve_ec, endpoints] =
        co_await link_->resolver.async_resolve(target_.host, std::to_string(target_.port), kTuple);
    link_->disarm();
    ec = resolve_ec ? resolve_ec : asio::error::host_not_found;
    for (const auto& entry : endpoints) {
      error_code ignored;
      socket.close(ignored);  // a failed attempt leaves the socket open or closed by the watchdog
      link_->expired = false;
      link_->arm(timeout);
      std::tie(ec) = co_await socket.async_connect(entry.endpoint(), kTuple);
      link_->disarm();
      if (!ec) break;
    }
  }
  if (ec) co_return fail(Error::connect);
  socket.set_option(tcp::no_delay(true), ec);
  const auto peer = socket.remote_endpoint(ec);
  if (!ec) peer_address_ = peer.address().to_string();
  co_return error_code{};
}

std::string Downstream::relay_name() const {
  if (peer_address_.empty()) return fmt::format("{}:{}", target_.host, target_.port);
  return fmt::format("{}[{}]:{}", target_.host, peer_address_, target_.port);
}

// EHLO, or HELO when the server refuses EHLO with a 5xx (RFC 5321 §3.2).
asio::awaitable<error_code> Downstream::hello(const DownstreamSettings& settings) {
  out_.append("EHLO ").append(settings.helo_name).append("\r\n");
  auto reply = co_await exchange(settings.command_timeout);
  if (!reply) co_return reply.error();
  if (reply->code == 250) {
    esmtp_ = true;
    caps_ = smtp::parse_ehlo(*reply);
    co_return error_code{};
  }
  if (!reply->permanent() || tls_active_) co_return fail(Error::protocol);
  out_.append("HELO ").append(settings.helo_name).append("\r\n");
  reply = co_await exchange(settings.command_timeout);
  if (!reply) co_return reply.error();
  if (reply->code != 250) co_return fail(Error::protocol);
  esmtp_ = false;
  caps_ = {};
  co_return error_code{};
}

// RFC 3207: STARTTLS when offered, then the handshake (SNI = the host name) and EHLO again.
// At the Verify level the certificate must match a fingerprint, or else pass the context's
// chain verification for the downstream's name or address (RFC 6125).
asio::awaitable<error_code> Downstream::starttls(const DownstreamSettings& settings) {
  using Tls = conf::Route::Tls;
  const bool required = settings.tls >= Tls::Encrypt;
  if (!caps_.starttls) co_return required ? fail(Error::tls) : error_code{};
  auto reply = co_await command("STARTTLS", settings.command_timeout);
  if (!reply) co_return reply.error();
  if (reply->code != 220) {
    // A refusal leaves the plaintext session usable, unless TLS is required.
    co_return required ? fail(Error::tls) : error_code{};
  }
  if (in_end_ != in_begin_) co_return fail(Error::protocol);  // bytes before TLS: injected
  SSL* ssl = link_->stream.native_handle();
  const bool literal = is_ip_literal(target_.host);
  if (!literal) SSL_set_tlsext_host_name(ssl, target_.host.c_str());
  if (settings.tls == Tls::Verify && settings.fingerprints.empty()) {
    literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str())
            : SSL_set1_host(ssl, target_.host.c_str());
  }
  link_->arm(settings.command_timeout);
  auto [ec] = co_await link_->stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  link_->disarm();
  if (ec) co_return fail(link_->expired ? Error::timeout : Error::tls);
  if (settings.tls == Tls::Verify && !settings.fingerprints.empty() &&
      !matches_fingerprint(ssl, settings.fingerprints)) {
    co_return fail(Error::tls);
  }
  verified_ = settings.tls == Tls::Verify;
  tls_active_ = true;
  caps_ = {};
  co_return co_await hello(settings);
}

void Downstream::queue(std::string_view line) { out_.append(line).append("\r\n"); }

asio::awaitable<error_code> Downstream::flush(conf::Duration timeout) {
  link_->arm(timeout);
  auto ec = co_await write_out();
  link_->disarm();
  co_return ec;
}

asio::awaitable<result<smtp::Reply>> Downstream::read_reply(conf::Duration timeout) {
  link_->arm(timeout);
  auto reply = co_await read_in();
  link_->disarm();
  co_return reply;
}

asio::awaitable<result<smtp::Reply>> Downstream::exchange(conf::Duration timeout) {
  // No co_await inside ?: here or below: g++ 12 miscompiles it (double destruction).
  link_->arm(timeout);
  if (auto ec = co_await write_out()) {
    link_->disarm();
    co_return ec;
  }
  auto reply = co_await read_in();
  link_->disarm();
  co_return reply;
}

asio::awaitable<result<smtp::Reply>> Downstream::command(std::string_view line,
                                                         conf::Duration timeout) {
  queue(line);
  co_return co_await exchange(timeout);
}

asio::awaitable<error_code> Downstream::write_out() {
  if (failed_ || link_->closing) co_return make_error_code(Error::protocol);
  if (out_.empty()) co_return error_code{};
  error_code ec;
  if (tls_active_) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(link_->stream, asio::buffer(out_), kTuple);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(link_->stream.next_layer(), asio::buffer(out_), kTuple);
  }
  out_.clear();
  if (ec) co_return io_failure();
  co_return error_code{};
}

asio::awaitable<result<smtp::Reply>> Downstream::read_in() {
  if (failed_ || link_->closing) co_return make_error_code(Error::protocol);
  for (;;) {
    if (in_end_ > in_begin_) {
      const auto parsed = parser_.parse({in_.data() + in_begin_, in_end_ - in_begin_});
      if (parsed.status == smtp::ReplyParser::Status::Malformed) co_return fail(Error::protocol);
      if (parsed.status == smtp::ReplyParser::Status::Complete) {
        in_begin_ += parsed.consumed;
        if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
        co_return parser_.reply();
      }
    }
    if (in_end_ == in_.size()) {
      if (in_begin_ > 0) {
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
      } else if (in_.size() >= kMaxInput) {
        co_return fail(Error::protocol);
      } else {
        in_.resize(in_.empty() ? kInitialInput : in_.size() * 2);
      }
    }
    const auto space = asio::buffer(in_.data() + in_end_, in_.size() - in_end_);
    error_code ec;
    std::size_t n = 0;
    if (tls_active_) {
      std::tie(ec, n) = co_await link_->stream.async_read_some(space, kTuple);
    } else {
      std::tie(ec, n) = co_await link_->stream.next_layer().async_read_some(space, kTuple);
    }
    if (ec) co_return io_failure();
    in_end_ += n;
  }
}

}  // namespace mxgate::relay
