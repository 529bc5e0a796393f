// Message content: DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030), decoded by smtp::DataDecoder.
// A message that is not judged (a trusted client, or [auth] and [content] both off) streams to
// the relay behind the Received header (and the quarantine mark). A judged one goes through the
// DKIM/DMARC scanner and the content parser into held_ (content::HeldContent: memory_per_session
// in memory, taken from the process-wide [content] memory_budget in steps, the rest spilled to
// <storage.path>/tmp) until the end-of-data checks decided; then the trace fields and the held
// content go to the relay (to the quarantine route when the end of data quarantined it). The
// relay is released at DATA/BDAT (relay::Transaction::release()): while the client sends a held
// message no downstream connection waits for it, and the 354 is the relay's own; the envelope
// goes downstream again with the content, and a refusal there is the end of data's 451. No room
// in the budget for a new message: 451 4.3.1 to DATA/BDAT. No disk to spill to: 451 4.3.1 at the
// end of data, and nothing is relayed. With content filters ([[milter]]) the held message also
// streams to them as it arrives (header section, then body pieces), so they work while the
// client sends; their verdict and changes come at the end of data.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <utility>

#include "server/session.hpp"
#include "smtp/received.hpp"
#include "milter/header_edit.hpp"
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

// Whether the next message is judged and so held until its end of data; if so, its first
// step of memory. false: the budget is used up and the message must not begin.
bool Session::start_holding() {
  // The filters see the whole message before it goes anywhere (and may change it).
  holding_ = policy_.authenticating() || policy_.judging_content() || filters_ != nullptr;
  if (!holding_) return true;
  if (held_.begin()) {
    account_held();
    return true;
  }
  holding_ = false;
  return false;
}

// 451 4.3.1 to DATA or BDAT: held content already takes all of [content] memory_budget.
Reply Session::budget_refusal() {
  metrics_.held_content_refusals.Increment();
  Reply reply = smtp::replies::insufficient_resources();
  log_refusal("data", reply, "limit", "content.memory_budget");
  return reply;
}

void Session::begin_content() {
  content_.clear();
  decoded_.clear();
  relay_ok_ = true;
  scanner_ = policy_.authenticating() ? policy_.make_scanner() : nullptr;
  parser_ = policy_.judging_content() ? policy_.make_parser(protocol_.mail().smtputf8) : nullptr;
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
  if (holding_) {
    trace_ = smtp::received_header(info);
    if (filters_) begin_filtering();
    return;
  }
  content_ = smtp::received_header(info);
  if (policy_.quarantined()) content_ += policy_.quarantine_header();
}

// The filters start a new message: so far they saw nothing of it.
void Session::begin_filtering() {
  filtered_ = milter::Verdict{};
  filtered_head_ = trace_;
  to_filters_.clear();
  held_header_size_ = 0;
  filter_header_done_ = false;
  filter_refusal_.reset();
  macros_["i"] = txn_id_;
}

// Keeps the held-content metrics in step with held_ (one comparison per piece; the gauge moves
// only when a step of memory is taken or given back).
void Session::account_held() {
  const auto memory = held_.memory_bytes();
  if (memory != held_memory_) {
    metrics_.held_content_bytes.Increment(static_cast<double>(memory) -
                                          static_cast<double>(held_memory_));
    held_memory_ = memory;
  }
  const auto spilled = held_.spilled_bytes();
  if (spilled > held_spilled_) {
    if (held_spilled_ == 0) metrics_.held_content_spills.Increment();
    metrics_.held_content_spilled_bytes.Increment(static_cast<double>(spilled - held_spilled_));
  }
  held_spilled_ = spilled;
}

// A piece of the judged message (after the scanner): to the content parser and into held_.
void Session::hold(std::string_view piece) {
  if (parser_) parser_->feed(piece);
  if (filters_ && !filter_refusal_) to_filters_.append(piece);
  if (piece.empty() || held_.failed()) return;
  if (!held_.append(piece)) warn_held_failure();
  account_held();
}

void Session::warn_held_failure() const {
  spdlog::warn("held_content_failed session={} error=\"{} {}\"", id_, held_.error_context(),
               held_.error().message());
}

void Session::release_held() {
  held_.clear();
  account_held();
  holding_ = false;
  scanner_.reset();
  parser_.reset();
}

// Passes what the decoder produced through the scanner and the parser into the held content;
// once the header section ended, the DKIM key and DMARC lookups start (they run while the body
// streams in).
void Session::scan_decoded(const asio::any_io_executor& executor) {
  if (!holding_) return;
  std::string_view piece = decoded_;
  if (scanner_) {
    scanned_.clear();
    scanner_->feed(decoded_, scanned_);
    piece = scanned_;
  }
  hold(piece);
  decoded_.clear();
  if (scanner_ && !prefetched_ && scanner_->header_done()) {
    prefetched_ = true;
    policy_.prefetch(executor, *scanner_);
  }
}

// The end of a held message: the end-of-data checks, then the trace fields and the held
// content go to the relay (to the quarantine route when the message was quarantined). A reply:
// the message is refused (the relay is aborted).
asio::awaitable<std::optional<Reply>> Session::end_content() {
  if (!holding_ || decoder_->error() != smtp::DataError::None) co_return std::nullopt;
  if (scanner_) {
    scanned_.clear();
    scanner_->finish(scanned_);
    hold(scanned_);
  }
  if (parser_) parser_->finish();
  if (held_.failed()) {
    // Part of the message is lost (no disk to spill to): never relay the rest.
    relay_->abort();
    Reply reply = smtp::replies::insufficient_resources();
    log_refusal("data", reply, "limit", "content.memory_per_session");
    co_return reply;
  }
  auto refusal = co_await policy_.end_of_data(scanner_, parser_);
  if (!refusal && filters_) refusal = co_await filter_end();
  if (refusal) {
    relay_->abort();
    release_held();
    closing_ = refusal->close;
    co_return std::move(refusal->reply);
  }
  if (filtered_.kind == milter::Answer::Kind::Discard) {
    // Accepted and dropped, as the filter asked (Postfix's milter-discard).
    relay_->abort();
    release_held();
    log_refusal("data", smtp::replies::discarded(), "milter:" + filtered_.filter,
                "discarded by the filter");
    co_return smtp::replies::discarded();
  }
  co_await send_held();
  co_return std::nullopt;
}

// What was held since the last call goes to the filters as the message arrives: the header
// section (our Received field first) once it ended, or grew past auth.max_header_size, then the
// body in pieces of about kRelayChunk; `end`: the rest. A refusal on the way stops the stream
// and is the answer at the end of data.
asio::awaitable<void> Session::stream_to_filters(bool end) {
  if (!filters_ || filter_refusal_ || decoder_->error() != smtp::DataError::None) {
    to_filters_.clear();
    co_return;
  }
  if (!filter_header_done_) {
    const std::size_t ours = trace_.size();  // the client's header follows
    const std::size_t before = filtered_head_.size();
    filtered_head_ += to_filters_;
    to_filters_.clear();
    // The header ends at the first empty line; the search starts inside our CRLF for a
    // message whose header is empty.
    const auto blank = filtered_head_.find("\r\n\r\n", std::max(before, ours + 1) - 3);
    const bool too_long = filtered_head_.size() - ours > config_.auth.max_header_size;
    if (blank == std::string::npos && !too_long && !end) co_return;
    const std::size_t head = blank == std::string::npos ? filtered_head_.size() : blank + 4;
    to_filters_.assign(filtered_head_, head);
    filtered_head_.resize(head);
    held_header_size_ = head - ours;
    filter_header_done_ = true;
    const auto verdict = co_await filters_->header(filtered_head_, macros_);
    if (verdict.kind != milter::Answer::Kind::Continue) {
      filter_refusal_ = policy_.filter_verdict(reputation::Stage::EndOfData, verdict);
      to_filters_.clear();
      co_return;
    }
  }
  if (to_filters_.empty() || (!end && to_filters_.size() < kRelayChunk)) co_return;
  const auto verdict = co_await filters_->body(to_filters_);
  to_filters_.clear();
  if (verdict.kind != milter::Answer::Kind::Continue) {
    filter_refusal_ = policy_.filter_verdict(reputation::Stage::EndOfData, verdict);
  }
}

// The end of the message for the filters: the rest of it, then their verdict and changes.
asio::awaitable<std::optional<policy::Refusal>> Session::filter_end() {
  co_await stream_to_filters(true);
  if (filter_refusal_) co_return std::exchange(filter_refusal_, std::nullopt);
  filtered_ = co_await filters_->end_of_body(macros_);
  co_return policy_.filter_verdict(reputation::Stage::EndOfData, filtered_);
}

// The trace fields, then the held content in pieces, to the relay. With filters: the header
// they saw with their changes applied, then their new body or the held one.
asio::awaitable<void> Session::send_held() {
  std::string head;
  std::uint64_t skip = 0;  // held bytes already in `head`
  if (filters_) {
    // The filters saw our Received field and the client's header; our verdicts, decided at
    // the end of data, go right after that Received field.
    head = milter::apply_header_changes(filtered_head_, filtered_.header_changes);
    std::string verdicts = policy_.auth_header();
    if (policy_.quarantined()) verdicts += policy_.quarantine_header();
    head.insert(head.starts_with(trace_) ? trace_.size() : 0, verdicts);
    if (filtered_.quarantine) head.insert(0, filter_quarantine_header(*filtered_.quarantine));
    skip = held_header_size_;
    filtered_head_.clear();
  } else {
    head = std::move(trace_);
    head += policy_.auth_header();
    if (policy_.quarantined()) head += policy_.quarantine_header();
  }
  // Quarantined at the end of data: the message goes to the quarantine route, if any.
  if (relay_ok_ && (policy_.quarantined() || filtered_.quarantine)) {
    relay_ok_ = co_await relay_->reroute_to_quarantine();
  }
  if (relay_ok_) relay_ok_ = co_await relay_->content(head);
  if (filtered_.new_body) {
    if (relay_ok_) relay_ok_ = co_await relay_->content(milter::crlf_body(*filtered_.new_body));
  } else {
    auto cursor = held_.read(kRelayChunk);
    while (relay_ok_) {
      auto piece = cursor.next();
      if (!piece) break;
      const auto drop = std::min<std::uint64_t>(skip, piece->size());
      skip -= drop;
      piece->remove_prefix(static_cast<std::size_t>(drop));
      if (!piece->empty()) relay_ok_ = co_await relay_->content(*piece);
    }
  }
  filtered_ = milter::Verdict{};
  if (held_.failed()) {  // the spill file could not be read back
    warn_held_failure();
    relay_->abort();
  }
  release_held();
}

// The mark of a message a filter quarantined, like the policy's (quarantine_header()).
std::string Session::filter_quarantine_header(std::string reason) const {
  for (char& c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"') c = ' ';
  }
  return config_.reputation.quarantine_header + ": source=milter; session=" + id_ +
         "; reason=\"" + reason + "\"\r\n";
}

// Hands buffered content to the relay once there is enough of it (or at the end). Held
// content waits for end_content().
asio::awaitable<bool> Session::feed_relay(bool force) {
  if (!relay_ok_ || decoder_->error() != smtp::DataError::None) {
    content_.clear();
    co_return relay_ok_;
  }
  if (holding_) co_return true;
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
  auto budget = content_budget();
  for (;;) {
    if (io_->buffered().empty() && !co_await read_more(budget)) {
      co_return Step{StepKind::Close, {}, {}};
    }
    const auto result = decode(io_->buffered());
    io_->consume(result.consumed);
    scan_decoded(executor);
    co_await stream_to_filters(false);
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
    const bool room = start_holding();
    Reply reply;
    if (room) {
      if (holding_) relay_->release();
      reply = co_await relay_->data();
    } else {
      reply = budget_refusal();
    }
    if (reply.code != 354) {
      if (room) log_refusal("data", reply, "relay", reply.text());
      release_held();
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
  auto budget = content_budget();
  while (left > 0) {
    if (io_->buffered().empty() && !co_await read_more(budget)) {
      co_return Step{StepKind::Close, {}, {}};
    }
    auto piece = io_->buffered().substr(0, std::min<std::uint64_t>(left, io_->buffered().size()));
    decode(piece);
    io_->consume(piece.size());
    left -= piece.size();
    scan_decoded(executor);
    co_await stream_to_filters(false);
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
  auto budget = content_budget();
  while (count > 0) {
    if (io_->buffered().empty() && !co_await read_more(budget)) {
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
  log_delivered(reply);
  co_return reply;
}

smtp::DataDecoder::Result Session::decode(std::string_view input) {
  std::string& out = decoder_output();
  const std::size_t before = out.size();
  const auto result = decoder_->feed(input, out);
  message_id_.feed(std::string_view(out).substr(before));
  return result;
}

}  // namespace mxgate::server
