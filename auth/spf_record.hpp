// SPF records (RFC 7208 §4.5, §4.6, §12): which TXT strings are SPF records, and parsing one
// into its directives and modifiers. Pure. A record with any syntax error is refused whole
// (check_host then returns permerror, §4.6): unknown mechanisms, a repeated redirect or exp,
// malformed macro-strings, addresses or CIDR lengths. A domain-spec may hold any visible
// character but "%" (":" and "/" included, §7.1); a dual-cidr-length is only what ends the term
// (§5.3). An ip6 network may be written IPv4-mapped (RFC 4291 §2.2) and stays IPv6.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"

namespace mxgate::auth::spf {

enum class Result { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
std::string_view result_name(Result result);  // "pass", "softfail", "permerror", ...

enum class MechanismKind { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };
std::string_view mechanism_name(MechanismKind kind);

struct Mechanism {
  Result qualifier = Result::Pass;  // Pass (+, the default), Fail (-), SoftFail (~), Neutral (?)
  MechanismKind kind = MechanismKind::All;
  std::string domain_spec;  // include, exists: required; a, mx, ptr: empty = the current domain
  common::Cidr network;     // ip4, ip6 (family 4 and 6 respectively)
  int v4_prefix = 32;       // a, mx: dual-cidr-length
  int v6_prefix = 128;
  std::string text;  // as written, for logs and Authentication-Results comments
};

struct Record {
  std::vector<Mechanism> mechanisms;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
};

// Whether a TXT string is an SPF version 1 record: "v=spf1" (any case) followed by a space or
// the end (§4.5).
bool is_spf_record(std::string_view txt);

struct ParsedRecord {
  std::optional<Record> record;
  std::string error;  // why the record was refused (when record is empty)
};
ParsedRecord parse_record(std::string_view txt);

}  // namespace mxgate::auth::spf
