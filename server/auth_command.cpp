#include "server/auth_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <istream>
#include <iterator>

#include "auth/dkim_signature.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/spf.hpp"
#include "dns/ares_resolver.hpp"

namespace mxgate::server {
namespace {

namespace asio = boost::asio;
constexpr int kExitUsage = 2;

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

}  // namespace

int run_spf(const SpfRequest& request) {
  const auto ip = common::parse_ip(request.ip);
  if (!ip) {
    fmt::print(stderr, "mxgate spf: --ip {}: not an IP address\n", request.ip);
    return kExitUsage;
  }
  std::string sender = request.sender;
  if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>') {
    sender = sender.substr(1, sender.size() - 2);
  }
  auth::spf::Identity identity{*ip, request.helo, sender};
  auth::spf::Options options;
  options.receiver = host_name();
  options.now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auth::spf::Evaluation evaluation;
  run_with_resolver(request.dns, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    evaluation = co_await auth::spf::check_mail_from(resolver, identity, options);
  });
  const std::string details = spf_details(evaluation);
  fmt::print("{}{}{}\n", auth::spf::result_name(evaluation.result), details.empty() ? "" : " ",
             details);
  return 0;
}

namespace {

struct DkimLine {
  auth::DkimVerdict verdict;
  std::string domain, selector;
};

asio::awaitable<DkimLine> verify_one(dns::Resolver& resolver, const auth::DkimMessage& message,
                                     std::size_t index, std::int64_t now) {
  DkimLine line;
  const std::string_view field = message.fields[index];
  const auto colon = field.find(':');
  const auto parsed = auth::parse_dkim_signature(field.substr(colon + 1));
  line.domain = parsed.domain;
  line.selector = parsed.selector;
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

}  // namespace

int run_dkim(const DnsOptions& dns_options, std::istream& input) {
  const std::string raw{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  const std::string text = auth::normalize_line_endings(raw);
  const auth::DkimMessage message = auth::split_message(text);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<DkimLine> lines;
  run_with_resolver(dns_options, [&](dns::Resolver& resolver) -> asio::awaitable<void> {
    for (std::size_t i = 0; i < message.fields.size(); ++i) {
      if (!auth::is_dkim_signature_field(message.fields[i])) continue;
      DkimLine line = co_await verify_one(resolver, message, i, now);
      lines.push_back(std::move(line));
    }
  });
  if (lines.empty()) fmt::print("none\n");
  for (const auto& line : lines) {
    fmt::print("{} d={} s={}{}{}\n", auth::to_string(line.verdict.status), line.domain,
               line.selector, line.verdict.reason.empty() ? "" : " ", line.verdict.reason);
  }
  return 0;
}

}  // namespace mxgate::server
