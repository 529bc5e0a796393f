// MessageParser (message_parser.hpp): the line machine. Input is cut into lines (memchr for the
// line feed; a line split across pieces waits in one bounded buffer), each line goes to the
// entity being read: its header section, or its body (skipped, decoded and scanned for URLs,
// or watched for delimiters). Multipart levels and nested messages form a stack bounded by
// max_depth; a delimiter line of any open multipart ends whatever is inside it.
#include "content/message_parser.hpp"

#include <algorithm>
#include <cstring>

#include "content/charset.hpp"
#include "content/finding_list.hpp"
#include "content/header_section.hpp"
#include "content/mime.hpp"
#include "content/transfer_decoding.hpp"
#include "content/uri_extract.hpp"

namespace mxgate::content {
namespace {

// A line shorter than this is always inspected whole, whatever max_line_length says, so that
// delimiter lines (up to kMaxBoundary + 4) and RFC 5322 lines (998) are never cut.
constexpr std::size_t kMinLineLength = 1000;

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

HeaderBounds header_bounds(const ParseOptions& options, std::size_t max_line) {
  return HeaderBounds{.max_fields = options.limits.max_header_fields,
                      .max_field_bytes = max_line,
                      .max_kept_bytes = options.limits.max_header_bytes,
                      .smtputf8 = options.smtputf8};
}

}  // namespace

struct MessageParser::State {
  explicit State(ParseOptions o)
      : options(o),
        max_line(std::max(o.limits.max_line_length, kMinLineLength)),
        top(header_bounds(o, max_line), findings),
        part(header_bounds(o, max_line), findings),
        uris(o.limits.max_uri_domains) {
    top.start(true, "the message");
  }

  // A multipart level, or a message/rfc822 part's nested message.
  struct Frame {
    bool multipart = false;
    bool digest = false;  // multipart/digest: parts default to message/rfc822 (RFC 2046 §5.1.5)
    std::string boundary;
    std::string path;  // the part that owns this level: "" for the message, "2.1"
    std::size_t children = 0;
    bool seen = false;    // a delimiter line came
    bool closed = false;  // the closing delimiter came: the rest is epilogue
  };

  enum class Body { Skip, Text };

  void feed(std::string_view chunk);
  void finish();
  void line(std::string_view text, bool cut);
  bool delimiter(std::string_view text);
  void start_part(Frame& parent);
  void begin_body();
  void begin_leaf(const ContentType& ct, TransferEncoding cte);
  bool push_frame(Frame frame);
  void end_entity();
  void close_frame(const Frame& frame);
  void body_line(std::string_view text);
  void text_line(std::string_view text);
  void check_base64();
  void drain_text(bool line_end);
  void scan_text(std::string_view text);
  std::string where(const std::string& at) const {
    return at.empty() ? "the message" : "part " + at;
  }

  ParseOptions options;
  std::size_t max_line;
  FindingList findings;
  HeaderSection top;
  HeaderSection part;
  UriCollector uris;

  std::string pending;       // the start of a line split across pieces (<= max_line + 1)
  bool pending_cut = false;  // that line went past the bound: the rest of it is dropped
  bool finished = false;
  bool header_done = false;

  std::vector<Frame> frames;
  bool in_header = true;
  bool top_level = true;  // the entity being read is the message itself
  std::string path;       // of the entity being read
  Body body = Body::Skip;
  TransferEncoding cte = TransferEncoding::SevenBit;
  Charset charset = Charset::Ascii;
  bool html = false;
  bool base64_check = false;  // a skipped part in base64: decoded only to see that it decodes
  Base64Decoder base64;
  std::string text_buf;        // decoded text waiting for its line end (bounded by max_line)
  bool text_cut = false;       // the text line went past max_line: skip to its end
  std::size_t text_no_lf = 0;  // bytes at the start of text_buf known to hold no line feed
  std::string scratch;         // decoded bytes not scanned; UTF-8 conversions
  std::size_t parts = 1;
  std::uint64_t decoded = 0;
};

void MessageParser::State::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const void* lf = std::memchr(chunk.data(), '\n', chunk.size());
    const std::size_t len =
        lf == nullptr ? chunk.size() : static_cast<const char*>(lf) - chunk.data();
    const std::string_view piece = chunk.substr(0, len);
    if (lf == nullptr || !pending.empty() || pending_cut) {
      // Kept up to max_line + 1 bytes: room for the CR of a line exactly max_line long.
      const std::size_t room = max_line + 1 - std::min(pending.size(), max_line + 1);
      pending.append(piece.substr(0, room));
      if (piece.size() > room) pending_cut = true;
      if (lf == nullptr) return;
      const std::string_view whole =
          pending_cut ? std::string_view(pending).substr(0, max_line) : strip_cr(pending);
      line(whole.substr(0, max_line), pending_cut || whole.size() > max_line);
      pending.clear();
      pending_cut = false;
    } else {
      const std::string_view whole = strip_cr(piece);
      line(whole.substr(0, max_line), whole.size() > max_line);
    }
    chunk.remove_prefix(len + 1);
  }
}

void MessageParser::State::finish() {
  if (finished) return;
  if (!pending.empty() || pending_cut) {
    const std::string_view whole = strip_cr(pending);
    line(whole.substr(0, max_line), pending_cut || whole.size() > max_line);
    pending.clear();
  }
  finished = true;
  end_entity();
  while (!frames.empty()) {
    close_frame(frames.back());
    frames.pop_back();
  }
  header_done = true;
}

void MessageParser::State::line(std::string_view text, bool cut) {
  if (!frames.empty() && !cut && text.size() >= 2 && text[0] == '-' && text[1] == '-' &&
      delimiter(text)) {
    return;
  }
  if (!in_header) {
    body_line(text);
  } else if (text.empty()) {
    begin_body();
  } else if (!(top_level ? top : part).line(text)) {
    // Not a header line: the body starts here. Read again, as the body's first line (or, for a
    // message/rfc822 part, the nested message's first header line; bounded by max_depth).
    begin_body();
    line(text, cut);
  }
}

// A delimiter of an open multipart, innermost first; it ends every level inside that one.
bool MessageParser::State::delimiter(std::string_view text) {
  for (std::size_t k = frames.size(); k-- > 0;) {
    Frame& f = frames[k];
    if (!f.multipart || f.closed) continue;
    const Delimiter kind = match_delimiter(text, f.boundary);
    if (kind == Delimiter::None) continue;
    end_entity();
    while (frames.size() > k + 1) {
      close_frame(frames.back());
      frames.pop_back();
    }
    Frame& level = frames.back();
    level.seen = true;
    in_header = false;
    body = Body::Skip;
    base64_check = false;
    path = level.path;
    if (kind == Delimiter::Close) {
      level.closed = true;  // what follows is the epilogue
    } else {
      start_part(level);
    }
    return true;
  }
  return false;
}

void MessageParser::State::start_part(Frame& parent) {
  ++parent.children;
  const std::string child =
      (parent.path.empty() ? "" : parent.path + ".") + std::to_string(parent.children);
  if (parts >= options.limits.max_parts) {
    // Over the limit: the part is skipped to the next delimiter, not descended into.
    if (findings.wants(Finding::MimeOverLimit)) {
      findings.raise(
          Finding::MimeOverLimit,
          "more than " + std::to_string(options.limits.max_parts) + " parts (part " + child + ")");
    }
    return;
  }
  ++parts;
  path = child;
  top_level = false;
  in_header = true;
  part.start(false, where(path));
}

void MessageParser::State::begin_body() {
  HeaderSection& h = top_level ? top : part;
  h.end();
  in_header = false;
  if (top_level) header_done = true;
  ContentType ct = parse_content_type(h.content_type());
  if (ct.type.empty()) {
    const bool digest =
        !top_level && !frames.empty() && frames.back().multipart && frames.back().digest;
    ct.type = digest ? "message" : "text";
    ct.subtype = digest ? "rfc822" : "plain";
  }
  TransferEncoding encoding = transfer_encoding_from_value(h.transfer_encoding());
  if (encoding == TransferEncoding::Unknown && findings.wants(Finding::MimeBadEncoding)) {
    findings.raise(Finding::MimeBadEncoding,
                   "Content-Transfer-Encoding: " + printable(h.transfer_encoding(), 40) + " in " +
                       where(path));
  }
  const bool composite = ct.multipart() || ct.message();
  if (composite &&
      (encoding == TransferEncoding::Base64 || encoding == TransferEncoding::QuotedPrintable)) {
    // RFC 2045 §6.4: a composite type is never encoded; read its structure as written.
    findings.raise(Finding::MimeBadEncoding,
                   "Content-Transfer-Encoding: " + printable(h.transfer_encoding(), 40) + " on " +
                       ct.type + "/" + ct.subtype + " in " + where(path));
    encoding = TransferEncoding::SevenBit;
  }
  if (ct.multipart()) {
    if (ct.boundary.empty()) {
      findings.raise(Finding::MimeNoBoundary,
                     ct.type + "/" + ct.subtype + " without a boundary in " + where(path));
      return;
    }
    push_frame(Frame{.multipart = true,
                     .digest = ct.subtype == "digest",
                     .boundary = std::move(ct.boundary),
                     .path = path});
  } else if (ct.message()) {
    if (push_frame(Frame{.path = path})) {
      top_level = false;
      in_header = true;
      part.start(false, "the message in " + where(path));
    }
  } else {
    begin_leaf(ct, encoding);
  }
}

void MessageParser::State::begin_leaf(const ContentType& ct, TransferEncoding encoding) {
  cte = encoding;
  base64 = Base64Decoder();
  text_buf.clear();
  text_cut = false;
  text_no_lf = 0;
  base64_check = encoding == TransferEncoding::Base64;
  if (ct.text_scanned() && encoding != TransferEncoding::Unknown) {
    body = Body::Text;
    html = ct.subtype == "html";
    charset = ct.charset;
  }
}

bool MessageParser::State::push_frame(Frame frame) {
  if (frames.size() >= options.limits.max_depth) {
    if (findings.wants(Finding::MimeOverLimit)) {
      findings.raise(Finding::MimeOverLimit, "nesting deeper than " +
                                                 std::to_string(options.limits.max_depth) +
                                                 " levels in " + where(path));
    }
    return false;
  }
  frames.push_back(std::move(frame));
  return true;
}

// The entity being read ends (a delimiter line, or the end of the content).
void MessageParser::State::end_entity() {
  if (in_header) {
    (top_level ? top : part).end();
    if (top_level) header_done = true;
    in_header = false;
    return;
  }
  if (base64_check) {
    if (body == Body::Text) {
      base64.finish(text_buf);
    } else {
      base64.finish(scratch);
      scratch.clear();
    }
    check_base64();
  }
  if (body == Body::Text) drain_text(true);
  body = Body::Skip;
  base64_check = false;
}

void MessageParser::State::close_frame(const Frame& frame) {
  if (!frame.multipart || frame.closed) return;
  if (!frame.seen) {
    findings.raise(Finding::MimeBoundaryUnseen, "boundary \"" + printable(frame.boundary) +
                                                    "\" never seen in " + where(frame.path));
  } else {
    findings.raise(Finding::MimeUnterminated, "no closing boundary \"" + printable(frame.boundary) +
                                                  "--\" in " + where(frame.path));
  }
}

void MessageParser::State::check_base64() {
  if (base64.failed() && findings.wants(Finding::MimeBadBase64)) {
    findings.raise(Finding::MimeBadBase64, "base64 that does not decode in " + where(path));
  }
}

void MessageParser::State::body_line(std::string_view line_text) {
  if (body == Body::Text && decoded < options.limits.max_decoded_bytes) {
    text_line(line_text);
  } else if (base64_check) {
    base64.decode(line_text, scratch);
    scratch.clear();
    check_base64();
  }
}

void MessageParser::State::text_line(std::string_view line_text) {
  switch (cte) {
    case TransferEncoding::QuotedPrintable:
      drain_text(!decode_qp_line(line_text, text_buf));
      break;
    case TransferEncoding::Base64:
      base64.decode(line_text, text_buf);
      check_base64();
      drain_text(false);
      break;
    default:
      scan_text(line_text);
      break;
  }
}

// Scans every complete line of the decoded text; keeps the unfinished rest, bounded.
void MessageParser::State::drain_text(bool line_end) {
  std::string_view rest = text_buf;
  // The first text_no_lf bytes were searched before: a long line is not searched again for
  // every piece decoded into it.
  std::size_t from = std::min(text_no_lf, rest.size());
  while (const void* lf = std::memchr(rest.data() + from, '\n', rest.size() - from)) {
    const auto len = static_cast<std::size_t>(static_cast<const char*>(lf) - rest.data());
    scan_text(strip_cr(rest.substr(0, len)));
    rest.remove_prefix(len + 1);
    from = 0;
  }
  if (line_end) {
    scan_text(rest);
    rest = {};
  } else if (rest.size() > max_line) {
    scan_text(rest.substr(0, max_line));
    text_cut = true;  // scan_text above cleared it; the rest of this line is skipped
    rest = {};
  }
  text_buf.erase(0, text_buf.size() - rest.size());
  text_no_lf = text_buf.size();
}

void MessageParser::State::scan_text(std::string_view line_text) {
  if (text_cut) {
    text_cut = false;
    return;
  }
  const std::uint64_t budget = options.limits.max_decoded_bytes;
  if (decoded >= budget) return;
  line_text = line_text.substr(
      0, static_cast<std::size_t>(std::min<std::uint64_t>(line_text.size(), budget - decoded)));
  decoded += line_text.size();
  if (charset != Charset::Utf8 && has_8bit(line_text)) {
    scratch.clear();
    append_utf8(charset, line_text, scratch);
    uris.scan(scratch, html);
    scratch.clear();
  } else {
    uris.scan(line_text, html);
  }
}

MessageParser::MessageParser(ParseOptions options) : state_(std::make_unique<State>(options)) {}
MessageParser::~MessageParser() = default;

void MessageParser::feed(std::string_view chunk) {
  if (!state_->finished) state_->feed(chunk);
}
void MessageParser::finish() { state_->finish(); }
bool MessageParser::header_done() const { return state_->header_done; }
const std::vector<HeaderField>& MessageParser::header() const { return state_->top.fields(); }

const HeaderField* MessageParser::field(std::string_view name) const {
  for (const HeaderField& f : state_->top.fields()) {
    if (ascii_iequals(f.name, name)) return &f;
  }
  return nullptr;
}

std::size_t MessageParser::field_count(std::string_view name) const {
  const auto& fields = state_->top.fields();
  return static_cast<std::size_t>(
      std::count_if(fields.begin(), fields.end(),
                    [&](const HeaderField& f) { return ascii_iequals(f.name, name); }));
}

const BulkFacts& MessageParser::bulk() const { return state_->top.bulk(); }
const std::vector<FindingDetail>& MessageParser::findings() const {
  return state_->findings.list();
}
const std::vector<LinkedDomain>& MessageParser::linked_domains() const {
  return state_->uris.domains();
}
std::size_t MessageParser::linked_domains_dropped() const { return state_->uris.dropped(); }
std::size_t MessageParser::parts() const { return state_->parts; }
std::uint64_t MessageParser::decoded_bytes() const { return state_->decoded; }

}  // namespace mxgate::content
