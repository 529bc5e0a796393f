#include "server/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/log.hpp"
#include "relay/inline_relay.hpp"
#include "reputation/replies.hpp"
#include "server/proxy_handshake.hpp"
#include "server/screening.hpp"
#include "server/session_io.hpp"
#include "server/trace.hpp"
#include "server/worker.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/server_protocol.hpp"

namespace mxgate::server {

namespace asio = boost::asio;
using smtp::Reply;
using smtp::Step;
using smtp::StepKind;

namespace {

// Content is handed to the relay in pieces of about this size: large enough to make few
// writes, small enough to stream.
constexpr std::size_t kRelayChunk = 64 * 1024;
constexpr auto kGoodbyeTimeout = std::chrono::seconds(2);

std::string client_address(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto address = socket.remote_endpoint(ec).address();
  if (ec) return "unknown";
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

class Session {
 public:
  Session(Worker& worker, asio::ip::tcp::socket socket, ConnectionLimiter::Ticket ticket,
          bool proxied);
  asio::awaitable<void> run();
  void drain();
  void force_close();

 private:
  enum class End { Quit, PeerClosed, Timeout, ErrorLimit, Drained, IoError, TlsFailed, Refused };

  asio::awaitable<bool> accept_proxy();
  asio::awaitable<bool> screen();
  std::optional<Reply> postponed_refusal();
  asio::awaitable<void> command_loop();
  asio::awaitable<bool> carry_out(Step step);
  asio::awaitable<bool> start_tls(Reply ready);
  asio::awaitable<Step> receive_data();
  asio::awaitable<Step> receive_chunk(const smtp::Command& bdat);
  asio::awaitable<bool> discard_octets(std::uint64_t count);
  asio::awaitable<bool> feed_relay(bool force);
  asio::awaitable<bool> read_more(conf::Duration timeout);
  asio::awaitable<bool> flush();
  void queue(const Reply& reply);
  void begin_content();
  Reply content_error_reply(smtp::DataError error);  // counts bare line endings
  std::string transaction_line() const;  // the fields every transaction log line starts with
  void finish_transaction(const Reply& final_reply);
  void abandon_transaction();
  void log_session() const;

  Worker& worker_;
  std::shared_ptr<const Snapshot> snapshot_;
  const conf::Config& config_;
  common::Metrics& metrics_;
  std::shared_ptr<SessionIo> io_;
  ConnectionLimiter::Ticket ticket_;
  smtp::LineFramer framer_;
  smtp::ServerProtocol protocol_;
  relay::InlineRelay relay_;
  reputation::SessionVerdict verdict_{reputation::Thresholds{}};
  std::optional<smtp::DataDecoder> decoder_;
  std::string out_;
  std::string content_;
  bool relay_ok_ = true;
  bool chunking_ = false;  // a BDAT transaction has started relaying its content

  std::string id_;
  std::string client_ip_;
  bool proxied_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  End end_ = End::PeerClosed;
  bool draining_ = false;
  bool forced_ = false;
  bool idle_ = false;  // waiting for a command outside a transaction
  unsigned transactions_ = 0;

  // The transaction in progress, for its log line.
  std::string txn_id_;
  std::string txn_from_;
  std::string txn_rcpts_;
  std::chrono::steady_clock::time_point txn_started_;
  bool txn_open_ = false;
};

Session::Session(Worker& worker, asio::ip::tcp::socket socket, ConnectionLimiter::Ticket ticket,
                 bool proxied)
    : worker_(worker),
      snapshot_(worker.snapshot()),
      config_(*snapshot_->config),
      metrics_(worker.metrics()),
      io_(std::make_shared<SessionIo>(std::move(socket))),
      ticket_(std::move(ticket)),
      framer_(snapshot_->line_endings),
      protocol_(snapshot_->smtp),
      relay_(worker.pool(), snapshot_->router, worker.metrics()),
      id_(make_id()),
      client_ip_(client_address(io_->socket())),
      proxied_(proxied) {}

void Session::drain() {
  draining_ = true;
  if (idle_) io_->cancel();
}

void Session::force_close() {
  forced_ = true;
  io_->cancel();
}

// A proxy_listen connection: the PROXY header first, then the session caps for the client it
// names. Refused connections are closed without a word (untrusted or not PROXY) or with 421.
asio::awaitable<bool> Session::accept_proxy() {
  const auto outcome = co_await read_proxy_header(*io_, snapshot_->proxy_trusted,
                                                  config_.server.proxy_timeout);
  if (outcome.status != ProxyOutcome::Status::Ok) {
    (outcome.status == ProxyOutcome::Status::Untrusted ? metrics_.proxy_untrusted
                                                       : metrics_.proxy_invalid)
        .Increment();
    spdlog::info("proxy_refused session={} peer={} error={}", id_, client_ip_,
                 common::escape(outcome.error));
    end_ = End::Refused;
    co_return false;
  }
  metrics_.proxy_accepted.Increment();
  if (!outcome.client_ip.empty()) client_ip_ = outcome.client_ip;
  ConnectionLimiter::Refusal refusal;
  boost::system::error_code ec;
  ticket_ = worker_.limiter().acquire(asio::ip::make_address(client_ip_, ec), refusal);
  if (!ticket_) {
    queue(worker_.refusal_reply(refusal));
    co_await flush();
    end_ = End::Refused;
    co_return false;
  }
  co_return true;
}

// Connect stage: the client's reputation decides whether it gets a banner at all.
asio::awaitable<bool> Session::screen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(client_ip_, ec);
  if (ec) co_return true;
  const auto answer = co_await screen_connect(worker_.screening(), address, verdict_);
  switch (answer.action) {
    case reputation::Action::Reject:
      metrics_.verdicts_connect_reject.Increment();
      break;
    case reputation::Action::Defer:
      metrics_.verdicts_connect_defer.Increment();
      break;
    case reputation::Action::Drop:
      metrics_.verdicts_connect_drop.Increment();
      break;
    default:
      co_return true;
  }
  queue(reputation::reply_for(reputation::Stage::Connect, answer.action, answer.signal,
                              client_ip_, config_.reputation.postmaster_url));
  spdlog::info("refused session={} client={} stage=connect signal={} reason={}", id_, client_ip_,
               reputation::signal_name(answer.signal), common::escape(answer.reason));
  co_await flush();
  end_ = End::Refused;
  co_return false;
}

// delay_reject: a reject decided before RCPT is answered at each RCPT, so the log has the
// envelope.
std::optional<Reply> Session::postponed_refusal() {
  if (!verdict_.pending_reject()) return std::nullopt;
  const auto answer = verdict_.on_stage(reputation::Stage::Rcpt, {});
  if (answer.action != reputation::Action::Reject && answer.action != reputation::Action::Defer) {
    return std::nullopt;
  }
  metrics_.verdicts_rcpt_reject.Increment();
  return reputation::reply_for(reputation::Stage::Rcpt, answer.action, answer.signal, client_ip_,
                               config_.reputation.postmaster_url);
}

asio::awaitable<void> Session::run() {
  bool welcome = true;
  if (proxied_) {
    welcome = co_await accept_proxy();
  }
  if (welcome) {
    welcome = co_await screen();
  }
  if (!welcome) {
    io_->close();
    log_session();
    co_return;
  }
  queue(protocol_.greeting());
  // Braces and a named result: GCC 12 lays out the frame wrongly for an unbraced
  // `if (co_await a) co_await b;`.
  const bool greeted = co_await flush();
  if (greeted) {
    co_await command_loop();
  }
  abandon_transaction();
  if (end_ == End::Drained) {
    queue(Reply::make(421, "4.3.2",
                      fmt::format("{} Service shutting down, try again later",
                                  config_.server.hostname)));
    co_await io_->write(out_, kGoodbyeTimeout);
  }
  if (end_ != End::PeerClosed && end_ != End::IoError && end_ != End::TlsFailed) {
    co_await io_->shutdown_tls(kGoodbyeTimeout);
  }
  io_->close();
  log_session();
}

asio::awaitable<void> Session::command_loop() {
  for (;;) {
    auto frame = framer_.next(io_->buffered());
    if (frame.event == smtp::FrameEvent::NeedMore) {
      io_->consume(frame.consumed);
      if (!co_await flush()) co_return;
      if ((draining_ && !protocol_.in_transaction()) || forced_) {
        end_ = End::Drained;
        co_return;
      }
      idle_ = !protocol_.in_transaction();
      const bool more = co_await read_more(config_.server.command_timeout);
      idle_ = false;
      if (!more) co_return;
      continue;
    }
    Step step;
    if (frame.event == smtp::FrameEvent::Line) {
      step = protocol_.on_line(frame.line);  // the Step owns its data; the line may go now
      io_->consume(frame.consumed);
    } else {
      io_->consume(frame.consumed);
      if (frame.event != smtp::FrameEvent::TooLong) metrics_.bare_line_endings_command.Increment();
      step = protocol_.on_frame_error(frame.event);
    }
    const bool was_in_transaction = protocol_.in_transaction();
    const bool go_on = co_await carry_out(std::move(step));
    if (was_in_transaction && !protocol_.in_transaction() && txn_open_) abandon_transaction();
    if (!go_on) {
      co_await flush();
      co_return;
    }
  }
}

// Carries out a Step and the Steps it leads to, until one only needs a reply.
asio::awaitable<bool> Session::carry_out(Step step) {
  for (;;) {
    switch (step.kind) {
      case StepKind::Reply:
        queue(step.reply);
        co_return true;
      case StepKind::Close:
        if (step.reply.code == 0) co_return false;  // the session already said goodbye
        queue(step.reply);
        end_ = step.reply.code == 221 ? End::Quit : End::ErrorLimit;
        if (end_ == End::ErrorLimit) metrics_.session_errors_limit.Increment();
        co_return false;
      case StepKind::StartTls:
        co_return co_await start_tls(std::move(step.reply));
      case StepKind::Mail:
        txn_open_ = true;
        txn_id_ = make_id();
        txn_from_ = step.command.path.address();
        txn_rcpts_.clear();
        txn_started_ = std::chrono::steady_clock::now();
        relay_.mail(step.command);
        step = protocol_.mail_done(Reply::make(250, "2.1.0", "Ok"));
        continue;
      case StepKind::Rcpt: {
        if (auto refusal = postponed_refusal()) {
          step = protocol_.rcpt_done(std::move(*refusal));
          continue;
        }
        Reply reply = co_await relay_.rcpt(step.command.path);
        if (reply.positive()) {
          if (!txn_rcpts_.empty()) txn_rcpts_ += ',';
          txn_rcpts_ += step.command.path.address();
        }
        step = protocol_.rcpt_done(std::move(reply));
        continue;
      }
      case StepKind::Data: {
        Reply reply = co_await relay_.data();
        const bool go = reply.code == 354;
        step = protocol_.data_done(std::move(reply));
        if (!go || step.kind != StepKind::Reply) continue;
        queue(step.reply);
        step = co_await receive_data();
        continue;
      }
      case StepKind::Bdat:
        step = co_await receive_chunk(step.command);
        continue;
      case StepKind::DiscardChunk:
        if (!co_await discard_octets(step.command.chunk_size)) co_return false;
        queue(step.reply);
        co_return true;
    }
  }
}

asio::awaitable<bool> Session::start_tls(Reply ready) {
  // RFC 3207 §4.2 / CVE-2011-0411: commands pipelined behind STARTTLS would be read as if they
  // came over TLS. Refuse them outright.
  if (!io_->buffered().empty()) {
    metrics_.starttls_injection.Increment();
    queue(Reply::make(554, "5.5.1", "Error: plaintext pipelined behind STARTTLS"));
    end_ = End::Refused;
    co_return false;
  }
  queue(ready);
  if (!co_await flush()) co_return false;
  const auto status = co_await io_->handshake(*snapshot_->tls, config_.tls.handshake_timeout);
  if (status != IoStatus::Ok) {
    metrics_.tls_handshakes_failed.Increment();
    end_ = End::TlsFailed;
    spdlog::info("tls_failed session={} client={}", id_, client_ip_);
    co_return false;
  }
  (io_->tls_version() == "TLSv1.3" ? metrics_.tls_handshakes_tls13 : metrics_.tls_handshakes_tls12)
      .Increment();
  protocol_.tls_started();
  co_return true;
}

void Session::begin_content() {
  content_.clear();
  relay_ok_ = true;
  ReceivedInfo info;
  info.helo = protocol_.helo();
  info.client_ip = client_ip_;
  info.hostname = config_.server.hostname;
  info.esmtp = protocol_.esmtp();
  info.utf8 = protocol_.mail().smtputf8;
  info.tls_version = io_->tls_version();
  info.tls_cipher = io_->tls_cipher();
  info.id = txn_id_;
  if (protocol_.recipients() == 1) info.single_recipient = txn_rcpts_;
  info.when = std::chrono::system_clock::now();
  content_ = received_header(info);
}

// Hands buffered content to the relay once there is enough of it (or at the end).
asio::awaitable<bool> Session::feed_relay(bool force) {
  if (!relay_ok_ || decoder_->error() != smtp::DataError::None) {
    content_.clear();
    co_return relay_ok_;
  }
  if (content_.empty() || (!force && content_.size() < kRelayChunk)) co_return true;
  relay_ok_ = co_await relay_.content(content_);
  content_.clear();
  co_return relay_ok_;
}

asio::awaitable<Step> Session::receive_data() {
  if (!co_await flush()) co_return Step{StepKind::Close, {}, {}};
  decoder_.emplace(smtp::DataDecoder::Mode::Dot, config_.server.max_message_size,
                   snapshot_->line_endings);
  begin_content();
  for (;;) {
    if (io_->buffered().empty() && !co_await read_more(config_.server.data_timeout)) {
      co_return Step{StepKind::Close, {}, {}};
    }
    const auto result = decoder_->feed(io_->buffered(), content_);
    io_->consume(result.consumed);
    co_await feed_relay(result.done);
    if (result.done) break;
  }
  metrics_.received_bytes.Increment(static_cast<double>(decoder_->size()));
  Reply final_reply;
  if (decoder_->error() != smtp::DataError::None) {
    relay_.abort();
    final_reply = content_error_reply(decoder_->error());
  } else {
    final_reply = co_await relay_.end();
  }
  finish_transaction(final_reply);
  co_return protocol_.message_done(std::move(final_reply));
}

asio::awaitable<Step> Session::receive_chunk(const smtp::Command& bdat) {
  if (!chunking_ || !txn_open_) {
    chunking_ = false;
    Reply reply = co_await relay_.data();
    if (reply.code != 354) {
      if (!co_await discard_octets(bdat.chunk_size)) co_return Step{StepKind::Close, {}, {}};
      finish_transaction(reply);
      co_return bdat.last_chunk ? protocol_.message_done(reply) : protocol_.bdat_done(reply);
    }
    decoder_.emplace(smtp::DataDecoder::Mode::Chunked, config_.server.max_message_size,
                     snapshot_->line_endings);
    begin_content();
    chunking_ = true;
  }
  std::uint64_t left = bdat.chunk_size;
  while (left > 0) {
    if (io_->buffered().empty() && !co_await read_more(config_.server.data_timeout)) {
      co_return Step{StepKind::Close, {}, {}};
    }
    auto piece = io_->buffered().substr(0, std::min<std::uint64_t>(left, io_->buffered().size()));
    decoder_->feed(piece, content_);
    io_->consume(piece.size());
    left -= piece.size();
    co_await feed_relay(false);
  }
  if (decoder_->error() != smtp::DataError::None) {
    // Refuse at once; RFC 3030 lets the client see the error on this chunk.
    relay_.abort();
    Reply reply = content_error_reply(decoder_->error());
    chunking_ = false;
    finish_transaction(reply);
    co_return bdat.last_chunk ? protocol_.message_done(reply) : protocol_.bdat_done(reply);
  }
  if (!bdat.last_chunk) {
    co_await feed_relay(false);
    co_return protocol_.bdat_done(
        Reply::make(250, "2.0.0", fmt::format("{} octets received", bdat.chunk_size)));
  }
  decoder_->finish(content_);
  co_await feed_relay(true);
  metrics_.received_bytes.Increment(static_cast<double>(decoder_->size()));
  chunking_ = false;
  Reply final_reply = co_await relay_.end();
  finish_transaction(final_reply);
  co_return protocol_.message_done(std::move(final_reply));
}

asio::awaitable<bool> Session::discard_octets(std::uint64_t count) {
  while (count > 0) {
    if (io_->buffered().empty() && !co_await read_more(config_.server.data_timeout)) {
      co_return false;
    }
    const auto n = std::min<std::uint64_t>(count, io_->buffered().size());
    io_->consume(n);
    count -= n;
  }
  co_return true;
}

Reply Session::content_error_reply(smtp::DataError error) {
  if (error == smtp::DataError::BareLineEnding) metrics_.bare_line_endings_data.Increment();
  return smtp::data_error_reply(error);
}

asio::awaitable<bool> Session::read_more(conf::Duration timeout) {
  if (forced_) co_return false;
  const auto status = co_await io_->read_more(timeout);
  switch (status) {
    case IoStatus::Ok:
      co_return true;
    case IoStatus::Timeout:
      metrics_.session_timeouts.Increment();
      end_ = End::Timeout;
      queue(Reply::make(421, "4.4.2", fmt::format("{} Error: timeout exceeded", config_.server.hostname)));
      co_await io_->write(out_, kGoodbyeTimeout);
      out_.clear();
      co_return false;
    case IoStatus::Cancelled:
      end_ = End::Drained;
      co_return false;
    case IoStatus::Closed:
      end_ = End::PeerClosed;
      co_return false;
    case IoStatus::Error:
      end_ = End::IoError;
      co_return false;
  }
  co_return false;
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  const auto status = co_await io_->write(out_, config_.server.command_timeout);
  out_.clear();
  if (status == IoStatus::Ok) co_return true;
  end_ = status == IoStatus::Timeout ? End::Timeout : End::PeerClosed;
  co_return false;
}

void Session::queue(const Reply& reply) {
  if (reply.code == 0) return;
  metrics_.count_reply(reply.code);
  reply.append_wire(out_);
}

std::string Session::transaction_line() const {
  std::string line = "transaction";
  common::append_kv(line, "id", txn_id_);
  common::append_kv(line, "session", id_);
  common::append_kv(line, "client", client_ip_);
  common::append_kv(line, "helo", protocol_.helo());
  common::append_kv(line, "tls", io_->tls() ? io_->tls_version() : "no");
  common::append_kv(line, "from", txn_from_);
  common::append_kv(line, "rcpts", txn_rcpts_);
  return line;
}

void Session::finish_transaction(const Reply& final_reply) {
  if (!txn_open_) return;
  txn_open_ = false;
  ++transactions_;
  if (final_reply.positive()) {
    metrics_.transactions_accepted.Increment();
  } else if (final_reply.transient()) {
    metrics_.transactions_deferred.Increment();
  } else {
    metrics_.transactions_rejected.Increment();
  }
  std::string line = transaction_line();
  common::append_kv(line, "size", std::to_string(decoder_ ? decoder_->size() : 0));
  common::append_kv(line, "reply", fmt::format("{} {}", final_reply.code, final_reply.enhanced));
  common::append_kv(line, "text", final_reply.text());
  common::append_kv(line, "duration", fmt::format("{:.3f}", seconds_since(txn_started_)));
  spdlog::info("{}", line);
}

void Session::abandon_transaction() {
  relay_.abort();
  chunking_ = false;
  if (!txn_open_) return;
  txn_open_ = false;
  metrics_.transactions_aborted.Increment();
  std::string line = transaction_line();
  common::append_kv(line, "result", "aborted");
  spdlog::info("{}", line);
}

void Session::log_session() const {
  static constexpr const char* kEnds[] = {"quit",    "peer_closed", "timeout",    "error_limit",
                                          "drained", "io_error",    "tls_failed", "refused"};
  std::string line = "session";
  common::append_kv(line, "id", id_);
  common::append_kv(line, "client", client_ip_);
  common::append_kv(line, "helo", protocol_.helo());
  common::append_kv(line, "tls", io_->tls() ? io_->tls_version() : "no");
  common::append_kv(line, "transactions", std::to_string(transactions_));
  common::append_kv(line, "errors", std::to_string(protocol_.errors()));
  common::append_kv(line, "end", kEnds[static_cast<int>(end_)]);
  common::append_kv(line, "duration", fmt::format("{:.3f}", seconds_since(started_)));
  spdlog::info("{}", line);
}

namespace {

// Keeps the worker's list of sessions exact however the session ends.
class Registration {
 public:
  Registration(Worker& worker, Session& session) : worker_(worker), session_(session) {
    worker_.add(&session_);
  }
  ~Registration() { worker_.remove(&session_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Worker& worker_;
  Session& session_;
};

}  // namespace

// No try/catch around co_await here: GCC 12 mishandles temporaries of a co_await inside a try
// block. Exceptions reach the co_spawn completion handler in Worker::accept_loop instead.
asio::awaitable<void> run_session(Worker& worker, asio::ip::tcp::socket socket,
                                  ConnectionLimiter::Ticket ticket, bool proxied) {
  auto session =
      std::make_unique<Session>(worker, std::move(socket), std::move(ticket), proxied);
  Registration registration(worker, *session);
  co_await session->run();
}

void drain(Session& session) { session.drain(); }
void force_close(Session& session) { session.force_close(); }

}  // namespace mxgate::server
