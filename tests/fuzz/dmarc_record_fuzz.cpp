// libFuzzer target of DMARC records and the domain rules around them (auth/dmarc.hpp; RFC 7489
// §6.3, §6.6.3, §3.1 alignment; DMARCbis §4.10 tree walk). The input is a TXT string, then,
// after a NUL, a From domain and, after another, an SPF and DKIM domain.
// Checked: a parsed record was recognised as one and keeps pct in 0-100, a policy that is not
// read stays "none"; for a DNS name (no empty label: what the callers hand over), the
// organizational domain is a suffix of the lower-cased name and its own organizational domain,
// and the name is aligned with itself and with it; strict alignment implies relaxed alignment;
// the tree walk asks at most 7 parents, each a proper suffix of the name; evaluating the record
// passes exactly when SPF or DKIM aligned.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim_tags.hpp"
#include "auth/dmarc.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace dmarc = mxgate::auth::dmarc;
using mxgate::fuzz::check;

constexpr std::size_t kMaxTreeWalkParents = 7;  // 8 queries in all (DMARCbis §4.10)

std::string_view next_field(std::string_view& input) {
  const std::size_t nul = input.find('\0');
  const std::string_view field = input.substr(0, nul);
  input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  return field;
}

// A name as the callers hand it over (From, MAIL FROM and d= domains are checked before): no
// empty label once the one final dot the DMARC functions drop is gone.
bool dns_name(std::string_view lower) {
  return !lower.empty() && lower.front() != '.' && lower.back() != '.' &&
         lower.find("..") == std::string_view::npos;
}

void check_domain(std::string_view name) {
  std::string lower = mxgate::auth::tag_lower(name);
  if (lower.ends_with('.')) lower.pop_back();  // the DMARC functions take one final dot off
  const std::string org = dmarc::organizational_domain(name);
  if (dns_name(lower)) {
    check(lower.ends_with(org));
    check(dmarc::organizational_domain(org) == org);
    check(dmarc::aligned(name, lower, dmarc::Alignment::Strict));
    check(dmarc::aligned(name, org, dmarc::Alignment::Relaxed));
  }
  const auto parents = dmarc::tree_walk_targets(lower);
  check(parents.size() <= kMaxTreeWalkParents);
  for (const auto& parent : parents) check(parent.size() < lower.size() && lower.ends_with(parent));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = mxgate::fuzz::text(data, size);
  const std::string_view txt = next_field(input);
  const std::string_view from = next_field(input);
  const std::string_view spf = next_field(input);
  const std::string_view dkim = next_field(input);

  const dmarc::ParsedRecord parsed = dmarc::parse_record(txt);
  check(parsed.record.has_value() == parsed.error.empty());
  for (const std::string_view name : {from, spf, dkim}) check_domain(name);
  for (const auto mode : {dmarc::Alignment::Strict, dmarc::Alignment::Relaxed}) {
    (void)dmarc::aligned(spf, from, mode);
  }
  if (dmarc::aligned(spf, from, dmarc::Alignment::Strict)) {
    check(dmarc::aligned(spf, from, dmarc::Alignment::Relaxed));
  }
  if (!parsed.record) return 0;
  const dmarc::Record& record = *parsed.record;
  check(dmarc::is_dmarc_record(txt));
  check(record.pct >= 0 && record.pct <= 100);
  (void)dmarc::policy_name(record.p);

  dmarc::Inputs inputs;
  inputs.from_domain = std::string(from);
  inputs.spf_pass = !spf.empty();
  inputs.spf_domain = std::string(spf);
  if (!dkim.empty()) inputs.dkim_passes.push_back({std::string(dkim)});
  const dmarc::Evaluation e = dmarc::evaluate(record, dmarc::organizational_domain(from), inputs);
  check((e.result == dmarc::Result::Pass) == (e.spf_aligned || e.dkim_aligned));
  check(e.result == dmarc::Result::Pass || e.result == dmarc::Result::Fail);
  check(e.policy == record.p || (record.sp && e.policy == *record.sp));
  return 0;
}
