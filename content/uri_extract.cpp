#include "content/uri_extract.hpp"

#include <arpa/inet.h>
#include <libpsl.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/idna.hpp"
#include "content/charset.hpp"

namespace mxgate::content {
namespace {

constexpr std::size_t kMaxUrlShown = 256;
constexpr std::size_t kMaxHostLength = 253;  // RFC 1035 §2.3.4, without the root dot
constexpr std::size_t kRecentHosts = 16;

const psl_ctx_t* suffix_list() {
  // The system's list when installed (publicsuffix), else the one built into libpsl.
  static const psl_ctx_t* const list = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest != nullptr ? latest : psl_builtin();
  }();
  return list;
}

constexpr bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
constexpr bool is_host_char(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; }
constexpr bool is_attr_name_char(char c) { return is_alnum(c) || c == '-' || c == '_' || c == ':'; }

// Where a URL written in text ends: at white space, a control, or a character that cannot be in
// a URL and commonly surrounds one (quotes, angle brackets). 8-bit bytes (IRIs) stay inside.
constexpr std::array<bool, 256> make_url_stop() {
  std::array<bool, 256> t{};
  for (int c = 0; c <= 0x20; ++c) t[c] = true;
  t[0x7F] = true;
  for (const char c : std::string_view("<>\"'`{}|\\^")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kUrlStop = make_url_stop();

// The bytes worth a second look: ':' ("http://"), '=' (attributes), 'w' ("www.").
constexpr std::array<bool, 256> make_interesting() {
  std::array<bool, 256> t{};
  for (const char c : std::string_view(":=wW")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kInteresting = make_interesting();

std::size_t url_end(std::string_view line, std::size_t from) {
  while (from < line.size() && !kUrlStop[static_cast<unsigned char>(line[from])]) ++from;
  return from;
}

// Punctuation that ends a sentence rather than the URL ("see http://a.example/x.").
std::string_view trim_url_punctuation(std::string_view url) {
  while (!url.empty() && std::strchr(".,;:!?)]}", url.back()) != nullptr) url.remove_suffix(1);
  return url;
}

// The host part of an authority: after the last '@' of the userinfo, before the port.
std::string_view host_of(std::string_view authority) {
  const std::size_t end = authority.find_first_of("/?#\\");
  if (end != std::string_view::npos) authority = authority.substr(0, end);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    return close == std::string_view::npos ? std::string_view() : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

void append_code_point(unsigned long cp, std::string& out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// "#65", "#x41" (the text between '&' and ';'): the code point, or nullopt.
std::optional<unsigned long> numeric_reference(std::string_view ref) {
  if (ref.size() < 2 || ref[0] != '#') return std::nullopt;
  const bool hex = ref[1] == 'x' || ref[1] == 'X';
  std::string_view digits = ref.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  unsigned long cp = 0;
  for (const char c : digits) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return std::nullopt;
    cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(v);
  }
  return cp;
}

std::optional<char> named_reference(std::string_view name) {
  struct Named {
    std::string_view name;
    char c;
  };
  static constexpr std::array<Named, 9> kNamed{{{"amp", '&'},
                                                {"lt", '<'},
                                                {"gt", '>'},
                                                {"quot", '"'},
                                                {"apos", '\''},
                                                {"colon", ':'},
                                                {"sol", '/'},
                                                {"period", '.'},
                                                {"commat", '@'}}};
  for (const Named& n : kNamed) {
    if (n.name == name) return n.c;
  }
  return std::nullopt;
}

}  // namespace

std::string registrable_domain(std::string_view host) {
  std::string lower(host);
  for (char& c : lower) c = ascii_lower(c);
  while (!lower.empty() && lower.back() == '.') lower.pop_back();
  if (lower.empty()) return {};
  const char* registrable = psl_registrable_domain(suffix_list(), lower.c_str());
  return registrable != nullptr ? std::string(registrable) : std::string();
}

std::optional<LinkedDomain> domain_of_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const std::string literal(host.substr(1, host.size() - 2));
    in6_addr addr{};
    char text[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, literal.c_str(), &addr) != 1 ||
        inet_ntop(AF_INET6, &addr, text, sizeof text) == nullptr) {
      return std::nullopt;
    }
    return LinkedDomain{.domain = text, .ip = true};
  }
  std::optional<std::string> ascii;
  if (std::any_of(host.begin(), host.end(), [](char c) { return (c & 0x80) != 0; })) {
    if (host.size() > kMaxHostLength * 4 || !(ascii = common::a_label(host))) return std::nullopt;
    host = *ascii;
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > kMaxHostLength || host.front() == '.') return std::nullopt;
  bool numeric = true;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (!is_host_char(c) || (c == '.' && host[i - 1] == '.')) return std::nullopt;
    if (c != '.' && (c < '0' || c > '9')) numeric = false;
  }
  if (numeric) {
    // A dotted IPv4 address; other all-numeric names (octal, short forms) are not followed.
    const std::string literal(host);
    in_addr addr{};
    if (inet_pton(AF_INET, literal.c_str(), &addr) != 1) return std::nullopt;
    return LinkedDomain{.domain = literal, .ip = true};
  }
  std::string domain = registrable_domain(host);
  if (domain.empty()) return std::nullopt;
  return LinkedDomain{.domain = std::move(domain)};
}

void decode_html_entities(std::string_view in, std::string& out) {
  while (!in.empty()) {
    const std::size_t amp = in.find('&');
    out.append(in.substr(0, amp));
    if (amp == std::string_view::npos) return;
    in.remove_prefix(amp);
    const std::size_t semi = in.find(';');
    constexpr std::size_t kMaxReference = 12;
    if (semi != std::string_view::npos && semi <= kMaxReference) {
      const std::string_view ref = in.substr(1, semi - 1);
      if (const auto cp = numeric_reference(ref)) {
        append_code_point(*cp, out);
        in.remove_prefix(semi + 1);
        continue;
      }
      if (const auto c = named_reference(ref)) {
        out.push_back(*c);
        in.remove_prefix(semi + 1);
        continue;
      }
    }
    out.push_back('&');
    in.remove_prefix(1);
  }
}

void UriCollector::scan(std::string_view line, bool html) {
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && !kInteresting[static_cast<unsigned char>(line[i])]) ++i;
    if (i == n) break;
    const char c = line[i];
    if (c == ':') {
      i = scan_scheme(line, i);
    } else if (c == '=') {
      i = html ? scan_attribute(line, i) : i + 1;
    } else {
      i = scan_www(line, i);
    }
  }
}

// At a ':': "http://" or "https://" written in the text.
std::size_t UriCollector::scan_scheme(std::string_view line, std::size_t colon) {
  if (colon + 3 > line.size() || line[colon + 1] != '/' || line[colon + 2] != '/') return colon + 1;
  std::size_t start = 0;
  if (colon >= 5 && ascii_iequals(line.substr(colon - 5, 5), "https")) {
    start = colon - 5;
  } else if (colon >= 4 && ascii_iequals(line.substr(colon - 4, 4), "http")) {
    start = colon - 4;
  } else {
    return colon + 1;
  }
  if (start > 0 && is_alnum(line[start - 1])) return colon + 1;  // "xhttp://"
  const std::size_t end = url_end(line, colon + 3);
  add(trim_url_punctuation(line.substr(start, end - start)),
      line.substr(colon + 3, end - colon - 3));
  return end;
}

// At a 'w': "www." with no scheme, starting a word.
std::size_t UriCollector::scan_www(std::string_view line, std::size_t at) {
  if (!ascii_istarts_with(line.substr(at), "www.")) return at + 1;
  if (at > 0 && (is_host_char(line[at - 1]) || line[at - 1] == '/' || line[at - 1] == '@')) {
    return at + 1;
  }
  const std::size_t end = url_end(line, at);
  const std::string_view url = trim_url_punctuation(line.substr(at, end - at));
  add(url, url);
  return end;
}

// At a '=': the value of an href or src attribute.
std::size_t UriCollector::scan_attribute(std::string_view line, std::size_t equals) {
  std::size_t name_end = equals;
  while (name_end > 0 && is_wsp(line[name_end - 1])) --name_end;
  std::size_t name_start = name_end;
  while (name_start > 0 && is_attr_name_char(line[name_start - 1])) --name_start;
  const std::string_view name = line.substr(name_start, name_end - name_start);
  if (!ascii_iequals(name, "href") && !ascii_iequals(name, "src")) return equals + 1;
  std::size_t pos = equals + 1;
  while (pos < line.size() && is_wsp(line[pos])) ++pos;
  if (pos == line.size()) return pos;
  std::size_t end = 0;
  std::string_view raw;
  if (line[pos] == '"' || line[pos] == '\'') {
    const std::size_t close = line.find(line[pos], pos + 1);
    end = close == std::string_view::npos ? line.size() : close + 1;
    raw = line.substr(pos + 1, (close == std::string_view::npos ? line.size() : close) - pos - 1);
  } else {
    end = pos;
    while (end < line.size() && !is_wsp(line[end]) && line[end] != '>') ++end;
    raw = line.substr(pos, end - pos);
  }
  value_.clear();
  decode_html_entities(raw, value_);
  // WHATWG URL parsing removes tabs and line breaks anywhere and trims spaces and controls.
  std::erase_if(value_, [](char c) { return c == '\t' || c == '\n' || c == '\r'; });
  std::string_view value = value_;
  while (!value.empty() && static_cast<unsigned char>(value.front()) <= ' ') value.remove_prefix(1);
  std::size_t authority = 0;
  if (ascii_istarts_with(value, "https:")) {
    authority = 6;
  } else if (ascii_istarts_with(value, "http:")) {
    authority = 5;
  } else if (value.starts_with("//")) {
    authority = 0;  // scheme-relative: still names a host
  } else {
    return end;  // mailto:, cid:, data:, javascript:, relative
  }
  while (authority < value.size() && (value[authority] == '/' || value[authority] == '\\')) {
    ++authority;
  }
  const std::size_t stop = url_end(value, authority);
  add(value, value.substr(authority, stop - authority));
  return end;
}

void UriCollector::add(std::string_view url, std::string_view authority) {
  const std::string_view host = host_of(authority);
  if (host.empty()) return;
  for (const auto& [seen, result] : recent_) {
    if (seen == host) {
      if (result) add_domain(*result, url);
      return;
    }
  }
  std::optional<LinkedDomain> result = domain_of_host(host);
  if (recent_.size() < kRecentHosts) {
    recent_.emplace_back(std::string(host), result);
  } else {
    recent_[recent_next_] = {std::string(host), result};
    recent_next_ = (recent_next_ + 1) % kRecentHosts;
  }
  if (result) add_domain(std::move(*result), url);
}

void UriCollector::add_domain(LinkedDomain domain, std::string_view url) {
  for (const LinkedDomain& d : domains_) {
    if (d.domain == domain.domain) return;
  }
  if (domains_.size() >= max_domains_) {
    if (dropped_.size() < kMaxDroppedTracked) dropped_.insert(domain.domain);
    return;
  }
  domain.url.assign(url.substr(0, kMaxUrlShown));
  domains_.push_back(std::move(domain));
}

}  // namespace mxgate::content
