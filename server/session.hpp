// One SMTP session: the coroutine that moves bytes between the client's connection (SessionIo)
// and the pure
// protocol (smtp::LineFramer, smtp::ServerProtocol, smtp::DataDecoder), asks its policy
// (policy::SessionPolicy) at every stage, and carries out the Steps that need I/O: relaying
// (the relay::Transaction chain its services build), STARTTLS (RFC 3207), DATA and BDAT.
// - Replies are queued and written when no complete command is left in the input, so pipelined
//   commands get their replies in one write (RFC 2920).
// - Every read and write has a deadline (server.command_timeout, server.data_timeout,
//   tls.handshake_timeout); on expiry the client gets 421 4.4.2 and the session ends.
// - Plaintext pipelined behind STARTTLS is refused and the connection closed (CVE-2011-0411).
// - A client is never told 250 for a message before the relay said 250 for it.
// - A judged message is held in bounded memory until its end of data ([content] memory_per_session,
//   the process-wide memory_budget; the rest spills to a file), and holds no downstream
//   connection meanwhile (the relay is released at DATA): see session_data.cpp.
// The session sees its worker only through SessionServices, and its connection only through
// SessionIo, so that tests run it in memory on a manual clock (tests/server/session_test.cpp).
// Threading: lives and dies on its worker's thread. Failure: an exception escaping the session
// is a bug; the worker logs it once and counts it (mxgate_session_exceptions_total).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/held_content.hpp"
#include "content/message_id.hpp"
#include "content/message_parser.hpp"
#include "milter/chain.hpp"
#include "io/clock.hpp"
#include "policy/session_policy.hpp"
#include "relay/transaction.hpp"
#include "server/connection_limiter.hpp"
#include "server/metrics.hpp"
#include "server/read_budget.hpp"
#include "server/session_io.hpp"
#include "server/snapshot.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/server_protocol.hpp"

namespace mxgate::server {

// What a session needs from the worker it runs on.
class SessionServices {
 public:
  virtual ~SessionServices() = default;
  // The running configuration; a session keeps the one it started with to its end.
  virtual std::shared_ptr<const Snapshot> snapshot() const = 0;
  virtual const policy::Services& policy() const = 0;
  virtual ServerMetrics& metrics() = 0;
  // The chain a session's transactions go to (relayed inline, or queued; complaint reports to
  // feedback.address taken out first). `client_ip` must outlive it.
  virtual std::unique_ptr<relay::Transaction> make_transaction(const Snapshot& snapshot,
                                                               const std::string& client_ip) = 0;
  // The session caps for a client named by a PROXY header: an empty ticket and `refusal` set
  // when it is over one.
  virtual ConnectionLimiter::Ticket admit(const boost::asio::ip::address& client,
                                          ConnectionLimiter::Refusal& refusal) = 0;
  virtual std::uint32_t active_sessions() const = 0;  // in the whole process
  // The process-wide budget of held content in memory ([content] memory_budget).
  virtual content::ContentBudget& content_budget() = 0;
  // The worker's content filter connections kept between sessions (null: none are kept).
  virtual milter::Pool* milter_pool() = 0;
};

// The 421 for `client` over a session cap, counted (mxgate_sessions_refused_total) and logged
// (a refused line).
smtp::Reply refusal_reply(ConnectionLimiter::Refusal refusal, std::string_view client,
                          const std::string& hostname, ServerMetrics& metrics);

class Session {
 public:
  // `proxied`: the connection came to a proxy_listen address and starts with a PROXY header;
  // the session then takes its ticket itself, for the client address the header names.
  Session(SessionServices& services, std::shared_ptr<SessionIo> io,
          ConnectionLimiter::Ticket ticket, bool proxied);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Runs the session to its end (the client quit or went away, a timeout, a refusal, a drain).
  boost::asio::awaitable<void> run();
  void drain();        // after the current transaction: 421 4.3.2 and close
  void force_close();  // now: 421 4.3.2 and close

 private:
  enum class End { Quit, PeerClosed, Timeout, ErrorLimit, Drained, IoError, TlsFailed, Refused };

  boost::asio::awaitable<bool> accept_proxy();
  boost::asio::awaitable<bool> screen();
  bool greet_pause_due() const;
  policy::PendingCheck pregreet_check(std::shared_ptr<bool> talked);
  boost::asio::awaitable<bool> begin_transaction(smtp::Step& step);
  // The content filters ([[milter]], issue 18): each asks them at its stage once the policy let
  // the command through; a refusal is the answer (policy::SessionPolicy::filter_verdict).
  boost::asio::awaitable<std::optional<policy::Refusal>> filter_connect();
  void begin_filtering();
  boost::asio::awaitable<void> stream_to_filters(bool end);
  boost::asio::awaitable<std::optional<policy::Refusal>> filter_end();
  std::string filter_quarantine_header(std::string reason) const;
  boost::asio::awaitable<void> relay_recipient(smtp::Step& step);
  boost::asio::awaitable<void> command_loop();
  boost::asio::awaitable<bool> carry_out(smtp::Step step);
  boost::asio::awaitable<bool> start_tls(smtp::Reply ready);
  boost::asio::awaitable<smtp::Step> receive_data();
  boost::asio::awaitable<smtp::Step> receive_chunk(const smtp::Command& bdat);
  boost::asio::awaitable<bool> discard_octets(std::uint64_t count);
  boost::asio::awaitable<bool> feed_relay(bool force);
  std::string& decoder_output() { return holding_ ? decoded_ : content_; }
  // decoder_->feed() into decoder_output(), the new content also to the Message-ID reader.
  smtp::DataDecoder::Result decode(std::string_view input);
  void scan_decoded(const boost::asio::any_io_executor& executor);
  bool start_holding();  // false: the budget has no room (451 4.3.1, counted and logged)
  smtp::Reply budget_refusal();
  void hold(std::string_view piece);  // to the parser and into held_, counted
  void warn_held_failure() const;     // held_ failed: one log line
  void account_held();                // held_ metrics follow its memory and spills
  void release_held();                // the message is over: memory back, spill file gone
  boost::asio::awaitable<std::optional<smtp::Reply>> end_content();  // sets closing_ on a 421
  boost::asio::awaitable<void> send_held();
  // Reads more within `budget` (read_budget.hpp); false: the session ends (a timeout answered
  // 421 4.4.2).
  boost::asio::awaitable<bool> read_more(ReadBudget& budget);
  // The content of a DATA or BDAT request.
  ReadBudget content_budget() const;
  boost::asio::awaitable<bool> flush();
  boost::asio::awaitable<void> tarpit();
  void queue(const smtp::Reply& reply);
  void begin_content();
  smtp::Reply content_error_reply(smtp::DataError error);  // counts bare line endings
  std::string transaction_line() const;  // the fields every transaction log line starts with
  void finish_transaction(const smtp::Reply& final_reply);
  void abandon_transaction();
  void log_session() const;
  // The refused line of a refusal that no check decided (those log their own): a limit of
  // ours, the relay (no route, the downstream's answer), or the message's content.
  boost::asio::awaitable<smtp::Reply> relay_end();
  void log_limit_refusal(const smtp::Step& step) const;
  void log_refusal(std::string_view stage, const smtp::Reply& reply, std::string_view by,
                   std::string_view reason, std::string_view recipient = {}) const;
  // relay/recipient_log.hpp: a refused RCPT, and in inline mode each accepted recipient once
  // the downstream answered the end of data (`downstream`: the one that decided, or empty).
  void log_recipient(std::string_view address, const smtp::Reply& reply, std::string_view status,
                     std::string_view downstream) const;
  void log_delivered(const smtp::Reply& final_reply) const;

  SessionServices& services_;
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
  std::string content_;  // streamed content waiting to go to the relay (not judged)
  // A judged message (authenticating, or judging content): the decoder's output (decoded_, one
  // read's worth) goes through the scanner (which passes on the header without our
  // Authentication-Results fields, into scanned_) and the content parser, and is held in
  // held_ (bounded memory, the rest spilled to disk) until the end of data, when the trace
  // header fields (trace_, then Authentication-Results, then the quarantine mark) go in front.
  bool holding_ = false;
  std::shared_ptr<auth::MessageScanner> scanner_;
  std::shared_ptr<content::MessageParser> parser_;
  content::HeldContent held_;
  std::uint64_t held_memory_ = 0;   // held_'s memory as counted in the gauge
  std::uint64_t held_spilled_ = 0;  // held_'s spilled bytes as counted
  std::string decoded_;
  std::string scanned_;
  std::string trace_;
  bool prefetched_ = false;
  bool relay_ok_ = true;
  bool chunking_ = false;  // a BDAT transaction has started relaying its content

  std::unique_ptr<milter::Chain> filters_;  // null without [[milter]]
  milter::Macros macros_;                   // what the filters are told (j, {client_addr}, ...)
  milter::Verdict filtered_;                // the filters' end-of-message changes, if any
  std::string filtered_head_;               // the header section the filters saw
  std::uint64_t held_header_size_ = 0;      // how much of held_ it took
  bool filter_header_done_ = false;         // filtered_head_ went to the filters
  std::string to_filters_;                  // held content not yet sent to the filters
  std::optional<policy::Refusal> filter_refusal_;  // a filter refused while the message came
  std::optional<smtp::Reply> filter_deferral_;  // a filter's tempfail at connect: every MAIL's

  std::string id_;
  std::string client_ip_;
  policy::SessionPolicy policy_;
  bool proxied_;
  io::Clock::time_point started_ = io::Clock::now();
  End end_ = End::PeerClosed;
  bool draining_ = false;
  bool forced_ = false;
  bool idle_ = false;                  // waiting for a command outside a transaction
  std::optional<ReadBudget> command_budget_;  // of the command line being awaited
  bool closing_ = false;               // a refusal that ends the session was queued (421)
  std::uint32_t errors_ = 0;           // 4xx and 5xx replies queued, for the tarpit
  std::uint32_t errors_answered_ = 0;  // ... and already sent
  unsigned transactions_ = 0;

  // The transaction in progress, for its log line.
  std::string txn_id_;
  std::string txn_from_;
  std::string txn_rcpts_;
  std::vector<std::string> txn_accepted_;  // the recipients of txn_rcpts_, one by one
  content::MessageIdReader message_id_;    // the message's Message-ID, for the log
  io::Clock::time_point txn_started_;
  bool txn_open_ = false;
};

}  // namespace mxgate::server
