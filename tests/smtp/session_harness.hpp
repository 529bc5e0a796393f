// Test harness: a whole SMTP server session without sockets. Client bytes go through
// LineFramer -> ServerProtocol -> DataDecoder exactly as the server's session coroutine drives
// them; a fake answers the Mail/Rcpt/Data/Bdat steps. Records the reply stream (the transcript)
// and the messages accepted, so a test can compare them for every split of the input.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/data_decoder.hpp"
#include "smtp/line_framer.hpp"
#include "smtp/server_protocol.hpp"

namespace mxgate::smtp::testing {

// The fake's decisions: addresses whose local part is "reject" get 550, "tempfail" 451.
struct FakeBackend {
  int data_code = 354;   // what DATA gets
  int chunk_code = 250;  // what a non-LAST BDAT chunk gets

  Reply mail(const Command& c) const { return decide(c, Reply::make(250, "2.1.0", "Ok")); }
  Reply rcpt(const Command& c) const { return decide(c, Reply::make(250, "2.1.5", "Ok")); }
  Reply data() const {
    if (data_code == 354) return Reply::make(354, "", "End data with <CR><LF>.<CR><LF>");
    return Reply::make(data_code, data_code < 500 ? "4.3.0" : "5.3.0", "Not now");
  }
  Reply chunk(std::uint64_t size) const {
    if (chunk_code != 250) return Reply::make(chunk_code, "4.3.0", "Chunk failed");
    return Reply::make(250, "2.0.0", "Ok: " + std::to_string(size) + " octets");
  }
  static Reply decide(const Command& c, Reply ok) {
    if (c.path.local_part == "reject") return Reply::make(550, "5.7.1", "Refused");
    if (c.path.local_part == "tempfail") return Reply::make(451, "4.3.0", "Try later");
    return ok;
  }
};

class SessionHarness {
 public:
  explicit SessionHarness(ServerOptions options, LineEndings policy = LineEndings::Reject,
                          FakeBackend backend = {})
      : options_(options), policy_(policy), backend_(backend), protocol_(options), framer_(policy) {
    send(protocol_.greeting());
  }

  void feed(std::string_view bytes) {
    buffer_.append(bytes);
    while (!closed_ && step()) {
    }
  }

  const std::string& transcript() const { return transcript_; }
  // "220 | 250 | 503 5.5.1": each reply's code and enhanced code.
  std::string codes() const {
    std::string out;
    for (const std::string& c : codes_) out += (out.empty() ? "" : " | ") + c;
    return out;
  }
  const std::vector<std::string>& messages() const { return messages_; }
  bool closed() const { return closed_; }
  const ServerProtocol& protocol() const { return protocol_; }

 private:
  enum class Mode { Command, Data, Chunk, Discard };

  bool step() {
    switch (mode_) {
      case Mode::Command:
        return command();
      case Mode::Data:
        return data();
      case Mode::Chunk:
      case Mode::Discard:
        return chunk();
    }
    return false;
  }

  bool command() {
    const FrameResult r = framer_.next(buffer_);
    const std::string line(r.line);
    buffer_.erase(0, r.consumed);
    if (r.event == FrameEvent::NeedMore) return false;
    handle(r.event == FrameEvent::Line ? protocol_.on_line(line)
                                       : protocol_.on_frame_error(r.event));
    return true;
  }

  bool data() {
    const DataDecoder::Result r = decoder_->feed(buffer_, content_);
    buffer_.erase(0, r.consumed);
    if (!r.done) return false;
    mode_ = Mode::Command;
    end_message();
    return true;
  }

  bool chunk() {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buffer_.size()));
    if (mode_ == Mode::Chunk) decoder_->feed(std::string_view(buffer_).substr(0, n), content_);
    buffer_.erase(0, n);
    remaining_ -= n;
    if (remaining_ > 0) return false;
    const Mode mode = mode_;
    mode_ = Mode::Command;
    if (mode == Mode::Discard) {
      deferred_.kind = StepKind::Reply;  // the chunk is gone; now its reply goes out
      handle(std::move(deferred_));
    } else if (last_chunk_) {
      decoder_->finish(content_);
      end_message();
    } else {
      handle(protocol_.bdat_done(backend_.chunk(chunk_size_)));
    }
    return true;
  }

  void end_message() {
    Reply reply = data_error_reply(decoder_->error());
    if (reply.code == 0) {
      reply = Reply::make(250, "2.0.0", "Ok: queued");
      messages_.push_back(content_);
    }
    decoder_.reset();
    content_.clear();
    handle(protocol_.message_done(std::move(reply)));
  }

  void handle(Step s) {
    switch (s.kind) {
      case StepKind::Reply:
        send(s.reply);
        break;
      case StepKind::Close:
        send(s.reply);
        closed_ = true;
        break;
      case StepKind::StartTls:
        send(s.reply);
        protocol_.tls_started();  // the handshake "succeeds"; a new stream, a new framer
        framer_ = LineFramer(policy_);
        break;
      case StepKind::Helo:
        handle(protocol_.helo_done(Reply{}));  // the harness's policy accepts every name
        break;
      case StepKind::Mail:
        handle(protocol_.mail_done(backend_.mail(s.command)));
        break;
      case StepKind::Rcpt:
        handle(protocol_.rcpt_done(backend_.rcpt(s.command)));
        break;
      case StepKind::Data: {
        Step next = protocol_.data_done(backend_.data());
        if (next.reply.code == 354) {
          decoder_ = std::make_unique<DataDecoder>(DataDecoder::Mode::Dot,
                                                   options_.max_message_size, policy_);
          mode_ = Mode::Data;
        }
        handle(std::move(next));
        break;
      }
      case StepKind::Bdat:
        if (!decoder_) {
          decoder_ = std::make_unique<DataDecoder>(DataDecoder::Mode::Chunked,
                                                   options_.max_message_size, policy_);
        }
        start_chunk(Mode::Chunk, s);
        break;
      case StepKind::DiscardChunk:
        start_chunk(Mode::Discard, s);
        break;
    }
    if (!protocol_.in_transaction() && mode_ == Mode::Command) {
      decoder_.reset();
      content_.clear();
    }
  }

  void start_chunk(Mode mode, Step& s) {
    mode_ = mode;
    remaining_ = chunk_size_ = s.command.chunk_size;
    last_chunk_ = s.command.last_chunk;
    deferred_ = std::move(s);
  }

  void send(const Reply& reply) {
    reply.append_wire(transcript_);
    codes_.push_back(std::to_string(reply.code) +
                     (reply.enhanced.empty() ? "" : " " + reply.enhanced));
  }

  ServerOptions options_;
  LineEndings policy_;
  FakeBackend backend_;
  ServerProtocol protocol_;
  LineFramer framer_;
  std::string buffer_;
  Mode mode_ = Mode::Command;
  std::unique_ptr<DataDecoder> decoder_;
  std::string content_;
  std::uint64_t remaining_ = 0;
  std::uint64_t chunk_size_ = 0;
  bool last_chunk_ = false;
  Step deferred_;
  bool closed_ = false;
  std::string transcript_;
  std::vector<std::string> codes_;
  std::vector<std::string> messages_;
};

}  // namespace mxgate::smtp::testing
