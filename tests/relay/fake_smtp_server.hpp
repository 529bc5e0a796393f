// A scripted SMTP server for relay tests: listens on 127.0.0.1 port 0, answers each command
// line from a script (exact-line overrides, else a default per verb), handles DATA up to the
// terminator and STARTTLS (self-signed certificate made at start-up), and records every byte it
// received per connection (after TLS decryption) and whether the client closed.
// Threading: runs on the test's io_context; inspect it only while that context is not running
// or from a coroutine on it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mxgate::relay::testing {

struct FakeScript {
  bool speak = true;  // false: accepts and reads, never answers (not even the greeting)
  std::string greeting = "220 fake.test ESMTP\r\n";
  std::vector<std::string> capabilities = {"PIPELINING", "8BITMIME", "SIZE 10000000",
                                           "ENHANCEDSTATUSCODES"};
  bool starttls = false;                                        // offers STARTTLS before TLS is on
  std::map<std::string, std::string, std::less<>> replies;      // exact line → raw reply
  std::string final_reply = "250 2.0.0 Ok: queued as ABC\r\n";  // empty: never answers
  bool close_after_message = false;  // closes right after the final reply
};

struct FakeConnection {
  std::string received;  // every octet the client sent, decrypted
  bool client_closed = false;
  bool in_data = false;  // inside DATA when the connection ended
  std::string sni;       // server name the client sent in its TLS ClientHello
};

class FakeServer;
boost::asio::awaitable<void> accept_loop(FakeServer* server);
boost::asio::awaitable<void> serve(FakeServer* server, boost::asio::ip::tcp::socket socket,
                                   std::shared_ptr<FakeConnection> record);

class FakeServer {
 public:
  FakeServer(boost::asio::io_context& context, FakeScript script);
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::vector<std::shared_ptr<FakeConnection>>& connections() const { return connections_; }
  std::string received(std::size_t connection = 0) const;
  // Stops listening: new connections are refused (the downstream is down); those made go on.
  void close() { acceptor_.close(); }

  FakeScript script;  // may be changed between transactions

 private:
  friend boost::asio::awaitable<void> accept_loop(FakeServer* server);
  friend boost::asio::awaitable<void> serve(FakeServer* server, boost::asio::ip::tcp::socket socket,
                                            std::shared_ptr<FakeConnection> record);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ssl::context tls_;
  std::vector<std::shared_ptr<FakeConnection>> connections_;
};

// A port on 127.0.0.1 that refuses connections (bound, then closed).
std::uint16_t closed_port();

// Polls `done` every millisecond for at most `limit_ms`; returns its last value.
boost::asio::awaitable<bool> eventually(std::function<bool()> done, int limit_ms = 1000);

}  // namespace mxgate::relay::testing
