// Internal to server/: the Session class, shared by session.cpp (lifecycle, commands, logs)
// and session_data.cpp (message content: DATA, BDAT, streaming to the relay). See session.hpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "policy/session_policy.hpp"
#include "relay/transaction.hpp"
#include "server/connection_limiter.hpp"
#include "server/metrics.hpp"
#include "server/session_io.hpp"
#include "server/snapshot.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/server_protocol.hpp"

namespace mxgate::server {

class Worker;

class Session {
 public:
  Session(Worker& worker, boost::asio::ip::tcp::socket socket, ConnectionLimiter::Ticket ticket,
          bool proxied);
  boost::asio::awaitable<void> run();
  void drain();
  void force_close();

 private:
  enum class End { Quit, PeerClosed, Timeout, ErrorLimit, Drained, IoError, TlsFailed, Refused };

  boost::asio::awaitable<bool> accept_proxy();
  boost::asio::awaitable<bool> screen();
  bool greet_pause_due() const;
  policy::PendingCheck pregreet_check(std::shared_ptr<bool> talked);
  boost::asio::awaitable<bool> begin_transaction(smtp::Step& step);
  boost::asio::awaitable<void> relay_recipient(smtp::Step& step);
  boost::asio::awaitable<void> command_loop();
  boost::asio::awaitable<bool> carry_out(smtp::Step step);
  boost::asio::awaitable<bool> start_tls(smtp::Reply ready);
  boost::asio::awaitable<smtp::Step> receive_data();
  boost::asio::awaitable<smtp::Step> receive_chunk(const smtp::Command& bdat);
  boost::asio::awaitable<bool> discard_octets(std::uint64_t count);
  boost::asio::awaitable<bool> feed_relay(bool force);
  std::string& decoder_output() { return scanner_ ? decoded_ : content_; }
  void scan_decoded(const boost::asio::any_io_executor& executor);
  boost::asio::awaitable<std::optional<smtp::Reply>> end_content();  // sets closing_ on a 421
  boost::asio::awaitable<bool> read_more(conf::Duration timeout);
  boost::asio::awaitable<bool> flush();
  boost::asio::awaitable<void> tarpit();
  void queue(const smtp::Reply& reply);
  void begin_content();
  smtp::Reply content_error_reply(smtp::DataError error);  // counts bare line endings
  std::string transaction_line() const;  // the fields every transaction log line starts with
  void finish_transaction(const smtp::Reply& final_reply);
  void abandon_transaction();
  void log_session() const;

  Worker& worker_;
  std::shared_ptr<const Snapshot> snapshot_;
  const conf::Config& config_;
  ServerMetrics& metrics_;
  std::shared_ptr<SessionIo> io_;
  ConnectionLimiter::Ticket ticket_;
  smtp::LineFramer framer_;
  smtp::ServerProtocol protocol_;
  std::unique_ptr<relay::Transaction> relay_;  // InlineRelay, or QueueIntake in queue mode
  std::optional<smtp::DataDecoder> decoder_;
  std::string out_;
  std::string content_;
  // While authenticating ([auth]): the decoder's output goes through the scanner, and content_
  // holds the whole message until the end of data, when the trace header fields (trace_, then
  // Authentication-Results, then the quarantine mark) go in front of it.
  std::shared_ptr<auth::MessageScanner> scanner_;
  std::string decoded_;
  std::string trace_;
  bool prefetched_ = false;
  bool relay_ok_ = true;
  bool chunking_ = false;  // a BDAT transaction has started relaying its content

  std::string id_;
  std::string client_ip_;
  policy::SessionPolicy policy_;
  bool proxied_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  End end_ = End::PeerClosed;
  bool draining_ = false;
  bool forced_ = false;
  bool idle_ = false;                  // waiting for a command outside a transaction
  bool closing_ = false;               // a refusal that ends the session was queued (421)
  std::uint32_t errors_ = 0;           // 4xx and 5xx replies queued, for the tarpit
  std::uint32_t errors_answered_ = 0;  // ... and already sent
  unsigned transactions_ = 0;

  // The transaction in progress, for its log line.
  std::string txn_id_;
  std::string txn_from_;
  std::string txn_rcpts_;
  std::chrono::steady_clock::time_point txn_started_;
  bool txn_open_ = false;
};

}  // namespace mxgate::server
