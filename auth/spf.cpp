#include "auth/spf.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "auth/spf_macro.hpp"

namespace mxgate::auth::spf {

namespace asio = boost::asio;

namespace {

bool iends_with(std::string_view name, std::string_view suffix) {
  if (suffix.size() > name.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), name.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

std::string strip_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// A name that the lookup may carry: labels of 1 to 63 octets, 253 in all.
bool valid_query_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto dot = std::min(name.find('.', start), name.size());
    const auto length = dot - start;
    if (length == 0 || length > 63) return false;
    start = dot + 1;
  }
  return true;
}

bool failed(dns::Outcome outcome) { return dns::is_failure(outcome); }
bool is_void(dns::Outcome outcome) {
  return outcome == dns::Outcome::NxDomain || outcome == dns::Outcome::NoData;
}

// A mechanism's verdict: matched, not matched, or the evaluation ends with `abort`.
struct Step {
  bool matched = false;
  std::optional<Result> abort;
  std::string problem;
};

Step abort_with(Result result, std::string problem) {
  return Step{false, result, std::move(problem)};
}

class Evaluator {
 public:
  // `sender`: the <sender> of every check_host() of this evaluation ("local@domain").
  Evaluator(dns::Resolver& resolver, const Identity& identity, const Options& options,
            const std::string& sender)
      : resolver_(resolver), identity_(identity), options_(options) {
    const auto at = sender.rfind('@');
    macros_.sender = sender;
    macros_.local_part = sender.substr(0, at);
    macros_.sender_domain = sender.substr(at + 1);
    macros_.ip = identity.ip;  // unmapped by the caller
    macros_.helo = identity.helo;
    macros_.receiver = options.receiver;
    macros_.now = options.now;
  }

  asio::awaitable<Evaluation> check_host(std::string domain);

 private:
  asio::awaitable<Step> evaluate(const Mechanism& m, const std::string& domain);
  asio::awaitable<Step> match_addresses(const std::string& target, int v4_prefix, int v6_prefix,
                                        bool count_void);
  asio::awaitable<Step> match_mx(const std::string& target, int v4_prefix, int v6_prefix);
  asio::awaitable<Step> match_ptr(const std::string& target);
  asio::awaitable<Step> match_exists(const std::string& target);
  asio::awaitable<std::string> validated_ptr_name();
  asio::awaitable<std::string> explain(const std::string& exp, const std::string& domain);
  asio::awaitable<std::optional<std::string>> expand(const std::string& spec,
                                                     const std::string& domain, MacroUse use);
  asio::awaitable<dns::Lookup<dns::AddressRecord>> addresses(const std::string& name);
  std::optional<Step> count_term();
  std::optional<Step> count_void();

  dns::Resolver& resolver_;
  const Identity& identity_;
  const Options& options_;
  unsigned dns_terms_ = 0;
  unsigned void_lookups_ = 0;
  MacroContext macros_;  // what every expansion shares; domain and %{p} are set per use
  std::optional<std::string> validated_ptr_;
};

std::optional<Step> Evaluator::count_term() {
  if (++dns_terms_ > options_.limits.max_dns_terms) {
    return abort_with(
        Result::PermError,
        "more than " + std::to_string(options_.limits.max_dns_terms) + " DNS-querying terms");
  }
  return std::nullopt;
}

std::optional<Step> Evaluator::count_void() {
  if (++void_lookups_ > options_.limits.max_void_lookups) {
    return abort_with(
        Result::PermError,
        "more than " + std::to_string(options_.limits.max_void_lookups) + " void lookups");
  }
  return std::nullopt;
}

// The client family's address records of `name` (A for IPv4, AAAA for IPv6).
asio::awaitable<dns::Lookup<dns::AddressRecord>> Evaluator::addresses(const std::string& name) {
  if (!valid_query_name(name)) {
    dns::Lookup<dns::AddressRecord> none;
    none.outcome = dns::Outcome::NxDomain;  // a name no DNS can hold has no records
    co_return none;
  }
  auto lookup = co_await resolver_.addresses(name, identity_.ip.family);
  co_return lookup;
}

asio::awaitable<std::optional<std::string>> Evaluator::expand(const std::string& spec,
                                                              const std::string& domain,
                                                              MacroUse use) {
  MacroContext context = macros_;
  context.domain = domain;
  if (uses_ptr_macro(spec)) context.validated_ptr = co_await validated_ptr_name();
  co_return expand_macros(spec, context, use);
}

// %{p} (§7.3): the first PTR name of the client that resolves back to it, else "unknown".
asio::awaitable<std::string> Evaluator::validated_ptr_name() {
  if (validated_ptr_) co_return *validated_ptr_;
  validated_ptr_ = "unknown";
  const auto ptr = co_await resolver_.ptr(identity_.ip);
  std::size_t tried = 0;
  for (const auto& record : ptr.records) {
    if (++tried > options_.limits.max_ptr_names) break;
    const auto found = co_await addresses(record.name);
    if (dns::has_address(found, identity_.ip)) {
      validated_ptr_ = strip_dot(record.name);
      break;
    }
  }
  co_return *validated_ptr_;
}

asio::awaitable<Step> Evaluator::match_addresses(const std::string& target, int v4_prefix,
                                                 int v6_prefix, bool count_void_lookup) {
  const auto found = co_await addresses(target);
  if (failed(found.outcome)) {
    co_return abort_with(Result::TempError, "lookup of " + target + " failed");
  }
  if (is_void(found.outcome) && count_void_lookup) {
    if (auto over = count_void()) co_return std::move(*over);
  }
  const int prefix = identity_.ip.family == 4 ? v4_prefix : v6_prefix;
  for (const auto& record : found.records) {
    if (record.address.family == identity_.ip.family &&
        common::network_of(record.address, prefix).contains(identity_.ip)) {
      co_return Step{true, std::nullopt, {}};
    }
  }
  co_return Step{};
}

asio::awaitable<Step> Evaluator::match_mx(const std::string& target, int v4_prefix, int v6_prefix) {
  if (!valid_query_name(target)) {
    auto over = count_void();
    if (over) co_return std::move(*over);
    co_return Step{};
  }
  const auto mx = co_await resolver_.mx(target);
  if (failed(mx.outcome))
    co_return abort_with(Result::TempError, "MX lookup of " + target + " failed");
  if (is_void(mx.outcome)) {
    auto over = count_void();
    if (over) co_return std::move(*over);
    co_return Step{};
  }
  if (mx.records.size() > options_.limits.max_mx_names) {
    co_return abort_with(
        Result::PermError,
        target + " has more than " + std::to_string(options_.limits.max_mx_names) + " MX names");
  }
  for (const auto& record : mx.records) {
    if (record.exchange.empty() || record.exchange == ".") continue;  // null MX (RFC 7505)
    const auto step = co_await match_addresses(record.exchange, v4_prefix, v6_prefix, false);
    if (step.matched || step.abort) co_return step;
  }
  co_return Step{};
}

// §5.5: a PTR name that resolves back to the client and is the target or under it.
asio::awaitable<Step> Evaluator::match_ptr(const std::string& target) {
  const auto ptr = co_await resolver_.ptr(identity_.ip);
  if (!ptr.ok()) {
    // "If a DNS error occurs while doing the PTR RR lookup, then this mechanism fails to match."
    if (is_void(ptr.outcome)) {
      auto over = count_void();
      if (over) co_return std::move(*over);
    }
    co_return Step{};
  }
  const std::string wanted = strip_dot(target);
  std::size_t tried = 0;
  for (const auto& record : ptr.records) {
    if (++tried > options_.limits.max_ptr_names) break;
    const std::string name = strip_dot(record.name);
    const bool under =
        name.size() == wanted.size() ? iends_with(name, wanted) : iends_with(name, "." + wanted);
    if (!under) continue;
    const auto found = co_await addresses(name);
    if (dns::has_address(found, identity_.ip)) co_return Step{true, std::nullopt, {}};
  }
  co_return Step{};
}

// §5.7: any A record at all (A even for an IPv6 client).
asio::awaitable<Step> Evaluator::match_exists(const std::string& target) {
  if (!valid_query_name(target)) {
    auto over = count_void();
    if (over) co_return std::move(*over);
    co_return Step{};
  }
  const auto lookup = co_await resolver_.a(target);
  if (failed(lookup.outcome))
    co_return abort_with(Result::TempError, "lookup of " + target + " failed");
  if (lookup.ok()) co_return Step{true, std::nullopt, {}};
  auto over = count_void();
  if (over) co_return std::move(*over);
  co_return Step{};
}

asio::awaitable<Step> Evaluator::evaluate(const Mechanism& m, const std::string& domain) {
  switch (m.kind) {
    case MechanismKind::All:
      co_return Step{true, std::nullopt, {}};
    case MechanismKind::Ip4:
    case MechanismKind::Ip6:
      co_return Step{m.network.contains(identity_.ip), std::nullopt, {}};
    default:
      break;
  }
  if (auto over = count_term()) co_return std::move(*over);
  std::string target = domain;
  if (!m.domain_spec.empty()) {
    auto expanded = co_await expand(m.domain_spec, domain, MacroUse::DomainSpec);
    if (!expanded) co_return abort_with(Result::PermError, "bad macro in " + m.text);
    target = std::move(*expanded);
  }
  switch (m.kind) {
    case MechanismKind::A: {
      auto step = co_await match_addresses(target, m.v4_prefix, m.v6_prefix, true);
      co_return step;
    }
    case MechanismKind::Mx: {
      auto step = co_await match_mx(target, m.v4_prefix, m.v6_prefix);
      co_return step;
    }
    case MechanismKind::Ptr: {
      auto step = co_await match_ptr(target);
      co_return step;
    }
    case MechanismKind::Exists: {
      auto step = co_await match_exists(target);
      co_return step;
    }
    case MechanismKind::Include: {
      // §5.2: pass matches; fail, softfail and neutral do not; errors propagate; a target
      // without a record is a permerror.
      const auto inner = co_await check_host(target);
      switch (inner.result) {
        case Result::Pass:
          co_return Step{true, std::nullopt, {}};
        case Result::Fail:
        case Result::SoftFail:
        case Result::Neutral:
          co_return Step{};
        case Result::TempError:
          co_return abort_with(Result::TempError, inner.problem);
        case Result::None:
          co_return abort_with(Result::PermError, "include:" + target + " has no SPF record");
        case Result::PermError:
          co_return abort_with(Result::PermError, inner.problem);
      }
      co_return Step{};
    }
    default:
      co_return Step{};
  }
}

// §6.2: the TXT record at the expanded exp= name, macro-expanded; "" when anything is amiss.
asio::awaitable<std::string> Evaluator::explain(const std::string& exp, const std::string& domain) {
  const auto name = co_await expand(exp, domain, MacroUse::DomainSpec);
  if (!name || !valid_query_name(*name)) co_return std::string();
  const auto txt = co_await resolver_.txt(*name);
  if (!txt.ok() || txt.records.size() != 1) co_return std::string();
  const auto text = co_await expand(txt.records.front().text, domain, MacroUse::Explanation);
  co_return text.value_or(std::string());
}

asio::awaitable<Evaluation> Evaluator::check_host(std::string domain) {
  Evaluation out;
  // A trailing dot is not part of <domain>: %{d} and its transformers see the name without it.
  domain = strip_dot(std::move(domain));
  out.domain = domain;
  if (!valid_domain(domain)) co_return out;  // §4.3: none
  const auto txt = co_await resolver_.txt(domain);
  if (failed(txt.outcome)) {
    out.result = Result::TempError;
    out.problem = "TXT lookup of " + out.domain + " failed";
    co_return out;
  }
  std::vector<std::string_view> records;
  for (const auto& record : txt.records) {
    if (is_spf_record(record.text)) records.emplace_back(record.text);
  }
  if (records.empty()) co_return out;  // none
  if (records.size() > 1) {
    out.result = Result::PermError;
    out.problem = out.domain + " has " + std::to_string(records.size()) + " SPF records";
    co_return out;
  }
  auto parsed = parse_record(records.front());
  if (!parsed.record) {
    out.result = Result::PermError;
    out.problem = out.domain + ": " + parsed.error;
    co_return out;
  }
  const Record& record = *parsed.record;
  for (const auto& mechanism : record.mechanisms) {
    const auto step = co_await evaluate(mechanism, domain);
    if (step.abort) {
      out.result = *step.abort;
      out.problem = step.problem;
      co_return out;
    }
    if (!step.matched) continue;
    out.result = mechanism.qualifier;
    out.mechanism = mechanism.text;
    if (out.result == Result::Fail && record.exp) {
      out.explanation = co_await explain(*record.exp, domain);
    }
    co_return out;
  }
  if (!record.redirect) {
    out.result = Result::Neutral;  // §4.7: no match, no redirect
    co_return out;
  }
  if (auto over = count_term()) {
    out.result = Result::PermError;
    out.problem = over->problem;
    co_return out;
  }
  const auto target = co_await expand(*record.redirect, domain, MacroUse::DomainSpec);
  if (!target) {
    out.result = Result::PermError;
    out.problem = "bad macro in redirect=";
    co_return out;
  }
  Evaluation redirected = co_await check_host(*target);
  if (redirected.result == Result::None) {  // §6.1
    redirected.result = Result::PermError;
    redirected.problem = "redirect=" + strip_dot(*target) + " has no SPF record";
  }
  co_return redirected;
}

std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? address : address.substr(at + 1);
}

}  // namespace

bool valid_domain(std::string_view name) {
  if (!valid_query_name(name)) return false;
  if (name.back() == '.') name.remove_suffix(1);
  return name.find('.') != std::string_view::npos;
}

asio::awaitable<Evaluation> check_mail_from(dns::Resolver& resolver, Identity identity,
                                            Options options) {
  identity.ip = common::unmapped(identity.ip);  // §5: an IPv4-mapped client is IPv4
  std::string sender = identity.sender;
  if (sender.empty()) sender = "postmaster@" + identity.helo;  // §2.4
  const auto at = sender.rfind('@');
  if (at == std::string::npos) {
    sender = "postmaster@" + sender;
  } else if (at == 0) {
    sender = "postmaster" + sender;  // §4.3: no local-part
  }
  Evaluator evaluator(resolver, identity, options, sender);
  auto evaluation = co_await evaluator.check_host(domain_of(sender));
  co_return evaluation;
}

asio::awaitable<Evaluation> check_helo(dns::Resolver& resolver, Identity identity,
                                       Options options) {
  identity.ip = common::unmapped(identity.ip);  // §5: an IPv4-mapped client is IPv4
  if (identity.helo.empty() || identity.helo.front() == '[') {
    Evaluation none;
    none.domain = identity.helo;
    co_return none;
  }
  Evaluator evaluator(resolver, identity, options, "postmaster@" + identity.helo);
  auto evaluation = co_await evaluator.check_host(identity.helo);
  co_return evaluation;
}

}  // namespace mxgate::auth::spf
