// libFuzzer target of SPF record parsing (auth/spf_record.hpp; RFC 7208 §4.5, §4.6, §5, §6).
// The input is a TXT string as published. Checked: a parsed record's terms keep their ranges
// (CIDR lengths, address families, domain-specs that are valid macro-strings); the record
// written again from its terms as sent parses to the same record; what parse_record() accepts,
// is_spf_record() recognises; a record refused says why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/spf_macro.hpp"
#include "auth/spf_record.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace spf = mxgate::auth::spf;
using mxgate::fuzz::check;

bool same_network(const mxgate::common::Cidr& a, const mxgate::common::Cidr& b) {
  return a.prefix == b.prefix && a.network.family == b.network.family &&
         a.network.bytes == b.network.bytes;
}

void check_mechanism(const spf::Mechanism& m) {
  check(!m.text.empty());
  check(m.qualifier == spf::Result::Pass || m.qualifier == spf::Result::Fail ||
        m.qualifier == spf::Result::SoftFail || m.qualifier == spf::Result::Neutral);
  check(m.v4_prefix >= 0 && m.v4_prefix <= 32 && m.v6_prefix >= 0 && m.v6_prefix <= 128);
  if (!m.domain_spec.empty()) {
    check(spf::valid_macro_string(m.domain_spec, spf::MacroUse::DomainSpec));
  }
  switch (m.kind) {
    case spf::MechanismKind::Include:
    case spf::MechanismKind::Exists:
      check(!m.domain_spec.empty());
      break;
    case spf::MechanismKind::Ip4:
      check(m.network.network.family == 4 && m.network.prefix <= 32);
      check(mxgate::common::parse_cidr(m.network.text()).has_value());
      break;
    case spf::MechanismKind::Ip6:
      check(m.network.network.family == 6 && m.network.prefix <= 128);
      // An IPv4-mapped network stays IPv6 and never matches (RFC 7208 §5); parse_cidr reads
      // its text as IPv4.
      check(mxgate::common::unmapped(m.network.network).family == 4 ||
            mxgate::common::parse_cidr(m.network.text()).has_value());
      break;
    default:
      break;
  }
  (void)spf::mechanism_name(m.kind);
}

std::string written_again(const spf::Record& r) {
  std::string out = "v=spf1";
  for (const auto& m : r.mechanisms) out += " " + m.text;
  if (r.redirect) out += " redirect=" + *r.redirect;
  if (r.exp) out += " exp=" + *r.exp;
  return out;
}

void check_same(const spf::Record& a, const spf::Record& b) {
  check(a.mechanisms.size() == b.mechanisms.size());
  check(a.redirect == b.redirect && a.exp == b.exp);
  for (std::size_t i = 0; i < a.mechanisms.size(); ++i) {
    const auto& x = a.mechanisms[i];
    const auto& y = b.mechanisms[i];
    check(x.kind == y.kind && x.qualifier == y.qualifier && x.domain_spec == y.domain_spec);
    check(x.v4_prefix == y.v4_prefix && x.v6_prefix == y.v6_prefix && x.text == y.text);
    check(same_network(x.network, y.network));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view txt = mxgate::fuzz::text(data, size);
  const bool recognised = spf::is_spf_record(txt);
  const spf::ParsedRecord parsed = spf::parse_record(txt);
  if (!parsed.record) {
    check(!parsed.error.empty());
    return 0;
  }
  check(recognised);
  const spf::Record& record = *parsed.record;
  for (const auto& m : record.mechanisms) check_mechanism(m);
  if (record.redirect) check(spf::valid_macro_string(*record.redirect, spf::MacroUse::DomainSpec));
  if (record.exp) check(spf::valid_macro_string(*record.exp, spf::MacroUse::DomainSpec));

  const spf::ParsedRecord again = spf::parse_record(written_again(record));
  check(again.record.has_value());
  check_same(record, *again.record);
  return 0;
}
