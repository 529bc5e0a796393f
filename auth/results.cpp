#include "auth/results.hpp"

#include <algorithm>
#include <cctype>

namespace mxgate::auth {
namespace {

// RFC 2045 token characters: visible ASCII except tspecials and space.
bool token_char(char c) {
  constexpr std::string_view kSpecials = "()<>@,;:\\\"/[]?=";
  return c > 0x20 && c < 0x7f && kSpecials.find(c) == std::string_view::npos;
}

bool is_token(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), token_char);
}

std::string quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\r' || c == '\n') continue;
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void reason(std::string& out, std::string_view text) {
  if (!text.empty()) out += " reason=" + quoted(text);
}

}  // namespace

std::string results_value(std::string_view value) {
  if (is_token(value)) return std::string(value);
  const auto at = value.rfind('@');
  if (at != std::string_view::npos && is_token(value.substr(at + 1)) &&
      (at == 0 || is_token(value.substr(0, at)))) {
    return std::string(value);  // [local-part] "@" domain-name (§2.2 pvalue)
  }
  return quoted(value);
}

std::string format_results(const AuthResults& r, bool fold) {
  std::vector<std::string> parts;
  if (r.spf) {
    std::string p = "spf=" + r.spf->result;
    reason(p, r.spf->reason);
    p += " " + r.spf->property + "=" + results_value(r.spf->value);
    parts.push_back(std::move(p));
  }
  if (r.dkim.empty()) parts.emplace_back("dkim=none");
  for (const auto& d : r.dkim) {
    std::string p = "dkim=" + d.result;
    reason(p, d.reason);
    if (!d.domain.empty()) p += " header.d=" + results_value(d.domain);
    if (!d.selector.empty()) p += " header.s=" + results_value(d.selector);
    if (!d.b.empty()) p += " header.b=" + results_value(d.b);
    parts.push_back(std::move(p));
  }
  if (r.dmarc) {
    std::string p = "dmarc=" + r.dmarc->result;
    reason(p, r.dmarc->reason);
    if (!r.dmarc->policy.empty()) p += " (" + r.dmarc->policy + ")";
    if (!r.dmarc->from_domain.empty()) p += " header.from=" + results_value(r.dmarc->from_domain);
    parts.push_back(std::move(p));
  }
  if (r.iprev) {
    std::string p = "iprev=" + r.iprev->result + " policy.iprev=" + results_value(r.iprev->ip);
    if (!r.iprev->name.empty()) p += " (" + r.iprev->name + ")";
    parts.push_back(std::move(p));
  }
  std::string out = r.authserv_id;
  for (const auto& part : parts) out += (fold ? ";\r\n\t" : "; ") + part;
  return out;
}

}  // namespace mxgate::auth
