// The streaming parser of one message's content: the RFC 5322 header section (unfolding, field
// syntax), the MIME structure (RFC 2045-2049: boundaries, nesting, parts), the text parts'
// content decoded as it streams (base64, quoted-printable; UTF-8, US-ASCII and Latin-1 to
// UTF-8), the URLs in text/plain and text/html parts (bare URLs, href= and src= attributes)
// reduced to their registrable domain (libpsl) or IP literal, and the facts that say whether a
// message is bulk mail and offers one-click unsubscribe (RFC 2369, RFC 2919, RFC 8058).
//
// Input: the decoded content (CRLF line endings, no transparency dots), in pieces split
// anywhere; the result does not depend on where the pieces were split. Everything is bounded by
// What is looked at: the top-level header (kept, Date/From/Message-ID counted, bulk facts), every
// part's header (field syntax, Content-Type, Content-Transfer-Encoding), multipart delimiters at
// every level, message/rfc822 parts as nested messages, the content of text/plain and text/html
// parts (and of a part without Content-Type, RFC 2045 §5.2) decoded and scanned for URLs, and
// base64 of every leaf part checked. Preambles, epilogues and other content are only skipped.
// Limits: what is over a limit is not kept (and, for nesting, parts and header fields, raises
// mime_over_limit); nothing grows with the message's size beyond the limits.
// Never throws on message data; not thread-safe (one message, one worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/findings.hpp"

namespace mxgate::content {

// [content] limits, per message.
struct Limits {
  std::size_t max_depth = 10;            // multipart nesting
  std::size_t max_parts = 100;           // MIME parts, all levels
  std::size_t max_header_fields = 1000;  // fields per header section (message or part)
  std::size_t max_header_bytes = 1
                                 << 20;  // top-level header section kept (fields beyond: not kept)
  // Bytes of one line inspected, the rest skipped; at least 1000 whatever is configured, so
  // that a delimiter line (RFC 2046 §5.1.1) or an RFC 5322 line (998) is never cut.
  std::size_t max_line_length = 64 * 1024;
  std::size_t max_decoded_bytes = 4 << 20;  // text decoded and scanned for URLs, all parts
  std::size_t max_uri_domains = 20;         // distinct linked domains kept
};

struct ParseOptions {
  Limits limits;
  bool smtputf8 = false;  // MAIL FROM had SMTPUTF8: 8-bit header bytes are allowed (RFC 6532)
};

// A field of the top-level header section.
struct HeaderField {
  std::string name;   // as written
  std::string value;  // unfolded (the CRLFs of folding removed), white space around it trimmed
};

// A domain a message links to.
struct LinkedDomain {
  std::string domain;  // registrable domain in lower case (A-labels), or the IP literal's text
  bool ip = false;     // the URL named an IP address (http://192.0.2.1/...)
  std::string url;     // the first URL that named it (at most 256 bytes), for logs and the CLI
};

// RFC 2369 / RFC 2919 / RFC 8058 facts of the top-level header.
struct BulkFacts {
  bool list_id = false;            // List-Id present
  bool list_unsubscribe = false;   // List-Unsubscribe present
  bool precedence_bulk = false;    // Precedence: bulk or list
  bool https_unsubscribe = false;  // List-Unsubscribe holds an <https:...> URI (RFC 8058 §3.1)
  bool one_click = false;          // List-Unsubscribe-Post: List-Unsubscribe=One-Click (§3.2)
  bool bulk_by_header() const { return list_id || list_unsubscribe || precedence_bulk; }
};

class MessageParser {
 public:
  explicit MessageParser(ParseOptions options = {});
  ~MessageParser();
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  void feed(std::string_view chunk);
  // After the last piece: closes what is open (an unterminated multipart is a finding).
  void finish();

  // Known once the top-level header section ended (or finish() was called).
  bool header_done() const;
  const std::vector<HeaderField>& header() const;
  // The first top-level field named `name` (case-insensitive), if any.
  const HeaderField* field(std::string_view name) const;
  std::size_t field_count(std::string_view name) const;
  const BulkFacts& bulk() const;

  // After finish(): each kind of finding at most once, with the first detail, in the order
  // found; the distinct linked domains in first-seen order (at most max_uri_domains).
  const std::vector<FindingDetail>& findings() const;
  const std::vector<LinkedDomain>& linked_domains() const;
  // Distinct domains beyond max_uri_domains (counted up to UriCollector::kMaxDroppedTracked).
  std::size_t linked_domains_dropped() const;
  // MIME parts read, the message itself included (a single-part message: 1); parts beyond
  // max_parts are skipped and not counted.
  std::size_t parts() const;
  // Bytes of text/plain and text/html content decoded and scanned for URLs (<= max_decoded_bytes).
  std::uint64_t decoded_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// RFC 2047 encoded-words of a header value decoded for display (UTF-8, US-ASCII and
// ISO-8859-1 (and windows-1252) charsets to UTF-8; others left as written); white space between
// adjacent encoded-words dropped (RFC 2047 §6.2).
std::string decode_header_value(std::string_view value);

// The registrable domain of a host name ("www.news.example.co.uk" -> "example.co.uk") from the
// Public Suffix List, in lower case; "" when the host has none (a public suffix, not a name).
std::string registrable_domain(std::string_view host);

}  // namespace mxgate::content
