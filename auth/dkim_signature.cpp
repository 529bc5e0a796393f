#include "auth/dkim_signature.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "auth/dkim_tags.hpp"

namespace mxgate::auth {

namespace {

constexpr std::size_t kMaxDomain = 253;  // RFC 1035 §2.3.4, presentation form without the dot
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxLengthDigits = 76;  // l= is 1*76DIGIT (§3.5)
constexpr std::size_t kMaxTimeDigits = 20;    // t=/x= are 1*12DIGIT; longer ones saturate

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A DNS name usable as d= or s= (§3.5: sub-domain *("." sub-domain)); "_" is tolerated
// because it occurs in selectors, and it cannot smuggle anything into the key query name.
bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDomain) return false;
  std::size_t start = 0;
  for (;;) {
    const auto dot = name.find('.', start);
    const auto label = name.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxLabel) return false;
    const bool ok = std::all_of(label.begin(), label.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
             c == '_';
    });
    if (!ok) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// 1*N DIGIT; values beyond 64 bits saturate (they mean "far away" for t=, x= and l=).
std::optional<std::uint64_t> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::uint64_t value = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

// A field-name is 1*ftext, printable US-ASCII except ":" (RFC 5322 §3.6.8).
bool valid_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

std::optional<DkimCanon> parse_canon(std::string_view text) {
  if (tag_iequals(text, "simple")) return DkimCanon::Simple;
  if (tag_iequals(text, "relaxed")) return DkimCanon::Relaxed;
  return std::nullopt;
}

// Each check fills the signature or returns why it cannot; "" means fine.
using Check = std::string;

Check read_version(const TagList& tags) {
  const std::string* v = tags.find("v");
  if (v == nullptr) return "missing v=";
  if (*v != "1") return "unsupported version v=";
  return {};
}

Check read_algorithm(const TagList& tags, DkimSignature& sig) {
  const std::string* a = tags.find("a");
  if (a == nullptr) return "missing a=";
  if (tag_iequals(*a, "rsa-sha256")) {
    sig.algorithm = DkimAlgorithm::RsaSha256;
  } else if (tag_iequals(*a, "ed25519-sha256")) {
    sig.algorithm = DkimAlgorithm::Ed25519Sha256;
  } else if (tag_iequals(*a, "rsa-sha1")) {
    return "rsa-sha1 is not accepted (RFC 8301)";
  } else {
    return "unsupported algorithm a=";
  }
  return {};
}

Check read_base64(const TagList& tags, std::string_view name, std::string& out) {
  const std::string* value = tags.find(name);
  if (value == nullptr) return fmt::format("missing {}=", name);
  auto decoded = decode_base64(*value);
  if (!decoded) return fmt::format("{}= is not base64", name);
  if (decoded->empty()) return fmt::format("empty {}=", name);
  out = std::move(*decoded);
  return {};
}

Check read_canon(const TagList& tags, DkimSignature& sig) {
  const std::string* c = tags.find("c");
  if (c == nullptr) return {};  // simple/simple (§3.5)
  const auto slash = c->find('/');
  const auto header = parse_canon(std::string_view(*c).substr(0, slash));
  if (!header) return "unsupported canonicalization c=";
  sig.header_canon = *header;
  if (slash == std::string::npos) return {};  // body defaults to simple
  const auto body = parse_canon(std::string_view(*c).substr(slash + 1));
  if (!body) return "unsupported canonicalization c=";
  sig.body_canon = *body;
  return {};
}

Check read_names(const TagList& tags, DkimSignature& sig) {
  const std::string* d = tags.find("d");
  if (d == nullptr) return "missing d=";
  if (!valid_dns_name(*d)) return "malformed d=";
  sig.domain = tag_lower(*d);
  const std::string* s = tags.find("s");
  if (s == nullptr) return "missing s=";
  if (!valid_dns_name(*s)) return "malformed s=";
  sig.selector = tag_lower(*s);
  return {};
}

Check read_headers(const TagList& tags, DkimSignature& sig) {
  const std::string* h = tags.find("h");
  if (h == nullptr) return "missing h=";
  for (const std::string& name : split_colon_list(*h)) {
    if (!valid_field_name(name)) return "malformed h=";
    sig.signed_headers.push_back(tag_lower(name));
  }
  // §5.4: From MUST be signed; a signature without it proves nothing about the author.
  if (std::find(sig.signed_headers.begin(), sig.signed_headers.end(), "from") ==
      sig.signed_headers.end()) {
    return "h= does not sign From";
  }
  return {};
}

Check read_identity(const TagList& tags, DkimSignature& sig) {
  const std::string* i = tags.find("i");
  if (i == nullptr) {
    sig.identity = "@" + sig.domain;  // §3.5 default
    return {};
  }
  const auto at = i->rfind('@');
  if (at == std::string::npos || !valid_dns_name(std::string_view(*i).substr(at + 1))) {
    return "malformed i=";
  }
  sig.identity = *i;
  if (!is_same_or_subdomain(sig.identity_domain(), sig.domain)) return "i= is not within d=";
  return {};
}

Check read_numbers(const TagList& tags, DkimSignature& sig) {
  if (const std::string* l = tags.find("l")) {
    sig.body_length = parse_decimal(*l, kMaxLengthDigits);
    if (!sig.body_length) return "malformed l=";
  }
  if (const std::string* t = tags.find("t")) {
    sig.timestamp = parse_decimal(*t, kMaxTimeDigits);
    if (!sig.timestamp) return "malformed t=";
  }
  if (const std::string* x = tags.find("x")) {
    sig.expiration = parse_decimal(*x, kMaxTimeDigits);
    if (!sig.expiration) return "malformed x=";
  }
  // §3.5: "the value of the x= tag MUST be greater than the value of the t= tag".
  if (sig.timestamp && sig.expiration && *sig.expiration <= *sig.timestamp) {
    return "x= is not after t=";
  }
  return {};
}

// ARC's i= (RFC 8617 §4.2.1) in place of DKIM's AUID; the identity is d= itself.
Check read_instance(const TagList& tags, DkimSignature& sig) {
  const std::string* i = tags.find("i");
  if (i == nullptr) return "missing i=";
  const auto instance = parse_arc_instance(*i);
  if (!instance) return "malformed i= (an ARC instance is 1 to 50)";
  sig.instance = *instance;
  sig.identity = "@" + sig.domain;
  return {};
}

// RFC 8617 §4.1.3: cv= is none, pass or fail; an ARC-Seal has no h=.
Check read_seal_tags(const TagList& tags, DkimSignature& sig) {
  if (tags.find("h") != nullptr) return "h= is not allowed in an ARC-Seal";
  const std::string* cv = tags.find("cv");
  if (cv == nullptr) return "missing cv=";
  sig.chain_validation = tag_lower(*cv);
  if (sig.chain_validation != "none" && sig.chain_validation != "pass" &&
      sig.chain_validation != "fail") {
    return "unknown cv= value";
  }
  sig.header_canon = DkimCanon::Relaxed;  // §5.1.1
  return {};
}

Check read_query(const TagList& tags) {
  const std::string* q = tags.find("q");
  if (q == nullptr) return {};
  for (const std::string& method : split_colon_list(*q)) {
    if (tag_iequals(method, "dns/txt")) return {};
  }
  return "unsupported query method q=";
}

}  // namespace

std::string_view to_string(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::RsaSha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::string_view to_string(DkimCanon canon) {
  return canon == DkimCanon::Simple ? "simple" : "relaxed";
}

std::string DkimSignature::identity_domain() const {
  const auto at = identity.rfind('@');
  return tag_lower(at == std::string::npos ? identity : identity.substr(at + 1));
}

std::string DkimSignature::key_query_name() const { return selector + "._domainkey." + domain; }

bool is_same_or_subdomain(std::string_view name, std::string_view domain) {
  if (name.size() == domain.size()) return tag_iequals(name, domain);
  if (name.size() < domain.size() + 1) return false;
  const auto cut = name.size() - domain.size();
  return name[cut - 1] == '.' && tag_iequals(name.substr(cut), domain);
}

std::optional<unsigned> parse_arc_instance(std::string_view value) {
  constexpr std::size_t kMaxInstanceDigits = 2;  // i-value = 1*2DIGIT
  const auto instance = parse_decimal(value, kMaxInstanceDigits);
  if (!instance || *instance == 0 || *instance > kArcMaxInstance) return std::nullopt;
  return static_cast<unsigned>(*instance);
}

DkimSignatureResult parse_dkim_signature(std::string_view value, SignatureField field) {
  DkimSignatureResult result;
  TagListResult parsed = parse_tag_list(value);
  if (!parsed.list) {
    result.error = std::move(parsed.error);
    return result;
  }
  const TagList& tags = *parsed.list;
  if (const std::string* d = tags.find("d")) result.domain = *d;
  if (const std::string* s = tags.find("s")) result.selector = *s;

  DkimSignature sig;
  // In order, stopping at the first problem: i= is judged against the d= read before it.
  Check error;
  if (field == SignatureField::Dkim) error = read_version(tags);
  if (error.empty()) error = read_algorithm(tags, sig);
  if (error.empty()) error = read_base64(tags, "b", sig.signature);
  if (field == SignatureField::ArcSeal) {
    if (error.empty()) error = read_seal_tags(tags, sig);
    if (error.empty()) error = read_names(tags, sig);
    if (error.empty()) error = read_instance(tags, sig);
    if (const std::string* t = tags.find("t"); error.empty() && t != nullptr) {
      sig.timestamp = parse_decimal(*t, kMaxTimeDigits);
      if (!sig.timestamp) error = "malformed t=";
    }
  } else {
    if (error.empty()) error = read_base64(tags, "bh", sig.body_hash);
    if (error.empty()) error = read_canon(tags, sig);
    if (error.empty()) error = read_names(tags, sig);
    if (error.empty()) error = read_headers(tags, sig);
    // RFC 8617 §4.1.2: the ARC-Seal fields are never signed by an AMS (the seal comes after it).
    if (error.empty() && field == SignatureField::ArcMessage &&
        std::find(sig.signed_headers.begin(), sig.signed_headers.end(), "arc-seal") !=
            sig.signed_headers.end()) {
      error = "h= of an ARC-Message-Signature names ARC-Seal";
    }
    if (error.empty()) {
      error = field == SignatureField::Dkim ? read_identity(tags, sig) : read_instance(tags, sig);
    }
    if (error.empty()) error = read_numbers(tags, sig);
    if (error.empty()) error = read_query(tags);
  }
  if (!error.empty()) {
    result.error = std::move(error);
    return result;
  }
  result.signature = std::move(sig);
  return result;
}

std::string remove_b_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(';', start);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view spec = value.substr(start, end - start);
    const auto equals = spec.find('=');
    std::string_view name = equals == std::string_view::npos ? spec : spec.substr(0, equals);
    while (!name.empty() && is_fws(name.front())) name.remove_prefix(1);
    while (!name.empty() && is_fws(name.back())) name.remove_suffix(1);
    // Keep the tag name and "=" byte for byte; drop the value and the FWS around it.
    out += name == "b" ? spec.substr(0, equals + 1) : spec;
    if (end < value.size()) out.push_back(';');
    start = end + 1;
  }
  return out;
}

}  // namespace mxgate::auth
