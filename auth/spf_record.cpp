#include "auth/spf_record.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth/spf_macro.hpp"

namespace mxgate::auth::spf {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// ALPHA and DIGIT of RFC 5234: ASCII only, whatever the locale says.
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ):
// letters, digits and inner hyphens, not all digits.
bool valid_toplabel(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  bool letter = false;
  for (char c : label) {
    if (!is_alnum(c) && c != '-') return false;
    letter = letter || is_alpha(c) || c == '-';
  }
  return letter;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
// (§7.1). The macro-literals before the end may be any visible character but "%".
bool valid_domain_spec(std::string_view spec) {
  if (spec.empty()) return false;
  const auto tail = trailing_literal(spec, MacroUse::DomainSpec);
  if (!tail) return false;
  if (tail->empty()) return true;  // ends with a macro-expand ("%{d}", "%%", "%_", "%-")
  std::string_view name = *tail;
  if (name.back() == '.') name.remove_suffix(1);
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;  // "." toplabel: the dot is required
  return valid_toplabel(name.substr(dot + 1));
}

// "/" ("0" / %x31-39 0*nDIGIT), at most `max`.
std::optional<int> parse_prefix(std::string_view digits, int max) {
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int value = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value < 0 || value > max) {
    return std::nullopt;
  }
  return value;
}

// Where the "/" of a final "/" 1*DIGIT of `text` is, or npos.
std::size_t final_length_slash(std::string_view text) {
  const auto digits = text.find_last_not_of("0123456789");
  if (digits == std::string_view::npos || digits + 1 == text.size() || text[digits] != '/') {
    return std::string_view::npos;
  }
  return digits;
}

// Splits "domain-spec/24//64" into the domain-spec and the dual CIDR lengths (§5.3, §5.4):
// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ] follows the domain-spec at
// the very end, so only a final "//" 1*DIGIT and a "/" 1*DIGIT before it are lengths; any
// other "/" belongs to the domain-spec (a macro-literal). No domain-spec ends in "/" DIGIT
// (domain-end is a toplabel or a macro-expand), so the split is unambiguous.
bool split_dual_cidr(std::string_view arg, std::string_view& spec, Mechanism& m) {
  spec = arg;
  if (const auto slash = final_length_slash(spec);
      slash != std::string_view::npos && slash > 0 && spec[slash - 1] == '/') {
    const auto v6 = parse_prefix(spec.substr(slash + 1), 128);
    if (!v6) return false;
    m.v6_prefix = *v6;
    spec = spec.substr(0, slash - 1);
  }
  if (const auto slash = final_length_slash(spec); slash != std::string_view::npos) {
    const auto v4 = parse_prefix(spec.substr(slash + 1), 32);
    if (!v4) return false;
    m.v4_prefix = *v4;
    spec = spec.substr(0, slash);
  }
  return true;
}

// The IPv6 network of an ip6 mechanism's text (RFC 4291 §2.2 forms, the IPv4-mapped one
// included, kept as IPv6: §5 lists IPv4 addresses only through ip4).
std::optional<common::IpBytes> parse_ip6(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return std::nullopt;
  auto address = common::parse_ip(text);
  if (!address || address->family == 6) return address;
  constexpr std::size_t kMappedPrefix = 10;  // ::ffff:a.b.c.d: 10 zero octets, then 0xffff
  common::IpBytes mapped;
  mapped.family = 6;
  mapped.bytes[kMappedPrefix] = 0xff;
  mapped.bytes[kMappedPrefix + 1] = 0xff;
  std::copy_n(address->bytes.begin(), 4, mapped.bytes.begin() + kMappedPrefix + 2);
  return mapped;
}

std::optional<std::string> parse_mechanism(std::string_view term, Mechanism& m) {
  m.text = std::string(term);
  switch (term.front()) {
    case '+':
      m.qualifier = Result::Pass;
      term.remove_prefix(1);
      break;
    case '-':
      m.qualifier = Result::Fail;
      term.remove_prefix(1);
      break;
    case '~':
      m.qualifier = Result::SoftFail;
      term.remove_prefix(1);
      break;
    case '?':
      m.qualifier = Result::Neutral;
      term.remove_prefix(1);
      break;
    default:
      break;
  }
  const auto colon = term.find(':');
  const auto slash = term.find('/');
  const auto name_end = std::min(colon, slash);
  const std::string_view name = term.substr(0, name_end);
  const bool has_arg = colon != std::string_view::npos && colon == name_end;
  const std::string_view arg = has_arg ? term.substr(colon + 1) : std::string_view();
  const std::string_view cidr_only =
      !has_arg && slash != std::string_view::npos ? term.substr(slash) : std::string_view();
  const auto bad = [&](std::string_view why) { return "\"" + m.text + "\": " + std::string(why); };

  if (iequals(name, "all")) {
    if (name_end != std::string_view::npos) return bad("all takes no argument");
    m.kind = MechanismKind::All;
    return std::nullopt;
  }
  if (iequals(name, "include") || iequals(name, "exists")) {
    m.kind = iequals(name, "include") ? MechanismKind::Include : MechanismKind::Exists;
    if (!has_arg || !valid_domain_spec(arg)) return bad("needs a valid domain-spec");
    m.domain_spec = std::string(arg);
    return std::nullopt;
  }
  if (iequals(name, "a") || iequals(name, "mx")) {
    m.kind = iequals(name, "a") ? MechanismKind::A : MechanismKind::Mx;
    std::string_view spec;
    if (!split_dual_cidr(has_arg ? arg : cidr_only, spec, m)) return bad("bad CIDR length");
    if (has_arg && !valid_domain_spec(spec)) return bad("bad domain-spec");
    if (!has_arg && !spec.empty()) return bad("bad CIDR length");
    m.domain_spec = std::string(spec);
    return std::nullopt;
  }
  if (iequals(name, "ptr")) {
    m.kind = MechanismKind::Ptr;
    if (!cidr_only.empty()) return bad("ptr takes no CIDR length");
    if (has_arg && !valid_domain_spec(arg)) return bad("bad domain-spec");
    m.domain_spec = std::string(arg);
    return std::nullopt;
  }
  if (iequals(name, "ip4") || iequals(name, "ip6")) {
    // ip4 = "ip4" ":" ip4-network [ ip4-cidr-length ], ip6 likewise (§5.6): one "/" at most.
    const bool v4 = iequals(name, "ip4");
    m.kind = v4 ? MechanismKind::Ip4 : MechanismKind::Ip6;
    if (!has_arg) return bad("needs an address");
    const auto slash_at = arg.find('/');
    const std::string_view text = arg.substr(0, slash_at);
    std::optional<common::IpBytes> address;
    if (v4) {
      address = common::parse_ip(text);
      if (address && text.find(':') != std::string_view::npos) address.reset();
    } else {
      address = parse_ip6(text);
    }
    if (!address) return bad("bad address");
    int prefix = v4 ? 32 : 128;
    if (slash_at != std::string_view::npos) {
      const auto p = parse_prefix(arg.substr(slash_at + 1), v4 ? 32 : 128);
      if (!p) return bad("bad CIDR length");
      prefix = *p;
    }
    m.network = common::network_of(*address, prefix);
    return std::nullopt;
  }
  return bad("unknown mechanism");
}

bool valid_modifier_name(std::string_view name) {
  if (name.empty() || !is_alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::string_view result_name(Result result) {
  switch (result) {
    case Result::None:
      return "none";
    case Result::Neutral:
      return "neutral";
    case Result::Pass:
      return "pass";
    case Result::Fail:
      return "fail";
    case Result::SoftFail:
      return "softfail";
    case Result::TempError:
      return "temperror";
    case Result::PermError:
      return "permerror";
  }
  return "permerror";
}

std::string_view mechanism_name(MechanismKind kind) {
  switch (kind) {
    case MechanismKind::All:
      return "all";
    case MechanismKind::Include:
      return "include";
    case MechanismKind::A:
      return "a";
    case MechanismKind::Mx:
      return "mx";
    case MechanismKind::Ptr:
      return "ptr";
    case MechanismKind::Ip4:
      return "ip4";
    case MechanismKind::Ip6:
      return "ip6";
    case MechanismKind::Exists:
      return "exists";
  }
  return "all";
}

bool is_spf_record(std::string_view txt) {
  constexpr std::string_view kVersion = "v=spf1";
  return txt.size() >= kVersion.size() && iequals(txt.substr(0, kVersion.size()), kVersion) &&
         (txt.size() == kVersion.size() || txt[kVersion.size()] == ' ');
}

ParsedRecord parse_record(std::string_view txt) {
  ParsedRecord out;
  if (!is_spf_record(txt)) {
    out.error = "not an SPF record";
    return out;
  }
  Record record;
  std::string_view rest = txt.substr(6);
  while (!rest.empty()) {
    // terms = *( 1*SP ( directive / modifier ) ); trailing spaces are allowed (§4.6.1).
    const auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find(' ');
    const std::string_view term = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);

    const auto equals = term.find('=');
    const auto colon_or_slash = term.find_first_of(":/");
    if (equals != std::string_view::npos && equals < colon_or_slash) {  // a modifier
      const std::string_view name = term.substr(0, equals);
      const std::string_view value = term.substr(equals + 1);
      if (!valid_modifier_name(name)) {
        out.error = fmt::format("\"{}\": bad modifier name", term);
        return out;
      }
      if (iequals(name, "redirect") || iequals(name, "exp")) {
        auto& slot = iequals(name, "redirect") ? record.redirect : record.exp;
        if (slot) {  // §6: each at most once
          out.error = std::string(name) + "= appears twice";
          return out;
        }
        if (!valid_domain_spec(value)) {
          out.error = fmt::format("\"{}\": bad domain-spec", term);
          return out;
        }
        slot = std::string(value);
      } else if (!valid_macro_string(value, MacroUse::DomainSpec)) {
        out.error = fmt::format("\"{}\": bad macro-string", term);
        return out;
      }
      continue;  // unknown modifiers are ignored (§6)
    }
    Mechanism m;
    if (auto error = parse_mechanism(term, m)) {
      out.error = std::move(*error);
      return out;
    }
    record.mechanisms.push_back(std::move(m));
  }
  out.record = std::move(record);
  return out;
}

}  // namespace mxgate::auth::spf
