#include "auth/arc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include "auth/dkim_tags.hpp"
#include "auth/dmarc.hpp"
#include "auth/results.hpp"

namespace mxgate::auth {

namespace {

enum class ArcField { Results, Message, Seal };

constexpr std::size_t kAbsent = std::numeric_limits<std::size_t>::max();

std::optional<ArcField> arc_field_kind(std::string_view field) {
  const std::string_view name = header_field_name(field);
  if (tag_iequals(name, "arc-authentication-results")) return ArcField::Results;
  if (tag_iequals(name, "arc-message-signature")) return ArcField::Message;
  if (tag_iequals(name, "arc-seal")) return ArcField::Seal;
  return std::nullopt;
}

std::string_view field_label(ArcField kind) {
  switch (kind) {
    case ArcField::Results:
      return "ARC-Authentication-Results";
    case ArcField::Message:
      return "ARC-Message-Signature";
    case ArcField::Seal:
      return "ARC-Seal";
  }
  return "ARC field";
}

std::string_view trim_fws(std::string_view text) {
  while (!text.empty() && is_fws(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_fws(text.back())) text.remove_suffix(1);
  return text;
}

// An AAR value: arc-info = "i" [CFWS] "=" [CFWS] i-value [CFWS] ";" then the results
// (§4.1.1). The instance and what follows the ";".
struct ResultsInfo {
  unsigned instance = 0;
  std::string_view results;
};

std::optional<ResultsInfo> read_results_info(std::string_view value) {
  const auto semicolon = value.find(';');
  if (semicolon == std::string_view::npos) return std::nullopt;
  const std::string_view info = trim_fws(value.substr(0, semicolon));
  const auto equals = info.find('=');
  if (equals == std::string_view::npos || trim_fws(info.substr(0, equals)) != "i") {
    return std::nullopt;
  }
  const auto instance = parse_arc_instance(trim_fws(info.substr(equals + 1)));
  if (!instance) return std::nullopt;
  return ResultsInfo{*instance, value.substr(semicolon + 1)};
}

// What one instance's fields are, while they are collected.
struct Slots {
  std::array<std::size_t, 3> field{kAbsent, kAbsent, kAbsent};  // by ArcField
  DkimSignature message, seal;
};

}  // namespace

std::string_view to_string(ArcStatus status) {
  switch (status) {
    case ArcStatus::None:
      return "none";
    case ArcStatus::Pass:
      return "pass";
    case ArcStatus::Fail:
      return "fail";
  }
  return "fail";
}

bool is_arc_field(std::string_view field) { return arc_field_kind(field).has_value(); }

ArcChain parse_arc_chain(std::span<const std::string_view> fields) {
  ArcChain chain;
  auto fail = [&](std::string problem) {
    chain.status = ArcStatus::Fail;
    chain.problem = std::move(problem);
    chain.sets.clear();
    return chain;
  };
  std::vector<Slots> slots;  // by instance; allocated at the first ARC field
  unsigned highest = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto kind = arc_field_kind(fields[i]);
    if (!kind) continue;
    if (slots.empty()) slots.resize(kArcMaxInstance + 1);
    const std::string_view value = header_field_value(fields[i]);
    unsigned instance = 0;
    std::optional<DkimSignature> signature;
    if (*kind == ArcField::Results) {
      const auto info = read_results_info(value);
      if (!info) return fail("ARC-Authentication-Results without a valid i= (1 to 50)");
      instance = info->instance;
    } else {
      const auto which =
          *kind == ArcField::Message ? SignatureField::ArcMessage : SignatureField::ArcSeal;
      auto parsed = parse_dkim_signature(value, which);
      if (!parsed.signature) {
        return fail(fmt::format("{}: {}", field_label(*kind), parsed.error));
      }
      instance = parsed.signature->instance;
      signature = std::move(parsed.signature);
    }
    Slots& slot = slots[instance];
    auto& index = slot.field[static_cast<std::size_t>(*kind)];
    // §5.2 step 3: "exactly one each of the three ARC header fields" per set.
    if (index != kAbsent) {
      return fail(fmt::format("two {} fields with i={}", field_label(*kind), instance));
    }
    index = i;
    if (signature) (*kind == ArcField::Message ? slot.message : slot.seal) = std::move(*signature);
    highest = std::max(highest, instance);
  }
  if (highest == 0) return chain;  // §5.2 step 1: no ARC set, "none"
  // §5.2 step 2: the last seal says the chain it saw had failed.
  const Slots& last = slots[highest];
  if (last.field[static_cast<std::size_t>(ArcField::Seal)] != kAbsent &&
      last.seal.chain_validation == "fail") {
    return fail(fmt::format("the ARC-Seal of i={} says cv=fail", highest));
  }
  // §5.2 step 3: instances 1..N, each complete; cv=none at i=1 and cv=pass above.
  for (unsigned instance = 1; instance <= highest; ++instance) {
    Slots& slot = slots[instance];
    for (const ArcField kind : {ArcField::Results, ArcField::Message, ArcField::Seal}) {
      if (slot.field[static_cast<std::size_t>(kind)] == kAbsent) {
        return fail(fmt::format("ARC set i={} has no {}", instance, field_label(kind)));
      }
    }
    const std::string_view wanted = instance == 1 ? "none" : "pass";
    if (slot.seal.chain_validation != wanted) {
      return fail(fmt::format("the ARC-Seal of i={} says cv={}, not cv={}", instance,
                              slot.seal.chain_validation, wanted));
    }
    ArcSet set;
    set.instance = instance;
    set.results = slot.field[static_cast<std::size_t>(ArcField::Results)];
    set.message = slot.field[static_cast<std::size_t>(ArcField::Message)];
    set.seal = slot.field[static_cast<std::size_t>(ArcField::Seal)];
    set.message_signature = std::move(slot.message);
    set.seal_signature = std::move(slot.seal);
    chain.sets.push_back(std::move(set));
  }
  chain.status = ArcStatus::Pass;
  return chain;
}

std::string arc_seal_signed_data(std::span<const std::string_view> fields, const ArcChain& chain,
                                 const ArcSet& set) {
  std::string data;
  for (const ArcSet& earlier : chain.sets) {
    if (earlier.instance > set.instance) break;
    data += canonicalize_header(DkimCanon::Relaxed, fields[earlier.results]);
    data += canonicalize_header(DkimCanon::Relaxed, fields[earlier.message]);
    if (earlier.instance == set.instance) {
      data += dkim_signature_field_data(fields[earlier.seal], DkimCanon::Relaxed);
      break;
    }
    data += canonicalize_header(DkimCanon::Relaxed, fields[earlier.seal]);
  }
  return data;
}

ArcVerification::ArcVerification(const ArcChain& chain, std::span<const std::string_view> fields,
                                 std::span<const DkimBodyDigest> digests, DkimVerifyOptions options)
    : chain_(chain), fields_(fields), digests_(digests), options_(options) {
  verdict_.status = chain.status;
  verdict_.reason = chain.problem;
  if (chain.status != ArcStatus::Pass || chain.sets.empty()) {
    if (chain.status == ArcStatus::Pass) verdict_.status = ArcStatus::None;
    return;
  }
  for (const ArcSet& set : chain.sets) verdict_.sealers.push_back(set.seal_signature.domain);
  const auto info = read_results_info(header_field_value(fields_[chain.sets.back().results]));
  if (info) verdict_.last_results = std::string(info->results);
  // §5.2 step 4 first: the most recent AMS.
  verdict_.status = ArcStatus::Fail;  // until every signature is checked
  phase_ = Phase::MessageSignature;
  set_ = chain.sets.size() - 1;
  prepare_key();
}

const std::string* ArcVerification::next_key() const {
  return phase_ == Phase::Done ? nullptr : &key_;
}

const DkimBodyDigest* ArcVerification::digest_for(const DkimSignature& signature) const {
  const auto key = body_hash_key(signature);
  const auto found = std::find_if(digests_.begin(), digests_.end(),
                                  [&](const DkimBodyDigest& digest) { return digest.key == key; });
  return found == digests_.end() ? nullptr : &*found;
}

DkimVerdict ArcVerification::check_message_signature(const ArcSet& set, const DkimKey& key) const {
  const DkimBodyDigest* digest = digest_for(set.message_signature);
  if (digest == nullptr)
    return DkimVerdict{DkimStatus::Neutral, "body not hashed for its c= and l="};
  return verify_dkim(fields_, set.message, set.message_signature, key, *digest, options_);
}

DkimVerdict ArcVerification::check_seal(const ArcSet& set, const DkimKey& key) const {
  if (auto refused = dkim_key_refuses(set.seal_signature, key, options_)) return *refused;
  const std::string data = arc_seal_signed_data(fields_, chain_, set);
  if (!dkim_signature_matches(data, set.seal_signature, key)) {
    return DkimVerdict{DkimStatus::Fail, "signature mismatch"};
  }
  return DkimVerdict{DkimStatus::Pass, {}};
}

void ArcVerification::fail(std::string reason) {
  verdict_.status = ArcStatus::Fail;
  verdict_.reason = std::move(reason);
  phase_ = Phase::Done;
}

void ArcVerification::feed(const dns::Lookup<dns::TxtRecord>& lookup, DkimKeyCache& keys) {
  if (phase_ == Phase::Done) return;
  const ArcSet& set = chain_.sets[set_];
  const FetchedKey fetched = key_from_lookup(lookup, keys);
  DkimVerdict checked;
  if (fetched.problem) {
    checked = *fetched.problem;
  } else if (phase_ == Phase::Seals) {
    checked = check_seal(set, *fetched.parsed->key);
  } else {
    checked = check_message_signature(set, *fetched.parsed->key);
  }
  const bool passed = checked.status == DkimStatus::Pass;
  switch (phase_) {
    case Phase::MessageSignature:
      if (!passed) {
        verdict_.temporary = checked.status == DkimStatus::TempError;
        return fail(fmt::format("ARC-Message-Signature i={} d={}: {}", set.instance,
                                set.message_signature.domain, checked.reason));
      }
      phase_ = Phase::Seals;  // §5.2 step 6: every seal, from N down to 1
      break;
    case Phase::Seals:
      if (!passed) {
        verdict_.temporary = checked.status == DkimStatus::TempError;
        return fail(fmt::format("ARC-Seal i={} d={}: {}", set.instance, set.seal_signature.domain,
                                checked.reason));
      }
      if (set_ > 0) {
        --set_;
        break;
      }
      verdict_.status = ArcStatus::Pass;  // §5.2 step 7
      verdict_.reason.clear();
      phase_ = Phase::OlderMessageSignatures;  // §5.2 step 5, optional
      set_ = chain_.sets.size() - 1;
      break;
    case Phase::OlderMessageSignatures:
      if (checked.status == DkimStatus::TempError) {
        phase_ = Phase::Done;  // unknown: no oldest-pass
      } else if (!passed) {
        verdict_.oldest_pass = set.instance + 1;
        phase_ = Phase::Done;
      }
      break;
    case Phase::Done:
      break;
  }
  advance();
}

// The older AMSs (step 5) are checked only with the digests at hand: the walk stops at the
// first whose body was not hashed for its c= and l= (no oldest-pass then).
void ArcVerification::advance() {
  if (phase_ == Phase::OlderMessageSignatures) {
    if (set_ == 0) {
      verdict_.oldest_pass = 0;  // every AMS verified
      phase_ = Phase::Done;
    } else {
      --set_;
      if (digest_for(chain_.sets[set_].message_signature) == nullptr) phase_ = Phase::Done;
    }
  }
  prepare_key();
}

void ArcVerification::prepare_key() {
  switch (phase_) {
    case Phase::MessageSignature:
    case Phase::OlderMessageSignatures:
      key_ = chain_.sets[set_].message_signature.key_query_name();
      break;
    case Phase::Seals:
      key_ = chain_.sets[set_].seal_signature.key_query_name();
      break;
    case Phase::Done:
      key_.clear();
      break;
  }
}

std::optional<ArcVouch> trusted_arc_vouch(const ArcVerdict& arc, std::string_view from_domain,
                                          std::span<const std::string> trusted) {
  if (arc.status != ArcStatus::Pass || arc.sealers.empty() || from_domain.empty()) {
    return std::nullopt;
  }
  const std::string& sealer = arc.sealers.back();
  if (std::none_of(trusted.begin(), trusted.end(),
                   [&](const std::string& domain) { return tag_iequals(domain, sealer); })) {
    return std::nullopt;
  }
  for (const ReadResult& result : read_results(arc.last_results)) {
    if (result.result != "pass") continue;
    if (result.method == "dmarc") {
      const std::string* from = result.property("header.from");
      if (from == nullptr || tag_iequals(*from, from_domain)) {
        return ArcVouch{sealer, "dmarc=pass"};
      }
    } else if (result.method == "dkim") {
      std::string domain;
      if (const std::string* d = result.property("header.d")) {
        domain = *d;
      } else if (const std::string* i = result.property("header.i")) {
        domain = i->substr(i->rfind('@') + 1);  // npos + 1 == 0: the whole value
      }
      if (!domain.empty() && dmarc::aligned(domain, from_domain, dmarc::Alignment::Relaxed)) {
        return ArcVouch{sealer, "dkim=pass header.d=" + domain};
      }
    }
  }
  return std::nullopt;
}

}  // namespace mxgate::auth
