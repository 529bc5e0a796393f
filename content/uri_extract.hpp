// The domains a message's text links to: bare http:// and https:// URLs and www. names in
// text/plain and text/html, and the values of href= and src= attributes in text/html (HTML
// character references decoded, tabs and line breaks removed as browsers do, RFC 3986 §3.2 for
// the authority). A host becomes its registrable domain (the Public Suffix List through libpsl),
// in lower case; an IP literal (dotted IPv4, [IPv6]) its canonical text. Skipped: mailto:,
// cid:, data: and every other scheme, relative URLs, hosts with non-ASCII characters (no IDNA
// conversion here), hosts that are a public suffix or a single label.
// Input is decoded text in UTF-8 (or ASCII), one line at a time; a URL does not span lines.
// Pure (libpsl's list is loaded once per process, read-only after); a collector is not
// thread-safe. Never throws on input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "content/message_parser.hpp"

namespace mxgate::content {

// The LinkedDomain a URL's host names, or nullopt when it names none worth looking up.
// `host` is the authority's host part: a name, a dotted IPv4 address or "[IPv6]".
std::optional<LinkedDomain> domain_of_host(std::string_view host);

// HTML character references of an attribute value decoded (&amp; &lt; &gt; &quot; &apos;,
// &#NN; &#xHH; and a few that hide URL syntax: &colon; &sol; &period; &commat;); an unknown or
// unterminated reference stays as written.
void decode_html_entities(std::string_view in, std::string& out);

class UriCollector {
 public:
  explicit UriCollector(std::size_t max_domains) : max_domains_(max_domains) {}

  // One line of decoded text; `html` adds the href= and src= attribute values.
  void scan(std::string_view line, bool html);

  const std::vector<LinkedDomain>& domains() const { return domains_; }
  // Distinct domains beyond max_domains (counted up to kMaxDroppedTracked).
  std::size_t dropped() const { return dropped_.size(); }

  static constexpr std::size_t kMaxDroppedTracked = 1024;

 private:
  std::size_t scan_scheme(std::string_view line, std::size_t colon);
  std::size_t scan_www(std::string_view line, std::size_t at);
  std::size_t scan_attribute(std::string_view line, std::size_t equals);
  // `url` for display; `authority` starts at the host (after "scheme://").
  void add(std::string_view url, std::string_view authority);
  void add_domain(LinkedDomain domain, std::string_view url);

  std::size_t max_domains_;
  std::vector<LinkedDomain> domains_;
  std::unordered_set<std::string> dropped_;
  std::string value_;  // an attribute value being decoded, reused
  // The hosts seen last and what they reduced to: a message repeats its few hosts many times,
  // and a Public Suffix List lookup costs more than a comparison.
  std::vector<std::pair<std::string, std::optional<LinkedDomain>>> recent_;
  std::size_t recent_next_ = 0;
};

}  // namespace mxgate::content
