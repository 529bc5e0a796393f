// libFuzzer target of ARC, the Authenticated Received Chain (auth/arc.hpp; RFC 8617 §4.1, §4.2.1,
// §5.1.1, §5.2, §7). The input is a message: its header is cut into fields as the message scanner
// does (dkim_verify's split_message), the body after the empty line is hashed as the scanner
// hashes it (for the DKIM signatures and the most recent AMS). The chain is then validated with
// the two RSA keys of the chain python3-dkim sealed (tests/auth/arc_vectors.hpp, selectors
// "lists" and "fwd"); any other key is not found, and selector "servfail" gets a server failure.
// Checked: is_arc_field() says whether the name is one of the three ARC fields; "none" exactly
// without ARC fields, "fail" with a problem and no sets; a sound structure has sets 1..N, N at
// most 50, each of one AAR, AMS and AS whose i= is the set's, cv=none at 1 and pass above, and no
// other ARC field; what each seal signs starts with set 1's AAR and ends with the seal itself, and
// a later seal's data holds the earlier's; validation asks at most two keys a set, ends in pass
// or fail (fail with a reason, temporary only then), a pass names N sealers and an oldest-pass
// of 0 or 2..N; a trusted vouch comes only from a passed chain whose last sealer is trusted, for
// a dmarc pass or a dkim pass aligned with the From domain.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/arc.hpp"
#include "auth/dkim_canon.hpp"
#include "auth/dkim_key_cache.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dkim_tags.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/dmarc.hpp"
#include "auth/from_domain.hpp"
#include "tests/auth/arc_vectors.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace auth = mxgate::auth;
namespace dns = mxgate::dns;
using mxgate::fuzz::check;

constexpr std::string_view kResultsName = "arc-authentication-results";
constexpr std::string_view kMessageName = "arc-message-signature";
constexpr std::string_view kSealName = "arc-seal";
constexpr std::size_t kKeysPerSet = 2;  // its AMS (step 4 or 5) and its AS (step 6)

bool named(std::string_view field, std::string_view name) {
  return auth::tag_lower(auth::header_field_name(field)) == name;
}

std::size_t count_arc_fields(std::span<const std::string_view> fields) {
  std::size_t count = 0;
  for (const std::string_view field : fields) {
    const bool arc =
        named(field, kResultsName) || named(field, kMessageName) || named(field, kSealName);
    check(auth::is_arc_field(field) == arc);
    count += arc ? 1 : 0;
  }
  return count;
}

void check_structure(std::span<const std::string_view> fields, const auth::ArcChain& chain) {
  const std::size_t arc_fields = count_arc_fields(fields);
  switch (chain.status) {
    case auth::ArcStatus::None:
      check(arc_fields == 0 && chain.sets.empty() && chain.problem.empty());
      return;
    case auth::ArcStatus::Fail:
      check(arc_fields > 0 && chain.sets.empty() && !chain.problem.empty());
      return;
    case auth::ArcStatus::Pass:
      break;
  }
  check(chain.problem.empty());
  check(!chain.sets.empty() && chain.sets.size() <= auth::kArcMaxInstance);
  check(arc_fields == 3 * chain.sets.size());  // exactly one of each per set, none elsewhere
  for (std::size_t k = 0; k < chain.sets.size(); ++k) {
    const auth::ArcSet& set = chain.sets[k];
    check(set.instance == k + 1);
    check(set.results < fields.size() && set.message < fields.size() && set.seal < fields.size());
    check(named(fields[set.results], kResultsName));
    check(named(fields[set.message], kMessageName));
    check(named(fields[set.seal], kSealName));
    check(set.message_signature.instance == set.instance);
    check(set.seal_signature.instance == set.instance);
    check(set.seal_signature.chain_validation == (set.instance == 1 ? "none" : "pass"));
    check(set.seal_signature.header_canon == auth::DkimCanon::Relaxed);
  }
}

// §5.1.1: AAR, AMS, AS of instances 1..i in order, relaxed; the seal of i last without b=.
void check_seal_data(std::span<const std::string_view> fields, const auth::ArcChain& chain) {
  std::string before;  // the data of the previous seal without that seal
  for (std::size_t k = 0; k < chain.sets.size(); ++k) {
    const auth::ArcSet& set = chain.sets[k];
    const std::string data = auth::arc_seal_signed_data(fields, chain, set);
    const std::string own =
        auth::dkim_signature_field_data(fields[set.seal], auth::DkimCanon::Relaxed);
    check(data.starts_with(std::string(kResultsName) + ":"));
    check(own.starts_with(std::string(kSealName) + ":"));
    check(data.size() > own.size() && data.ends_with(own));
    if (k > 0) {
      const auth::ArcSet& earlier = chain.sets[k - 1];
      check(data.starts_with(
          before + auth::canonicalize_header(auth::DkimCanon::Relaxed, fields[earlier.seal])));
    }
    before = data.substr(0, data.size() - own.size());
  }
}

dns::Lookup<dns::TxtRecord> key_lookup(const std::string& name) {
  dns::Lookup<dns::TxtRecord> lookup;
  std::string_view record;
  if (name == "lists._domainkey.lists.example.org") record = auth::vectors::kArcListsRecord;
  if (name == "fwd._domainkey.forwarder.example.net") record = auth::vectors::kArcForwarderRecord;
  if (!record.empty()) {
    lookup.outcome = dns::Outcome::Answer;
    lookup.records.push_back({std::string(record), 300});
  } else {
    lookup.outcome =
        name.starts_with("servfail._domainkey.") ? dns::Outcome::ServFail : dns::Outcome::NxDomain;
  }
  return lookup;
}

// The digests the message scanner has: one per c=/l= of the DKIM signatures and of AMS(N).
std::vector<auth::DkimBodyDigest> digests_of(const auth::DkimMessage& message,
                                             const auth::ArcChain& chain) {
  std::vector<auth::DkimBodyHashKey> keys;
  auto add = [&](const auth::DkimSignature& signature) {
    const auto key = auth::body_hash_key(signature);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  };
  for (const std::string_view field : message.fields) {
    if (!auth::is_dkim_signature_field(field)) continue;
    const auto parsed = auth::parse_dkim_signature(auth::header_field_value(field));
    if (parsed.signature) add(*parsed.signature);
  }
  if (chain.status == auth::ArcStatus::Pass) add(chain.sets.back().message_signature);
  std::vector<auth::DkimBodyDigest> digests;
  for (const auto& key : keys) digests.push_back(auth::dkim_body_digest(key, message.body));
  return digests;
}

void check_verdict(const auth::ArcChain& chain, const auth::ArcVerdict& verdict) {
  if (chain.status != auth::ArcStatus::Pass) {
    check(verdict.status == chain.status && verdict.reason == chain.problem);
    check(verdict.sealers.empty() && !verdict.oldest_pass && !verdict.temporary);
    return;
  }
  const std::size_t n = chain.sets.size();
  check(verdict.sealers.size() == n);
  for (std::size_t k = 0; k < n; ++k)
    check(verdict.sealers[k] == chain.sets[k].seal_signature.domain);
  check(verdict.status == auth::ArcStatus::Pass || verdict.status == auth::ArcStatus::Fail);
  if (verdict.status == auth::ArcStatus::Fail) {
    check(!verdict.reason.empty() && !verdict.oldest_pass);
    return;
  }
  check(verdict.reason.empty() && !verdict.temporary);
  check(verdict.instances() >= 1 && verdict.instances() <= auth::kArcMaxInstance);
  if (verdict.oldest_pass) {
    check(*verdict.oldest_pass == 0 || (*verdict.oldest_pass >= 2 && *verdict.oldest_pass <= n));
  }
}

void check_vouch(const auth::ArcVerdict& arc, const std::string& from) {
  static const std::array<std::string, 4> kTrusted = {"forwarder.example.net", "Lists.Example.Org",
                                                      "Google.com", "messagingengine.com"};
  const auto vouch = auth::trusted_arc_vouch(arc, from, kTrusted);
  if (!vouch) return;
  check(arc.status == auth::ArcStatus::Pass && !from.empty());
  check(vouch->sealer == arc.sealers.back());
  check(std::any_of(kTrusted.begin(), kTrusted.end(),
                    [&](const std::string& t) { return auth::tag_iequals(t, vouch->sealer); }));
  constexpr std::string_view kDkim = "dkim=pass header.d=";
  if (vouch->result != "dmarc=pass") {
    check(vouch->result.starts_with(kDkim));
    const std::string_view domain = std::string_view(vouch->result).substr(kDkim.size());
    check(auth::dmarc::aligned(domain, from, auth::dmarc::Alignment::Relaxed));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auth::DkimKeyCache keys;
  const auth::DkimMessage message = auth::split_message(mxgate::fuzz::text(data, size));
  const auth::ArcChain chain = auth::parse_arc_chain(message.fields);
  check_structure(message.fields, chain);
  check_seal_data(message.fields, chain);
  (void)auth::to_string(chain.status);

  const std::vector<auth::DkimBodyDigest> digests = digests_of(message, chain);
  auth::ArcVerification verification(chain, message.fields, digests, {});
  std::size_t asked = 0;
  while (const std::string* name = verification.next_key()) {
    check(++asked <= kKeysPerSet * chain.sets.size());
    verification.feed(key_lookup(*name), keys);
  }
  const auth::ArcVerdict& verdict = verification.verdict();
  check_verdict(chain, verdict);

  const auth::FromDomain from = auth::from_domain(message.fields);
  const std::string from_domain = from.domain.value_or("");
  check_vouch(verdict, from_domain);
  // The sealer's results as if every signature had verified: the AAR of the last set is read
  // whatever its seal says.
  if (chain.status == auth::ArcStatus::Pass) {
    auth::ArcVerdict assumed = verdict;
    assumed.status = auth::ArcStatus::Pass;
    check_vouch(assumed, from_domain);
  }
  return 0;
}
