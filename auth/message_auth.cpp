#include "auth/message_auth.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>

#include "auth/dkim_tags.hpp"

namespace mxgate::auth {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kHeaderBPrefix = 8;  // RFC 6008 §4: at least 8 characters

std::string b_prefix(const std::string& signature) {
  std::string out(4 * ((signature.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(signature.data()),
                                static_cast<int>(signature.size()));
  out.resize(std::min<std::size_t>(static_cast<std::size_t>(std::max(n, 0)), kHeaderBPrefix));
  return out;
}

bool is_results_field(std::string_view field) {
  return tag_iequals(header_field_name(field), "authentication-results");
}

// Skips white space, line breaks and (nested) comments (RFC 5322 §3.2.2 CFWS).
std::size_t skip_cfws(std::string_view text, std::size_t i) {
  int depth = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (depth > 0) {
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      }
    } else if (c == '(') {
      depth = 1;
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      break;
    }
  }
  return i;
}

}  // namespace

bool claims_authserv_id(std::string_view value, std::string_view authserv_id) {
  std::size_t i = skip_cfws(value, 0);
  std::string id;
  if (i < value.size() && value[i] == '"') {
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      id += value[i];
    }
  } else {
    for (; i < value.size(); ++i) {
      const char c = value[i];
      if (c == ';' || c == '(' || c == ' ' || c == '\t' || c == '\r' || c == '\n') break;
      id += c;
    }
  }
  return !id.empty() && tag_iequals(id, authserv_id);
}

MessageScanner::MessageScanner(std::string authserv_id, ScanLimits limits)
    : authserv_id_(std::move(authserv_id)), limits_(limits) {}

void MessageScanner::feed(std::string_view chunk, std::string& out) {
  if (!header_done_) {
    const std::size_t before = header_.size();
    header_.append(chunk);
    std::size_t end = std::string_view::npos;
    if (header_.starts_with(kCrlf)) {
      end = 0;  // no header fields at all
    } else if (const auto blank = header_.find("\r\n\r\n", before < 3 ? 0 : before - 3);
               blank != std::string::npos) {
      end = blank + kCrlf.size();
    }
    if (end == std::string_view::npos) {
      if (header_.size() <= limits_.max_header_bytes) return;
      // Too long to be a header section worth parsing: pass it on untouched.
      from_.problem = "header section too large";
      header_done_ = true;
      out += header_;
      header_.clear();
      return;
    }
    const std::string body = header_.substr(end + kCrlf.size());
    header_.resize(end + kCrlf.size());
    end_header(out);
    feed_body(body, out);
    return;
  }
  feed_body(chunk, out);
}

void MessageScanner::feed_body(std::string_view chunk, std::string& out) {
  for (auto& hasher : hashers_) hasher.update(chunk);
  out.append(chunk);
}

void MessageScanner::end_header(std::string& out) {
  header_done_ = true;
  fields_ = split_message(header_).fields;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const std::string_view field = fields_[i];
    if (is_results_field(field) && claims_authserv_id(header_field_value(field), authserv_id_)) {
      ++removed_results_;
      continue;
    }
    out.append(field);
    if (!is_dkim_signature_field(field)) continue;
    Signature signature;
    signature.field = i;
    auto parsed = parse_dkim_signature(header_field_value(field));
    signature.unverified.domain = std::move(parsed.domain);
    signature.unverified.selector = std::move(parsed.selector);
    if (parsed.signature) {
      signature.unverified.b = b_prefix(parsed.signature->signature);
      signature.unverified.signed_fields = parsed.signature->signed_headers;
    }
    const std::size_t verified =
        std::count_if(signatures_.begin(), signatures_.end(),
                      [](const Signature& s) { return s.parsed.has_value(); });
    if (!parsed.signature) {
      signature.unverified.verdict = {DkimStatus::Neutral, std::move(parsed.error)};
    } else if (verified >= limits_.max_signatures) {
      signature.unverified.verdict = {
          DkimStatus::Neutral,
          fmt::format("not verified: more than {} signatures", limits_.max_signatures)};
    } else {
      signature.hasher = hasher_for(body_hash_key(*parsed.signature));
      signature.parsed = std::move(parsed.signature);
    }
    signatures_.push_back(std::move(signature));
  }
  if (header_.ends_with("\r\n\r\n") || header_ == kCrlf) out.append(kCrlf);
  from_ = from_domain(fields_);
  // RFC 8617 §5.2 steps 1-3 now; the body is hashed for the most recent AMS (step 4). Older
  // AMSs (step 5, optional) use whatever digests there are: no hashing for them alone.
  arc_ = parse_arc_chain(fields_);
  if (arc_.status == ArcStatus::Pass) {
    hasher_for(body_hash_key(arc_.sets.back().message_signature));
  }
}

// The hasher of `key`'s canonicalization and l=, shared by every signature that needs it.
std::size_t MessageScanner::hasher_for(const DkimBodyHashKey& key) {
  auto same = std::find_if(hashers_.begin(), hashers_.end(),
                           [&](const DkimBodyHasher& h) { return h.key() == key; });
  if (same == hashers_.end()) same = hashers_.emplace(hashers_.end(), key);
  return static_cast<std::size_t>(same - hashers_.begin());
}

void MessageScanner::finish(std::string& out) {
  if (!header_done_) end_header(out);
  digests_.clear();
  for (auto& hasher : hashers_) digests_.push_back(hasher.finish());
}

std::vector<std::string> MessageScanner::key_names() const {
  std::vector<std::string> names;
  for (const auto& signature : signatures_) {
    if (!signature.parsed) continue;
    auto name = signature.parsed->key_query_name();
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::vector<std::string> MessageScanner::arc_key_names() const {
  std::vector<std::string> names;
  auto add = [&](std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(std::move(name));
  };
  if (arc_.status != ArcStatus::Pass) return names;
  add(arc_.sets.back().message_signature.key_query_name());
  for (auto set = arc_.sets.rbegin(); set != arc_.sets.rend(); ++set) {
    add(set->seal_signature.key_query_name());
  }
  return names;
}

boost::asio::awaitable<ArcVerdict> MessageScanner::verify_arc(dns::Resolver& resolver,
                                                              DkimKeyCache& keys,
                                                              DkimVerifyOptions options) const {
  ArcVerification verification(arc_, fields_, digests_, options);
  while (const std::string* name = verification.next_key()) {
    const auto key = co_await resolver.txt(*name);
    verification.feed(key, keys);
  }
  co_return verification.verdict();
}

std::optional<ArcVerdict> MessageScanner::verify_arc_now(dns::Resolver& resolver,
                                                         DkimKeyCache& keys,
                                                         const DkimVerifyOptions& options) const {
  ArcVerification verification(arc_, fields_, digests_, options);
  while (const std::string* name = verification.next_key()) {
    const auto key = resolver.peek_txt(*name);
    if (!key) return std::nullopt;
    verification.feed(*key, keys);
  }
  return verification.verdict();
}

// RFC 6376 §6.1.2: the key (key_from_lookup), then the signature.
DkimCheck MessageScanner::judge(const Signature& signature, const dns::Lookup<dns::TxtRecord>& key,
                                DkimKeyCache& keys, const DkimVerifyOptions& options) const {
  DkimCheck check = signature.unverified;
  const FetchedKey fetched = key_from_lookup(key, keys);
  if (fetched.problem) {
    check.verdict = *fetched.problem;
    return check;
  }
  if (signature.hasher >= digests_.size()) {
    check.verdict = {DkimStatus::TempError, "body not finished"};
    return check;
  }
  check.verdict = verify_dkim(fields_, signature.field, *signature.parsed, *fetched.parsed->key,
                              digests_[signature.hasher], options);
  return check;
}

boost::asio::awaitable<std::vector<DkimCheck>> MessageScanner::verify_signatures(
    dns::Resolver& resolver, DkimKeyCache& keys, DkimVerifyOptions options) const {
  std::vector<DkimCheck> checks;
  checks.reserve(signatures_.size());
  for (const auto& signature : signatures_) {
    if (!signature.parsed) {
      checks.push_back(signature.unverified);
      continue;
    }
    const auto key = co_await resolver.txt(signature.parsed->key_query_name());
    checks.push_back(judge(signature, key, keys, options));
  }
  co_return checks;
}

std::optional<std::vector<DkimCheck>> MessageScanner::verify_signatures_now(
    dns::Resolver& resolver, DkimKeyCache& keys, const DkimVerifyOptions& options) const {
  std::vector<DkimCheck> checks;
  checks.reserve(signatures_.size());
  for (const auto& signature : signatures_) {
    if (!signature.parsed) {
      checks.push_back(signature.unverified);
      continue;
    }
    const auto key = resolver.peek_txt(signature.parsed->key_query_name());
    if (!key) return std::nullopt;
    checks.push_back(judge(signature, *key, keys, options));
  }
  return checks;
}

dmarc::Inputs dmarc_inputs(const spf::Evaluation* spf, const std::vector<DkimCheck>& dkim) {
  dmarc::Inputs inputs;
  if (spf != nullptr) {
    inputs.spf_pass = spf->result == spf::Result::Pass;
    inputs.spf_domain = spf->domain;
  }
  for (const auto& check : dkim) {
    if (check.verdict.status == DkimStatus::Pass) inputs.dkim_passes.push_back({check.domain});
  }
  return inputs;
}

boost::asio::awaitable<DmarcCheck> check_dmarc(dns::Resolver& resolver, FromDomain from,
                                               dmarc::Inputs inputs, dmarc::PolicyLookup lookup) {
  DmarcCheck out;
  if (!from.domain) {
    out.result = dmarc::Result::Fail;
    out.reason = std::move(from.problem);
    co_return out;
  }
  out.from_domain = *from.domain;
  inputs.from_domain = *from.domain;
  const auto found = co_await dmarc::discover_policy(resolver, *from.domain, lookup);
  if (found.result != dmarc::Result::Pass) {
    out.result = found.result;
    out.reason = found.problem;
    co_return out;
  }
  const auto evaluation = dmarc::evaluate(*found.record, found.domain, inputs);
  out.record_found = true;
  out.result = evaluation.result;
  out.policy = evaluation.policy;
  out.pct = found.record->pct;
  out.reason = evaluation.problem;
  out.spf_aligned = evaluation.spf_aligned;
  out.dkim_aligned = evaluation.dkim_aligned;
  out.record = found.record;
  out.record_domain = found.domain;
  co_return out;
}

AuthResults::Spf spf_entry(const spf::Evaluation& spf, const spf::Identity& identity) {
  const bool null_sender = identity.sender.empty();
  return {std::string(spf::result_name(spf.result)), null_sender ? "smtp.helo" : "smtp.mailfrom",
          null_sender ? identity.helo : identity.sender, spf.problem};
}

AuthResults::Dkim dkim_entry(const DkimCheck& check) {
  return {std::string(to_string(check.verdict.status)), check.domain, check.selector, check.b,
          check.verdict.reason};
}

AuthResults::Dmarc dmarc_entry(const DmarcCheck& check) {
  AuthResults::Dmarc out;
  out.result = std::string(dmarc::result_name(check.result));
  out.from_domain = check.from_domain;
  if (check.record_found) out.policy = "p=" + std::string(dmarc::policy_name(check.policy));
  out.reason = check.reason;
  return out;
}

AuthResults::Arc arc_entry(const ArcVerdict& arc, std::string_view remote_ip) {
  AuthResults::Arc out;
  out.result = std::string(to_string(arc.status));
  if (arc.status == ArcStatus::None) return out;
  out.reason = arc.reason;
  if (arc.status == ArcStatus::Pass) {
    out.comment = fmt::format("i={} d={}", arc.instances(), arc.sealers.back());
    out.oldest_pass = arc.oldest_pass;
  }
  out.remote_ip = std::string(remote_ip);
  return out;
}

}  // namespace mxgate::auth
