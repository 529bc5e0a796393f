#include "server/auth_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <istream>
#include <iterator>

#include <openssl/evp.h>

#include "auth/dkim_signature.hpp"
#include "auth/dmarc.hpp"
#include "auth/from_domain.hpp"
#include "auth/iprev.hpp"
#include "auth/results.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/spf.hpp"
#include "dns/ares_resolver.hpp"

namespace mxgate::server {
namespace {

namespace asio = boost::asio;
constexpr int kExitUsage = 2;
constexpr std::size_t kMaxSignatures = 20;  // verified per message; the rest are listed neutral

dns::AresSettings resolver_settings(const DnsOptions& options) {
  dns::AresSettings settings;
  if (!options.server.empty()) settings.servers = {options.server};
  settings.timeout = std::chrono::milliseconds(options.timeout_ms);
  settings.tries = 1;  // --dns-timeout-ms bounds each query
  return settings;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Runs `work` (a coroutine) on a fresh io_context with a resolver; rethrows its exception.
template <typename Work>
void run_with_resolver(const DnsOptions& options, Work work) {
  asio::io_context io(1);
  dns::AresResolver resolver(io.get_executor(), resolver_settings(options));
  std::exception_ptr failure;
  asio::co_spawn(io, work(resolver), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

std::string spf_details(const auth::spf::Evaluation& e) {
  if (!e.explanation.empty()) return e.explanation;
  if (!e.problem.empty()) return e.problem;
  if (!e.mechanism.empty()) return fmt::format("domain={} mechanism={}", e.domain, e.mechanism);
  return e.domain.empty() ? std::string() : fmt::format("domain={}", e.domain);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The SPF identity of a request; nullopt (after a message on stderr) for a bad --ip.
std::optional<auth::spf::Identity> identity_of(const SpfRequest& request, const char* command) {
  const auto ip = common::parse_ip(request.ip);
  if (!ip) {
    fmt::print(stderr, "mxgate {}: --ip {}: not an IP address\n", command, request.ip);
    return std::nullopt;
  }
  std::string sender = request.sender;
  if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>') {
    sender = sender.substr(1, sender.size() - 2);
  }
  return auth::spf::Identity{*ip, request.helo, sender};
}

auth::spf::Options spf_options() {
  auth::spf::Options options;
  options.receiver = host_name();
  options.now = unix_now();
  return options;
}

}  // namespace

int run_spf(const SpfRequest& request) {
  const auto identity = identity_of(request, "spf");
  if (!identity) return kExitUsage;
  const auto options = spf_options();
  auth::spf::Evaluation evaluation;
  run_with_resolver(request.dns, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    evaluation = co_await auth::spf::check_mail_from(resolver, *identity, options);
  });
  const std::string details = spf_details(evaluation);
  fmt::print("{}{}{}\n", auth::spf::result_name(evaluation.result), details.empty() ? "" : " ",
             details);
  return 0;
}

namespace {

// header.b (RFC 6008): the first 8 characters of the signature in base64.
std::string b_prefix(const std::string& signature) {
  std::string out(4 * ((signature.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(signature.data()),
                                static_cast<int>(signature.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out.substr(0, 8);
}

struct DkimLine {
  auth::DkimVerdict verdict;
  std::string domain, selector;
  std::string b;  // header.b
};

asio::awaitable<DkimLine> verify_one(dns::Resolver& resolver, const auth::DkimMessage& message,
                                     std::size_t index, std::int64_t now) {
  DkimLine line;
  const std::string_view field = message.fields[index];
  const auto colon = field.find(':');
  const auto parsed = auth::parse_dkim_signature(field.substr(colon + 1));
  line.domain = parsed.domain;
  line.selector = parsed.selector;
  if (parsed.signature) line.b = b_prefix(parsed.signature->signature);
  if (!parsed.signature) {
    line.verdict = {auth::DkimStatus::Neutral, parsed.error};
    co_return line;
  }
  const auto key = co_await resolver.txt(parsed.signature->key_query_name());
  if (dns::is_failure(key.outcome)) {
    line.verdict = {auth::DkimStatus::TempError,
                    fmt::format("key lookup failed: {}", dns::to_string(key.outcome))};
    co_return line;
  }
  if (!key.ok()) {
    line.verdict = {auth::DkimStatus::PermError, "no key record"};
    co_return line;
  }
  auth::DkimVerifyOptions options;
  options.now = now;
  line.verdict = auth::verify_dkim_message(message, index, key.records.front().text, options);
  co_return line;
}


std::string read_message(std::istream& input) {
  const std::string raw{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  return auth::normalize_line_endings(raw);
}

asio::awaitable<std::vector<DkimLine>> verify_all(dns::Resolver& resolver,
                                                  const auth::DkimMessage& message) {
  std::vector<DkimLine> lines;
  const auto now = unix_now();
  for (std::size_t i = 0; i < message.fields.size(); ++i) {
    if (!auth::is_dkim_signature_field(message.fields[i])) continue;
    if (lines.size() >= kMaxSignatures) {  // each costs a key lookup: bound them
      const std::string_view field = message.fields[i];
      const auto parsed = auth::parse_dkim_signature(field.substr(field.find(':') + 1));
      lines.push_back({{auth::DkimStatus::Neutral,
                        fmt::format("not verified: more than {} signatures", kMaxSignatures)},
                       parsed.domain, parsed.selector, {}});
      continue;
    }
    DkimLine line = co_await verify_one(resolver, message, i, now);
    lines.push_back(std::move(line));
  }
  co_return lines;
}

using auth::AuthResults;

// DMARC for the message: its From domain's policy applied to the SPF and DKIM results.
asio::awaitable<AuthResults::Dmarc> dmarc_result(dns::Resolver& resolver,
                                                 const auth::DkimMessage& message,
                                                 auth::dmarc::Inputs inputs) {
  AuthResults::Dmarc out;
  const auto from = auth::from_domain(message.fields);
  if (!from.domain) {
    out.result = "fail";  // issue 5: not exactly one From address with one domain
    out.reason = from.problem;
    co_return out;
  }
  out.from_domain = *from.domain;
  inputs.from_domain = *from.domain;
  const auto found = co_await auth::dmarc::discover_policy(resolver, *from.domain);
  if (found.result != auth::dmarc::Result::Pass) {
    out.result = std::string(auth::dmarc::result_name(found.result));
    out.reason = found.problem;
    co_return out;
  }
  const auto evaluation = auth::dmarc::evaluate(*found.record, found.domain, inputs);
  out.result = std::string(auth::dmarc::result_name(evaluation.result));
  out.policy = "p=" + std::string(auth::dmarc::policy_name(evaluation.policy));
  co_return out;
}

}  // namespace

int run_dkim(const DnsOptions& dns_options, std::istream& input) {
  const std::string text = read_message(input);
  const auth::DkimMessage message = auth::split_message(text);
  std::vector<DkimLine> lines;
  run_with_resolver(dns_options, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    lines = co_await verify_all(resolver, message);
  });
  if (lines.empty()) fmt::print("none\n");
  for (const auto& line : lines) {
    fmt::print("{} d={} s={}{}{}\n", auth::to_string(line.verdict.status), line.domain,
               line.selector, line.verdict.reason.empty() ? "" : " ", line.verdict.reason);
  }
  return 0;
}

int run_auth(const SpfRequest& request, std::istream& input) {
  const auto identity = identity_of(request, "auth");
  if (!identity) return kExitUsage;
  const auto options = spf_options();
  const std::string text = read_message(input);
  const auth::DkimMessage message = auth::split_message(text);
  auth::AuthResults results;
  results.authserv_id = host_name();
  run_with_resolver(request.dns, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    const auto spf = co_await auth::spf::check_mail_from(resolver, *identity, options);
    const bool null_sender = identity->sender.empty();
    results.spf = AuthResults::Spf{std::string(auth::spf::result_name(spf.result)),
                                   null_sender ? "smtp.helo" : "smtp.mailfrom",
                                   null_sender ? identity->helo : identity->sender, spf.problem};
    const auto dkim = co_await verify_all(resolver, message);
    auth::dmarc::Inputs inputs;
    inputs.spf_pass = spf.result == auth::spf::Result::Pass;
    inputs.spf_domain = spf.domain;
    for (const auto& line : dkim) {
      results.dkim.push_back({std::string(auth::to_string(line.verdict.status)), line.domain,
                              line.selector, line.b, line.verdict.reason});
      if (line.verdict.status == auth::DkimStatus::Pass) inputs.dkim_passes.push_back({line.domain});
    }
    results.dmarc = co_await dmarc_result(resolver, message, std::move(inputs));
    const auto iprev = co_await auth::check_iprev(resolver, identity->ip);
    results.iprev = AuthResults::Iprev{std::string(auth::iprev_result_name(iprev.result)),
                                       request.ip, iprev.name};
  });
  fmt::print("{}\n", auth::format_results(results, false));
  return 0;
}

}  // namespace mxgate::server
