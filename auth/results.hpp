// The Authentication-Results header field (RFC 8601) that mxgate adds to every relayed message:
// "authserv-id; spf=...; dkim=... (one per signature); dmarc=...; iprev=...". Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::auth {

struct AuthResults {
  std::string authserv_id;  // our host name

  struct Spf {
    std::string result;    // spf::result_name()
    std::string property;  // "smtp.mailfrom" or "smtp.helo" (the null sender)
    std::string value;     // the address or HELO name
    std::string reason;    // optional: the problem of a permerror/temperror
  };
  struct Dkim {
    std::string result;  // to_string(DkimStatus), or "none"
    std::string domain, selector;
    std::string b;       // the first characters of b=, base64 (header.b, RFC 6008)
    std::string reason;
  };
  struct Dmarc {
    std::string result;       // dmarc::result_name()
    std::string from_domain;  // header.from
    std::string policy;       // "p=reject" style comment, optional
    std::string reason;
  };
  struct Iprev {
    std::string result;  // iprev_result_name()
    std::string ip;      // policy.iprev
    std::string name;    // shown as a comment
  };

  std::optional<Spf> spf;
  std::vector<Dkim> dkim;  // empty: "dkim=none"
  std::optional<Dmarc> dmarc;
  std::optional<Iprev> iprev;
};

// The header value. `fold` puts each result on its own continuation line ("\r\n\t"), as the
// gateway writes it; otherwise one line with "; " between results.
std::string format_results(const AuthResults& results, bool fold);

// A value as RFC 8601 allows it unquoted (a token, or local-part@domain), else quoted.
std::string results_value(std::string_view value);

}  // namespace mxgate::auth
