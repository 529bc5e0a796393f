// Message content: DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030), decoded by smtp::DataDecoder
// and streamed to the relay behind the Received header (and the quarantine mark).
#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>

#include "server/session.hpp"
#include "smtp/received.hpp"
#include "smtp/replies.hpp"

namespace mxgate::server {

namespace asio = boost::asio;
using smtp::Reply;
using smtp::Step;
using smtp::StepKind;

namespace {

// Content is handed to the relay in pieces of about this size: large enough to make few
// writes, small enough to stream.
constexpr std::size_t kRelayChunk = 64 * 1024;

}  // namespace

void Session::begin_content() {
  content_.clear();
  decoded_.clear();
  relay_ok_ = true;
  scanner_ = policy_.authenticating() ? policy_.make_scanner() : nullptr;
  prefetched_ = false;
  smtp::ReceivedInfo info;
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
  if (scanner_) {
    trace_ = smtp::received_header(info);
    return;
  }
  content_ = smtp::received_header(info);
  if (policy_.quarantined()) content_ += policy_.quarantine_header();
}

// Passes what the decoder produced through the scanner; once the header section ended, the
// DKIM key and DMARC lookups start (they run while the body streams in).
void Session::scan_decoded(const asio::any_io_executor& executor) {
  if (!scanner_) return;
  scanner_->feed(decoded_, content_);
  decoded_.clear();
  if (!prefetched_ && scanner_->header_done()) {
    prefetched_ = true;
    policy_.prefetch(executor, *scanner_);
  }
}

// The end of an authenticated message: the end-of-data checks, then the trace fields and the
// held content go to the relay. A reply: the message is refused (the relay is aborted).
asio::awaitable<std::optional<Reply>> Session::end_content() {
  if (!scanner_ || decoder_->error() != smtp::DataError::None) co_return std::nullopt;
  scanner_->finish(content_);
  auto refusal = co_await policy_.end_of_data(scanner_);
  if (refusal) {
    relay_->abort();
    content_.clear();
    closing_ = refusal->close;
    co_return std::move(refusal->reply);
  }
  std::string head = std::move(trace_);
  head += policy_.auth_header();
  if (policy_.quarantined()) head += policy_.quarantine_header();
  if (relay_ok_) relay_ok_ = co_await relay_->content(head);
  if (relay_ok_) relay_ok_ = co_await relay_->content(content_);
  content_.clear();
  co_return std::nullopt;
}

// Hands buffered content to the relay once there is enough of it (or at the end). Held while
// authenticating (end_content() sends it).
asio::awaitable<bool> Session::feed_relay(bool force) {
  if (!relay_ok_ || decoder_->error() != smtp::DataError::None) {
    content_.clear();
    co_return relay_ok_;
  }
  if (scanner_) co_return true;
  if (content_.empty() || (!force && content_.size() < kRelayChunk)) co_return true;
  relay_ok_ = co_await relay_->content(content_);
  content_.clear();
  co_return relay_ok_;
}

asio::awaitable<Step> Session::receive_data() {
  if (!co_await flush()) co_return Step{StepKind::Close, {}, {}};
  decoder_.emplace(smtp::DataDecoder::Mode::Dot, config_.server.max_message_size,
                   snapshot_->line_endings);
  begin_content();
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    if (io_->buffered().empty() && !co_await read_more(config_.server.data_timeout)) {
      co_return Step{StepKind::Close, {}, {}};
    }
    const auto result = decoder_->feed(io_->buffered(), decoder_output());
    io_->consume(result.consumed);
    scan_decoded(executor);
    co_await feed_relay(result.done);
    if (result.done) break;
  }
  metrics_.received_bytes.Increment(static_cast<double>(decoder_->size()));
  Reply final_reply;
  if (decoder_->error() != smtp::DataError::None) {
    relay_->abort();
    final_reply = content_error_reply(decoder_->error());
  } else {
    auto refused = co_await end_content();
    if (refused) {
      final_reply = std::move(*refused);
    } else {
      final_reply = co_await relay_end();
    }
  }
  finish_transaction(final_reply);
  co_return protocol_.message_done(std::move(final_reply));
}

asio::awaitable<Step> Session::receive_chunk(const smtp::Command& bdat) {
  if (!chunking_ || !txn_open_) {
    chunking_ = false;
    Reply reply = co_await relay_->data();
    if (reply.code != 354) {
      log_refusal("data", reply, "relay", reply.text());
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
  const auto executor = co_await asio::this_coro::executor;
  while (left > 0) {
    if (io_->buffered().empty() && !co_await read_more(config_.server.data_timeout)) {
      co_return Step{StepKind::Close, {}, {}};
    }
    auto piece = io_->buffered().substr(0, std::min<std::uint64_t>(left, io_->buffered().size()));
    decoder_->feed(piece, decoder_output());
    io_->consume(piece.size());
    left -= piece.size();
    scan_decoded(executor);
    co_await feed_relay(false);
  }
  if (decoder_->error() != smtp::DataError::None) {
    // Refuse at once; RFC 3030 lets the client see the error on this chunk.
    relay_->abort();
    Reply reply = content_error_reply(decoder_->error());
    chunking_ = false;
    finish_transaction(reply);
    co_return bdat.last_chunk ? protocol_.message_done(reply) : protocol_.bdat_done(reply);
  }
  if (!bdat.last_chunk) {
    co_await feed_relay(false);
    co_return protocol_.bdat_done(smtp::replies::chunk_received(bdat.chunk_size));
  }
  decoder_->finish(decoder_output());
  scan_decoded(executor);
  co_await feed_relay(true);
  metrics_.received_bytes.Increment(static_cast<double>(decoder_->size()));
  chunking_ = false;
  auto refused = co_await end_content();
  Reply final_reply;
  if (refused) {
    final_reply = std::move(*refused);
  } else {
    final_reply = co_await relay_end();
  }
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
  Reply reply = smtp::data_error_reply(error);
  if (error == smtp::DataError::TooBig) {
    log_refusal("data", reply, "limit", "server.max_message_size");
  } else {
    log_refusal("data", reply, "content", reply.text());
  }
  return reply;
}

// The relay's answer to the message (the downstream's in inline mode, the spool's in queue
// mode).
asio::awaitable<Reply> Session::relay_end() {
  Reply reply = co_await relay_->end();
  if (!reply.positive()) log_refusal("data", reply, "relay", reply.text());
  co_return reply;
}

}  // namespace mxgate::server
