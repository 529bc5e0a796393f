// The Authentication-Results header field (RFC 8601) that mxgate adds to every relayed message:
// "authserv-id; spf=...; dkim=... (one per signature); dmarc=...; arc=...; iprev=...", and a
// reader of the results others wrote (an ARC-Authentication-Results, RFC 8617 §4.1.1, holds
// them). Pure.
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
    std::string b;  // the first characters of b=, base64 (header.b, RFC 6008)
    std::string reason;
  };
  struct Dmarc {
    std::string result;       // dmarc::result_name()
    std::string from_domain;  // header.from
    std::string policy;       // "p=reject" style comment, optional
    std::string reason;
  };
  struct Arc {
    std::string result;  // to_string(ArcStatus): none, pass or fail (RFC 8617 §4.4)
    std::string reason;
    std::string comment;                  // "i=2 d=list.example", optional
    std::optional<unsigned> oldest_pass;  // header.oldest-pass (RFC 8617 §5.2 step 5)
    std::string remote_ip;                // smtp.remote-ip (RFC 8617 §10.2)
  };
  struct Iprev {
    std::string result;  // iprev_result_name()
    std::string ip;      // policy.iprev
    std::string name;    // shown as a comment
  };

  std::optional<Spf> spf;
  std::vector<Dkim> dkim;  // empty: "dkim=none"
  std::optional<Dmarc> dmarc;
  std::optional<Arc> arc;
  std::optional<Iprev> iprev;
};

// The header value. `fold` puts each result on its own continuation line ("\r\n\t"), as the
// gateway writes it; otherwise one line with "; " between results.
std::string format_results(const AuthResults& results, bool fold);

// A value as RFC 8601 allows it unquoted (a token, or local-part@domain), else quoted.
std::string results_value(std::string_view value);

// One result as another ADMD wrote it (RFC 8601 §2.2 resinfo): "dkim=pass header.d=a.example"
// gives method "dkim", result "pass" and the property header.d; names in lower case, comments
// and quotes removed.
struct ReadResult {
  std::string method;  // without a "/version"
  std::string result;
  std::vector<std::pair<std::string, std::string>> properties;  // "header.d", "a.example"
  const std::string* property(std::string_view name) const;     // nullptr when absent
};

inline constexpr std::size_t kMaxReadResults = 64;  // more in one field are ignored

// The results of `resinfos`: what follows the authserv-id (and the AAR's "i=N;") of an
// Authentication-Results value. Parts that cannot be read, and "none", give nothing.
std::vector<ReadResult> read_results(std::string_view resinfos);

}  // namespace mxgate::auth
