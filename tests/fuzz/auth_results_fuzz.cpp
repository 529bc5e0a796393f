// libFuzzer target of the Authentication-Results field (auth/results.hpp; RFC 8601 §2.2, §2.7,
// RFC 8617 §10.1, RFC 2045 §5.1 tokens): the reader of what other ADMDs wrote and the writer of
// what the gateway adds. The input is the resinfos of a field (what follows the authserv-id,
// read as an ARC-Authentication-Results is read) then, after a NUL, what the gateway writes:
// flag octets (folding; which of spf, dmarc, arc and iprev are there and how many dkim; the
// results) and, each after another NUL, the values that come from outside (addresses, HELO
// names, d= and s=, reasons, PTR names, ...).
// Checked: at most 64 results are read, each with a method (lower case, no version) and a
// result, properties named in lower case, property() the first of a name; results read, when
// written again (method=result and each property's value through results_value()), read back the
// same (values without CR and LF, which quoting drops); results_value() gives a value unchanged
// only when it is a token or local-part@domain; the field the gateway writes has CR LF only as
// folding (CRLF TAB between results), none unfolded, and reads back as exactly the results,
// reasons and properties that went in, whatever bytes the values hold: comments stay comments
// and quoted strings stay values.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/results.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace auth = mxgate::auth;
using mxgate::fuzz::check;

constexpr std::string_view kAuthservId = "mx.example.net";
constexpr std::array<std::string_view, 8> kResults = {
    "pass", "fail", "none", "neutral", "softfail", "temperror", "permerror", "policy"};
constexpr std::size_t kMaxDkim = 3;

// RFC 2045 token characters: visible ASCII but tspecials.
bool token_char(char c) {
  return c > 0x20 && c < 0x7f &&
         std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), token_char);
}

bool has_upper(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string without_crlf(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

std::string_view next_field(std::string_view& input) {
  const std::size_t nul = input.find('\0');
  const std::string_view field = input.substr(0, nul);
  input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  return field;
}

void check_value(std::string_view value) {
  const std::string written = auth::results_value(value);
  if (written == value) {
    check(
        std::all_of(value.begin(), value.end(), [](char c) { return c == '@' || token_char(c); }));
    check(is_token(value) || value.find('@') != std::string_view::npos);
  } else {
    check(written.size() >= 2 && written.front() == '"' && written.back() == '"');
    check(written.find_first_of("\r\n") == std::string::npos);
  }
}

using Results = std::vector<auth::ReadResult>;

void check_same(const Results& read, const Results& expected) {
  check(read.size() == expected.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    check(read[i].method == expected[i].method);
    check(read[i].result == expected[i].result);
    check(read[i].properties == expected[i].properties);
  }
}

void check_read(const Results& results) {
  check(results.size() <= auth::kMaxReadResults);
  for (const auth::ReadResult& r : results) {
    check(!r.method.empty() && !r.result.empty());
    check(!has_upper(r.method) && !has_upper(r.result));
    check(r.method.find_first_of("/=") == std::string::npos);
    for (const auto& property : r.properties) {
      const std::string& name = property.first;
      check(!name.empty() && !has_upper(name) && name.find('=') == std::string::npos);
      const std::string* first = r.property(name);
      const auto same = std::find_if(r.properties.begin(), r.properties.end(),
                                     [&](const auto& p) { return p.first == name; });
      check(first != nullptr && first == &same->second);
    }
  }
}

// The results whose names can be written as tokens, written as a sender would, read again.
void check_rewritten(const Results& results) {
  Results eligible;
  std::string text;
  for (const auth::ReadResult& r : results) {
    if (!is_token(r.method) || !is_token(r.result)) continue;
    if (!std::all_of(r.properties.begin(), r.properties.end(),
                     [](const auto& p) { return is_token(p.first); })) {
      continue;
    }
    auth::ReadResult expected{r.method, r.result, {}};
    if (!text.empty()) text += "; ";
    text += r.method + "=" + r.result;
    for (const auto& [name, value] : r.properties) {
      text += " " + name + "=" + auth::results_value(value);
      expected.properties.emplace_back(name, without_crlf(value));
    }
    eligible.push_back(std::move(expected));
  }
  check_same(auth::read_results(text), eligible);
}

// What the gateway writes. `input`: the flag octets, then the values, each after a NUL. Flag
// octet 0: bit 0 fold, 1 spf, 2 smtp.helo (the null sender), 3 dmarc, 4 arc, 5 iprev, 6 an
// oldest-pass (octet 2); octet 1 modulo 4: the dkim results; from octet 3 on, modulo 8, the
// results of spf, the three dkim, dmarc, arc and iprev (kResults). The values, in order: spf
// address or HELO name and reason; per dkim d=, s=, b= and reason; dmarc From domain, policy
// comment and reason; arc reason, comment and remote IP; iprev IP and PTR name.
struct Written {
  auth::AuthResults results;
  bool fold = false;
  Results expected;  // what reading it must give
};

Written written_from(std::string_view input) {
  const std::string_view flags = next_field(input);
  auto flag = [&](std::size_t octet, unsigned bit) {
    return octet < flags.size() && (static_cast<unsigned char>(flags[octet]) >> bit & 1U) != 0;
  };
  std::size_t pick = 3;  // the octets that choose results start here
  auto result = [&]() {
    const unsigned char c = pick < flags.size() ? static_cast<unsigned char>(flags[pick]) : 0;
    ++pick;
    return std::string(kResults[c % kResults.size()]);
  };
  auto value = [&]() {
    const std::string_view text = next_field(input);
    check_value(text);
    return std::string(text);
  };

  Written w;
  auth::AuthResults& r = w.results;
  r.authserv_id = std::string(kAuthservId);
  w.fold = flag(0, 0);
  auto reason = [](auth::ReadResult& e, const std::string& text) {
    if (!text.empty()) e.properties.emplace_back("reason", without_crlf(text));
  };
  auto property = [](auth::ReadResult& e, std::string name, const std::string& text) {
    e.properties.emplace_back(std::move(name), without_crlf(text));
  };

  auth::AuthResults::Spf spf{result(), flag(0, 2) ? "smtp.helo" : "smtp.mailfrom", value(),
                             value()};
  if (flag(0, 1)) {
    auth::ReadResult e{"spf", spf.result, {}};
    reason(e, spf.reason);
    property(e, spf.property, spf.value);
    w.expected.push_back(std::move(e));
    r.spf = std::move(spf);
  }
  const std::size_t dkim_count =
      flags.size() > 1 ? static_cast<unsigned char>(flags[1]) % (kMaxDkim + 1) : 0;
  for (std::size_t i = 0; i < kMaxDkim; ++i) {
    auth::AuthResults::Dkim d{result(), value(), value(), value(), value()};
    if (i >= dkim_count) continue;
    auth::ReadResult e{"dkim", d.result, {}};
    reason(e, d.reason);
    if (!d.domain.empty()) property(e, "header.d", d.domain);
    if (!d.selector.empty()) property(e, "header.s", d.selector);
    if (!d.b.empty()) property(e, "header.b", d.b);
    w.expected.push_back(std::move(e));
    r.dkim.push_back(std::move(d));
  }
  if (r.dkim.empty()) w.expected.push_back({"dkim", "none", {}});

  auth::AuthResults::Dmarc dmarc{result(), value(), value(), value()};
  if (flag(0, 3)) {
    auth::ReadResult e{"dmarc", dmarc.result, {}};
    reason(e, dmarc.reason);
    if (!dmarc.from_domain.empty()) property(e, "header.from", dmarc.from_domain);
    w.expected.push_back(std::move(e));
    r.dmarc = std::move(dmarc);
  }
  auth::AuthResults::Arc arc{result(), value(), value(), std::nullopt, value()};
  if (flag(0, 4)) {
    if (flag(0, 6)) arc.oldest_pass = flags.size() > 2 ? static_cast<unsigned char>(flags[2]) : 0;
    auth::ReadResult e{"arc", arc.result, {}};
    reason(e, arc.reason);
    if (arc.oldest_pass)
      e.properties.emplace_back("header.oldest-pass", std::to_string(*arc.oldest_pass));
    if (!arc.remote_ip.empty()) property(e, "smtp.remote-ip", arc.remote_ip);
    w.expected.push_back(std::move(e));
    r.arc = std::move(arc);
  }
  auth::AuthResults::Iprev iprev{result(), value(), value()};
  if (flag(0, 5)) {
    auth::ReadResult e{"iprev", iprev.result, {}};
    property(e, "policy.iprev", iprev.ip);
    w.expected.push_back(std::move(e));
    r.iprev = std::move(iprev);
  }
  return w;
}

void check_written(const Written& w) {
  const std::string field = auth::format_results(w.results, w.fold);
  check(field.starts_with(std::string(kAuthservId) + ";"));
  std::size_t folds = 0;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\r') {
      check(w.fold && field.compare(i, 3, "\r\n\t") == 0);
      ++folds;
    } else if (field[i] == '\n') {
      check(i > 0 && field[i - 1] == '\r');
    }
  }
  check(folds == (w.fold ? w.expected.size() : 0));
  check_same(auth::read_results(std::string_view(field).substr(kAuthservId.size() + 1)),
             w.expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = mxgate::fuzz::text(data, size);
  const std::string_view resinfos = next_field(input);
  const Results results = auth::read_results(resinfos);
  check_read(results);
  check_rewritten(results);
  for (const auth::ReadResult& r : results) {
    for (const auto& property : r.properties) check_value(property.second);
  }
  if (resinfos.size() == size) return 0;  // no NUL: nothing to write
  check_written(written_from(input));
  return 0;
}
