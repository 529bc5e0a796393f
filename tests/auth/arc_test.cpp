// ARC (RFC 8617): the chain that python3-dkim sealed (tests/auth/arc_vectors.hpp) validates, and
// every way of breaking it is a failure for the reason §5.2 gives: structure (steps 1-3), the
// most recent AMS (step 4), the seals (step 6); older AMSs only move header.oldest-pass (step
// 5). Chains sealed in the test with an Ed25519 key check what an ARC-Seal signs (§5.1.1): a
// seal over anything else fails. Also the trusted-sealer rule (trusted_arc_vouch).
#include "auth/arc.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "auth/dkim_tags.hpp"
#include "tests/auth/arc_vectors.hpp"
#include "tests/auth/test_signer.hpp"

namespace mxgate::auth {
namespace {

using testing::body_hash;
using testing::Ed25519Signer;
using testing::fill_in;
using testing::replace_once;
using vectors::kArcForwarderRecord;
using vectors::kArcListsRecord;
using vectors::kArcMessage;

dns::Lookup<dns::TxtRecord> txt(std::string_view record) {
  dns::Lookup<dns::TxtRecord> lookup;
  lookup.outcome = dns::Outcome::Answer;
  lookup.records.push_back({std::string(record), 300});
  return lookup;
}

dns::Lookup<dns::TxtRecord> negative(dns::Outcome outcome) {
  dns::Lookup<dns::TxtRecord> lookup;
  lookup.outcome = outcome;
  return lookup;
}

// A message's chain validated against key lookups by name; the names asked are kept in order.
struct Validation {
  ArcVerdict verdict;
  std::vector<std::string> asked;
};

Validation validate(std::string_view message,
                    const std::map<std::string, dns::Lookup<dns::TxtRecord>>& keys) {
  const DkimMessage split = split_message(message);
  const ArcChain chain = parse_arc_chain(split.fields);
  std::vector<DkimBodyDigest> digests;
  for (const ArcSet& set : chain.sets) {
    const auto key = body_hash_key(set.message_signature);
    if (std::none_of(digests.begin(), digests.end(),
                     [&](const DkimBodyDigest& d) { return d.key == key; })) {
      digests.push_back(dkim_body_digest(key, split.body));
    }
  }
  DkimKeyCache cache;
  ArcVerification verification(chain, split.fields, digests, {});
  Validation out;
  // Bounded: one key per signature, two signatures per set.
  for (std::size_t step = 0; step <= 2 * kArcMaxInstance; ++step) {
    const std::string* name = verification.next_key();
    if (name == nullptr) break;
    out.asked.push_back(*name);
    const auto found = keys.find(*name);
    verification.feed(found == keys.end() ? negative(dns::Outcome::NxDomain) : found->second,
                      cache);
  }
  EXPECT_EQ(verification.next_key(), nullptr);
  out.verdict = verification.verdict();
  return out;
}

const std::map<std::string, dns::Lookup<dns::TxtRecord>>& vector_keys() {
  static const std::map<std::string, dns::Lookup<dns::TxtRecord>> keys = {
      {"lists._domainkey.lists.example.org", txt(kArcListsRecord)},
      {"fwd._domainkey.forwarder.example.net", txt(kArcForwarderRecord)},
  };
  return keys;
}

TEST(Arc, ParsesTheSetsOfAChainSealedByPython3Dkim) {
  const DkimMessage split = split_message(kArcMessage);
  const ArcChain chain = parse_arc_chain(split.fields);
  ASSERT_EQ(chain.status, ArcStatus::Pass) << chain.problem;
  ASSERT_EQ(chain.sets.size(), 2u);
  EXPECT_EQ(chain.sets[0].instance, 1u);
  EXPECT_EQ(chain.sets[0].seal_signature.domain, "lists.example.org");
  EXPECT_EQ(chain.sets[0].seal_signature.chain_validation, "none");
  EXPECT_EQ(chain.sets[0].seal_signature.header_canon, DkimCanon::Relaxed);
  EXPECT_EQ(chain.sets[1].seal_signature.chain_validation, "pass");
  EXPECT_EQ(chain.sets[1].message_signature.signed_headers,
            (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_TRUE(header_field_name(split.fields[chain.sets[1].results]) ==
              "ARC-Authentication-Results");
  EXPECT_TRUE(is_arc_field(split.fields[0]));
  EXPECT_FALSE(is_arc_field("From: a@example.com\r\n"));
  EXPECT_EQ(parse_arc_chain(split_message("From: a@b.example\r\n\r\nx\r\n").fields).status,
            ArcStatus::None);
}

TEST(Arc, AChainSealedByPython3DkimValidates) {
  const Validation v = validate(kArcMessage, vector_keys());
  EXPECT_EQ(v.verdict.status, ArcStatus::Pass) << v.verdict.reason;
  EXPECT_EQ(v.verdict.sealers,
            (std::vector<std::string>{"lists.example.org", "forwarder.example.net"}));
  EXPECT_EQ(v.verdict.oldest_pass, 0u) << "both AMSs verify: nothing changed since set 1";
  EXPECT_NE(v.verdict.last_results.find("forwarder.example.net; arc=pass;"), std::string::npos)
      << v.verdict.last_results;
  // §5.2: AMS(2), then AS(2) and AS(1), then AMS(1) for oldest-pass.
  EXPECT_EQ(v.asked,
            (std::vector<std::string>{
                "fwd._domainkey.forwarder.example.net", "fwd._domainkey.forwarder.example.net",
                "lists._domainkey.lists.example.org", "lists._domainkey.lists.example.org"}));
}

// Structure (§5.2 steps 1-3): refused before any key is looked up.
TEST(Arc, BrokenStructuresFailBeforeAnySignatureIsChecked) {
  const std::string set2_seal = std::string(kArcMessage.substr(0, kArcMessage.find("ARC-Message")));
  const std::string set1 = std::string(
      kArcMessage.substr(kArcMessage.find("ARC-Seal: i=1"),
                         kArcMessage.find("From: ") - kArcMessage.find("ARC-Seal: i=1")));
  const std::string set1_results = set1.substr(set1.find("ARC-Authentication-Results"));
  const struct {
    std::string message;
    std::string_view problem;
  } cases[] = {
      // A gap: set 1 removed, instance 2 alone.
      {replace_once(kArcMessage, set1, ""), "ARC set i=1 has no ARC-Authentication-Results"},
      // A repeated instance.
      {set1_results + std::string(kArcMessage), "two ARC-Authentication-Results fields with i=1"},
      {set2_seal + std::string(kArcMessage), "two ARC-Seal fields with i=2"},
      // Step 2: the last seal saw a failed chain.
      {replace_once(kArcMessage, "i=2; cv=pass", "i=2; cv=fail"),
       "the ARC-Seal of i=2 says cv=fail"},
      // Step 3: cv=none only at i=1, pass above; no fail anywhere.
      {replace_once(kArcMessage, "i=2; cv=pass", "i=2; cv=none"),
       "the ARC-Seal of i=2 says cv=none, not cv=pass"},
      {replace_once(kArcMessage, "i=1; cv=none", "i=1; cv=pass"),
       "the ARC-Seal of i=1 says cv=pass, not cv=none"},
      {replace_once(kArcMessage, "i=1; cv=none", "i=1; cv=fail"),
       "the ARC-Seal of i=1 says cv=fail, not cv=none"},
      {replace_once(kArcMessage, "i=1; cv=none", "i=1; cv=maybe"), "ARC-Seal: unknown cv= value"},
      // A missing field of a set.
      {replace_once(kArcMessage, "ARC-Message-Signature: i=1;", "X-Old-Signature: i=1;"),
       "ARC set i=1 has no ARC-Message-Signature"},
      // Instances are 1..50 (§4.2.1); more than 50 sets fail (step 1).
      {replace_once(kArcMessage, "ARC-Authentication-Results: i=2;",
                    "ARC-Authentication-Results: i=51;"),
       "ARC-Authentication-Results without a valid i= (1 to 50)"},
      {replace_once(kArcMessage, "ARC-Seal: i=2;", "ARC-Seal: i=0;"),
       "ARC-Seal: malformed i= (an ARC instance is 1 to 50)"},
      // §4.1.3: an ARC-Seal has no h=; §4.1.2: an AMS never signs ARC-Seal.
      {replace_once(kArcMessage, "i=2; cv=pass;", "i=2; cv=pass; h=from;"),
       "ARC-Seal: h= is not allowed in an ARC-Seal"},
      {replace_once(kArcMessage, "h=from : to : subject;", "h=from : to : subject : arc-seal;"),
       "ARC-Message-Signature: h= of an ARC-Message-Signature names ARC-Seal"},
  };
  for (const auto& c : cases) {
    const ArcChain chain = parse_arc_chain(split_message(c.message).fields);
    EXPECT_EQ(chain.status, ArcStatus::Fail) << c.problem;
    EXPECT_EQ(chain.problem, c.problem);
    EXPECT_TRUE(chain.sets.empty());
    const Validation v = validate(c.message, vector_keys());
    EXPECT_EQ(v.verdict.status, ArcStatus::Fail) << c.problem;
    EXPECT_TRUE(v.asked.empty()) << c.problem;
  }
}

// Signatures (§5.2 steps 4 and 6): the first one that does not verify ends the validation.
TEST(Arc, ChangesAfterSealingFailTheChain) {
  const struct {
    std::string message;
    std::string_view reason;
  } cases[] = {
      // The body changed after the last seal: AMS(2)'s body hash.
      {replace_once(kArcMessage, "list footer", "list footer, amended"),
       "ARC-Message-Signature i=2 d=forwarder.example.net: body hash mismatch"},
      // A header field AMS(2) signs.
      {replace_once(kArcMessage, "[list] Quarterly", "[list] Annual"),
       "ARC-Message-Signature i=2 d=forwarder.example.net: signature mismatch"},
      // What set 1's sealer recorded: covered by AS(2) (checked first) and AS(1).
      {replace_once(kArcMessage, "dmarc=pass header.from", "dmarc=fail header.from"),
       "ARC-Seal i=2 d=forwarder.example.net: signature mismatch"},
      // AS(1) itself, which AS(2) covers too.
      {replace_once(kArcMessage, "d=lists.example.org; s=lists;\r\n t=1717408800",
                    "d=lists.example.org; s=lists;\r\n t=1717408801"),
       "ARC-Seal i=2 d=forwarder.example.net: signature mismatch"},
  };
  for (const auto& c : cases) {
    const Validation v = validate(c.message, vector_keys());
    EXPECT_EQ(v.verdict.status, ArcStatus::Fail) << c.reason;
    EXPECT_EQ(v.verdict.reason, c.reason);
    EXPECT_FALSE(v.verdict.oldest_pass);
  }
}

TEST(Arc, KeyProblemsFailTheChain) {
  auto keys = vector_keys();
  keys["fwd._domainkey.forwarder.example.net"] = txt(kArcListsRecord);  // another key
  Validation v = validate(kArcMessage, keys);
  EXPECT_EQ(v.verdict.status, ArcStatus::Fail);
  EXPECT_EQ(v.verdict.reason,
            "ARC-Message-Signature i=2 d=forwarder.example.net: signature mismatch");
  keys = vector_keys();
  keys["lists._domainkey.lists.example.org"] = negative(dns::Outcome::ServFail);
  v = validate(kArcMessage, keys);
  EXPECT_EQ(v.verdict.status, ArcStatus::Fail);
  EXPECT_EQ(v.verdict.reason, "ARC-Seal i=1 d=lists.example.org: key lookup failed: servfail");
  EXPECT_TRUE(v.verdict.temporary);
  keys = vector_keys();
  keys["lists._domainkey.lists.example.org"] =
      txt(std::string(kArcListsRecord) + "; h=sha1");  // RFC 6376 §6.1.2 step 6
  v = validate(kArcMessage, keys);
  EXPECT_EQ(v.verdict.reason, "ARC-Seal i=1 d=lists.example.org: key h= excludes sha256");
  EXPECT_FALSE(v.verdict.temporary);
  keys.erase("lists._domainkey.lists.example.org");
  EXPECT_EQ(validate(kArcMessage, keys).verdict.reason,
            "ARC-Seal i=1 d=lists.example.org: no key record");
}

// §5.2 step 5: an older AMS that no longer verifies does not fail the chain; header.oldest-pass
// names the oldest instance from which every AMS verifies.
TEST(Arc, AnOlderMessageSignatureOnlyMovesOldestPass) {
  // Date is signed by AMS(1) only.
  const Validation v =
      validate(replace_once(kArcMessage, "10:00:00 +0000", "10:00:01 +0000"), vector_keys());
  EXPECT_EQ(v.verdict.status, ArcStatus::Pass) << v.verdict.reason;
  EXPECT_EQ(v.verdict.oldest_pass, 2u);
}

// Chains sealed here: set `instance` over `message`, its AS over what `seal_data` says.
class SealedHere : public ::testing::Test {
 protected:
  // The seal's data as §5.1.1 defines it: every ARC field of instances 1..i, relaxed, in
  // instance order, AAR, AMS, AS each; the new AS last, b= empty, no CRLF.
  static std::string rfc_seal_data(const std::vector<std::string>& arc_fields,
                                   const std::string& new_seal_without_b) {
    std::string data;
    for (const auto& field : arc_fields) data += canonicalize_header(DkimCanon::Relaxed, field);
    const std::string own = canonicalize_header(DkimCanon::Relaxed, new_seal_without_b);
    return data + own.substr(0, own.size() - 2);
  }

  // Adds set `instance` to `message` (whose ARC fields, oldest first, are `arc_fields`).
  // `wrong_order`: the seal signs the new AMS before the new AAR, not as §5.1.1 says.
  std::string seal(const std::string& message, std::vector<std::string>& arc_fields,
                   unsigned instance, std::string_view results, bool wrong_order = false) {
    const std::string i = std::to_string(instance);
    const std::string aar =
        "ARC-Authentication-Results: i=" + i + "; " + std::string(results) + "\r\n";
    const std::string body = message.substr(message.find("\r\n\r\n") + 4);
    std::string ams = fill_in(fill_in("ARC-Message-Signature: i={i}; a=ed25519-sha256;\r\n"
                                      " c=relaxed/relaxed; d=list.example; s=sel;\r\n"
                                      " h=from:subject; bh={bh}; b=",
                                      "i", i),
                              "bh", body_hash(canonicalize_body(DkimCanon::Relaxed, body)));
    // AMS data (RFC 6376 §3.7, relaxed): From and Subject, then the AMS without b=.
    const DkimMessage split = split_message(message);
    std::string ams_data;
    for (const char* name : {"from", "subject"}) {
      for (auto field = split.fields.rbegin(); field != split.fields.rend(); ++field) {
        if (tag_lower(header_field_name(*field)) == name) {
          ams_data += canonicalize_header(DkimCanon::Relaxed, *field);
          break;
        }
      }
    }
    const std::string own = canonicalize_header(DkimCanon::Relaxed, ams);
    ams += signer_.sign(ams_data + own.substr(0, own.size() - 2)) + "\r\n";
    const std::string cv = instance == 1 ? "none" : "pass";
    const std::string as =
        "ARC-Seal: i=" + i + "; a=ed25519-sha256; cv=" + cv + "; d=list.example;\r\n s=sel; b=";
    std::vector<std::string> signed_fields = arc_fields;
    if (wrong_order) {
      signed_fields.push_back(ams);  // AMS before AAR: not §5.1.1's order
      signed_fields.push_back(aar);
    } else {
      signed_fields.push_back(aar);
      signed_fields.push_back(ams);
    }
    const std::string sealed = as + signer_.sign(rfc_seal_data(signed_fields, as)) + "\r\n";
    arc_fields.push_back(aar);
    arc_fields.push_back(ams);
    arc_fields.push_back(sealed);
    return sealed + ams + aar + message;
  }

  std::map<std::string, dns::Lookup<dns::TxtRecord>> keys() const {
    return {{"sel._domainkey.list.example", txt(signer_.key_record())}};
  }

  static constexpr std::string_view kOriginal =
      "From: Alice <alice@example.com>\r\nSubject: hello\r\n\r\nHi.\r\n";
  Ed25519Signer signer_;
};

TEST_F(SealedHere, ThreeSetsSealedAsTheRfcSaysValidate) {
  std::vector<std::string> fields;
  std::string message = seal(std::string(kOriginal), fields, 1, "list.example; dkim=pass");
  message = seal(message, fields, 2, "list.example; arc=pass");
  message = seal(message, fields, 3, "list.example; arc=pass; dmarc=pass");
  const Validation v = validate(message, keys());
  EXPECT_EQ(v.verdict.status, ArcStatus::Pass) << v.verdict.reason;
  EXPECT_EQ(v.verdict.instances(), 3u);
  EXPECT_EQ(v.verdict.oldest_pass, 0u);
  EXPECT_EQ(v.verdict.last_results, " list.example; arc=pass; dmarc=pass");
  // What parse_arc_chain and arc_seal_signed_data compute for the last seal is what it signed.
  const DkimMessage split = split_message(message);
  const ArcChain chain = parse_arc_chain(split.fields);
  ASSERT_EQ(chain.sets.size(), 3u);
  const std::string& last = fields.back();
  EXPECT_EQ(arc_seal_signed_data(split.fields, chain, chain.sets.back()),
            rfc_seal_data({fields.begin(), fields.end() - 1}, last.substr(0, last.find("b=") + 2)));
}

TEST_F(SealedHere, ASealOverOtherHeaderFieldsFails) {
  std::vector<std::string> fields;
  std::string message = seal(std::string(kOriginal), fields, 1, "list.example; dkim=pass");
  message = seal(message, fields, 2, "list.example; arc=pass", /*wrong_order=*/true);
  const Validation v = validate(message, keys());
  EXPECT_EQ(v.verdict.status, ArcStatus::Fail);
  EXPECT_EQ(v.verdict.reason, "ARC-Seal i=2 d=list.example: signature mismatch");
}

TEST_F(SealedHere, AFooterAddedBeforeTheLastSealStillValidates) {
  // A list that changes the body and seals after: its own AMS covers the new body; the
  // older AMS (over the original body) fails, so oldest-pass is the list's instance.
  std::vector<std::string> fields;
  std::string message = seal(std::string(kOriginal), fields, 1, "origin.example; dkim=pass");
  message += "-- \r\nlist footer\r\n";
  message = seal(message, fields, 2, "list.example; arc=pass; dkim=pass header.d=example.com");
  const Validation v = validate(message, keys());
  EXPECT_EQ(v.verdict.status, ArcStatus::Pass) << v.verdict.reason;
  EXPECT_EQ(v.verdict.oldest_pass, 2u);
}

TEST(TrustedArcVouch, OnlyATrustedLastSealerWhoseResultsSayTheFromDomainPassed) {
  const std::vector<std::string> trusted = {"lists.example.org", "Forwarder.Example.Net"};
  ArcVerdict passed;
  passed.status = ArcStatus::Pass;
  passed.sealers = {"origin.example", "forwarder.example.net"};
  const struct {
    ArcStatus status;
    std::string sealer;
    std::string results;
    std::string vouch;  // "" for none
  } cases[] = {
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; dmarc=pass header.from=example.com",
       "dmarc=pass"},
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; DMARC = Pass", "dmarc=pass"},
      {ArcStatus::Pass, "forwarder.example.net",
       " fwd.example; spf=fail; dkim=pass header.d=mail.example.com header.s=x",
       "dkim=pass header.d=mail.example.com"},
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; dkim=pass header.i=@example.com",
       "dkim=pass header.d=example.com"},
      // Not for the From domain.
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; dmarc=pass header.from=other.test",
       ""},
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; dkim=pass header.d=evil.test", ""},
      // Not a pass, or only in a comment or a quoted reason.
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; dmarc=fail; dkim=neutral", ""},
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example (dmarc=pass); spf=pass", ""},
      {ArcStatus::Pass, "forwarder.example.net",
       " fwd.example; dkim=fail reason=\"dmarc=pass; x\" header.d=example.com", ""},
      {ArcStatus::Pass, "forwarder.example.net", " fwd.example; none", ""},
      // Not trusted, or the chain did not pass.
      {ArcStatus::Pass, "origin.example", " fwd.example; dmarc=pass", ""},
      {ArcStatus::Fail, "forwarder.example.net", " fwd.example; dmarc=pass", ""},
      {ArcStatus::None, "forwarder.example.net", " fwd.example; dmarc=pass", ""},
  };
  for (const auto& c : cases) {
    ArcVerdict arc = passed;
    arc.status = c.status;
    arc.sealers.back() = c.sealer;
    arc.last_results = c.results;
    const auto vouch = trusted_arc_vouch(arc, "example.com", trusted);
    EXPECT_EQ(vouch ? vouch->result : "", c.vouch) << c.results;
    if (vouch) {
      EXPECT_EQ(vouch->sealer, c.sealer);
    }
  }
  EXPECT_FALSE(trusted_arc_vouch(passed, "", trusted)) << "no From domain";
}

}  // namespace
}  // namespace mxgate::auth
