// Interoperability: messages signed by an independent implementation, Debian 12's python3-dkim
// 1.1.4 (dkimpy; the vectors are in dkim_vectors.hpp), verify here; tampering with them fails
// the way it should.
//
// How the vectors were made (once; no Python at test time):
//   /usr/bin/dknewkey rsa2048                  # 2048-bit RSA key, rsa2048.dns is the record
//   /usr/bin/dknewkey --ktype ed25519 ed       # Ed25519 key, ed.dns is the record
//   then, with /usr/bin/python3, for (key, c) in {rsa2048, ed} x {relaxed, simple}, plus ed
//   relaxed with length=True:
//     sig = dkim.sign(kUnsignedMessage, selector, b"example.org", key,
//                     canonicalize=(c, c), signature_algorithm=b"rsa-sha256" or
//                     b"ed25519-sha256", identity=b"alice@mail.example.org", length=...,
//                     include_headers=[from, to, subject, date, message-id, mime-version,
//                                      content-type, from, subject, reply-to])
//   and each signed message (sig + kUnsignedMessage; the l= one with kFooter appended after
//   signing) was checked with dkim.verify() before being copied here. h= oversigns From and
//   Subject and names the absent Reply-To; the message has folded, tabbed and trailing white
//   space in a header and the body, and empty lines at the end of the body.
#include <gtest/gtest.h>

#include <string>

#include "auth/dkim_verify.hpp"
#include "tests/auth/dkim_vectors.hpp"

namespace mxgate::auth {
namespace {

using namespace vectors;

struct Vector {
  std::string_view name, signature, record;
  bool limited;  // l= with kFooter appended
};

constexpr Vector kVectors[] = {
    {"rsa-sha256 relaxed/relaxed", kRsa2048RelaxedSignature, kRsaRecord, false},
    {"rsa-sha256 simple/simple", kRsa2048SimpleSignature, kRsaRecord, false},
    {"ed25519-sha256 relaxed/relaxed", kEdRelaxedSignature, kEdRecord, false},
    {"ed25519-sha256 simple/simple", kEdSimpleSignature, kEdRecord, false},
    {"ed25519-sha256 relaxed/relaxed l=", kEdRelaxedLSignature, kEdRecord, true},
};

std::string message_of(const Vector& v) {
  return std::string(v.signature) + std::string(kUnsignedMessage) +
         std::string(v.limited ? kFooter : "");
}

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const auto at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

DkimVerdict verify(std::string_view message, const Vector& v) {
  return verify_dkim_message(split_message(message), 0, v.record);
}

TEST(DkimInterop, PythonDkimVectorsVerify) {
  for (const Vector& v : kVectors) {
    const DkimVerdict verdict = verify(message_of(v), v);
    EXPECT_EQ(verdict.status, DkimStatus::Pass) << v.name << ": " << verdict.reason;
    // The l= signature covers the body up to "Alice\r\n"; the footer and the two empty lines
    // before it (relaxed: 2 + 2 + 30 octets) are not covered.
    EXPECT_EQ(verdict.unsigned_body_octets, v.limited ? 34u : 0u) << v.name;
  }
}

TEST(DkimInterop, ATamperedBodyFailsTheBodyHash) {
  for (const Vector& v : kVectors) {
    const DkimVerdict verdict = verify(replace(message_of(v), "Numbers", "Numbars"), v);
    EXPECT_EQ(verdict.status, DkimStatus::Fail) << v.name;
    EXPECT_EQ(verdict.reason, "body hash mismatch") << v.name;
  }
}

TEST(DkimInterop, ATamperedSignedHeaderFailsTheSignature) {
  for (const Vector& v : kVectors) {
    const DkimVerdict verdict = verify(replace(message_of(v), "Quarterly", "Annual"), v);
    EXPECT_EQ(verdict.status, DkimStatus::Fail) << v.name;
    EXPECT_EQ(verdict.reason, "signature mismatch") << v.name;
  }
}

TEST(DkimInterop, OversignedNamesRefuseAddedFields) {
  // h= names Subject twice and Reply-To once though the message has one and none.
  for (const Vector& v : kVectors) {
    const std::string subject =
        replace(message_of(v), "Date:", "Subject: Urgent: wire money\r\nDate:");
    EXPECT_EQ(verify(subject, v).reason, "signature mismatch") << v.name;
    const std::string reply_to =
        replace(message_of(v), "Date:", "Reply-To: thief@evil.example\r\nDate:");
    EXPECT_EQ(verify(reply_to, v).reason, "signature mismatch") << v.name;
    const std::string unsigned_field =
        replace(message_of(v), "Date:", "Received: from somewhere\r\nDate:");
    EXPECT_EQ(verify(unsigned_field, v).status, DkimStatus::Pass) << v.name;
  }
}

TEST(DkimInterop, RelaxedSurvivesWhiteSpaceChangesSimpleDoesNot) {
  for (const Vector& v : kVectors) {
    std::string changed = replace(message_of(v), "  Numbers:\t 1  2", " Numbers: 1 2");
    changed = replace(changed, "folded   with\ttabs  ", "folded with tabs");
    const DkimVerdict verdict = verify(changed, v);
    if (v.signature.find("c=relaxed") != std::string_view::npos) {
      EXPECT_EQ(verdict.status, DkimStatus::Pass) << v.name << ": " << verdict.reason;
    } else {
      EXPECT_EQ(verdict.status, DkimStatus::Fail) << v.name;
      EXPECT_EQ(verdict.reason, "body hash mismatch") << v.name;
    }
  }
}

TEST(DkimInterop, ContentAfterTheLengthLimitIsNotSigned) {
  const Vector& v = kVectors[4];
  ASSERT_TRUE(v.limited);
  const std::string more = message_of(v) + "Click here: https://phish.example/\r\n";
  const DkimVerdict verdict = verify(more, v);
  EXPECT_EQ(verdict.status, DkimStatus::Pass) << verdict.reason;
  EXPECT_EQ(verdict.unsigned_body_octets, 34u + 36u);
  // Without the footer, the l= signature still covers everything it signed.
  const DkimVerdict bare = verify(std::string(v.signature) + std::string(kUnsignedMessage), v);
  EXPECT_EQ(bare.status, DkimStatus::Pass) << bare.reason;
  EXPECT_EQ(bare.unsigned_body_octets, 0u);
}

TEST(DkimInterop, StreamedInSmallChunks) {
  for (const Vector& v : kVectors) {
    const std::string message = message_of(v);
    const DkimMessage m = split_message(message);
    const DkimSignatureResult sig = parse_dkim_signature(header_field_value(m.fields[0]));
    ASSERT_TRUE(sig.signature) << sig.error;
    const DkimKeyResult key = parse_dkim_key(v.record);
    ASSERT_TRUE(key.key) << key.error;
    DkimBodyHasher hasher(body_hash_key(*sig.signature));
    for (std::size_t i = 0; i < m.body.size(); i += 3) hasher.update(m.body.substr(i, 3));
    const DkimVerdict verdict = verify_dkim(m.fields, 0, *sig.signature, *key.key, hasher.finish());
    EXPECT_EQ(verdict.status, DkimStatus::Pass) << v.name << ": " << verdict.reason;
  }
}

}  // namespace
}  // namespace mxgate::auth
