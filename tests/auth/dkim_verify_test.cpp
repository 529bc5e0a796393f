// DKIM verification (RFC 6376 §6.1) against the published example of RFC 8463 Appendix A: an
// ed25519-sha256 and an rsa-sha256 signature over one message, keys from Appendix A.2. Also the
// header selection of §5.4.2, tampering, and what the key record or the clock forbid.
// The message and key records were copied from RFC 8463 Appendix A (the line breaks of the RFC
// text are the message's CRLFs; continuation lines start with one space).
#include "auth/dkim_verify.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxgate::auth {
namespace {

constexpr std::string_view kRfc8463Message =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

// Appendix A.2: brisbane._domainkey.football.example.com and test._domainkey (the RSA record's
// character-strings joined).
constexpr std::string_view kBrisbaneRecord =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kTestRecord =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

constexpr std::size_t kEd25519Index = 0;
constexpr std::size_t kRsaIndex = 1;

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const auto at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

DkimVerdict verify(std::string_view message, std::size_t index, std::string_view record,
                   const DkimVerifyOptions& options = {}) {
  return verify_dkim_message(split_message(message), index, record, options);
}

DkimSignature signature_at(const DkimMessage& message, std::size_t index) {
  DkimSignatureResult r = parse_dkim_signature(header_field_value(message.fields[index]));
  EXPECT_TRUE(r.signature) << r.error;
  return r.signature ? std::move(*r.signature) : DkimSignature{};
}

DkimKey key_from(std::string_view record) {
  DkimKeyResult r = parse_dkim_key(record);
  EXPECT_TRUE(r.key) << r.error;
  return r.key ? std::move(*r.key) : DkimKey{};
}

TEST(DkimVerify, SplitsAMessageIntoFieldsAndBody) {
  const DkimMessage m = split_message("A: 1\r\nB: 2\r\n folded\r\n\tagain\r\nC:3\r\n\r\nbody\r\n");
  ASSERT_EQ(m.fields.size(), 3u);
  EXPECT_EQ(m.fields[0], "A: 1\r\n");
  EXPECT_EQ(m.fields[1], "B: 2\r\n folded\r\n\tagain\r\n");
  EXPECT_EQ(m.fields[2], "C:3\r\n");
  EXPECT_EQ(m.body, "body\r\n");

  const DkimMessage no_body = split_message("A: 1\r\nB: 2");
  ASSERT_EQ(no_body.fields.size(), 2u);
  EXPECT_EQ(no_body.fields[1], "B: 2");
  EXPECT_EQ(no_body.body, "");
  EXPECT_EQ(split_message("\r\nbody").fields.size(), 0u);
  EXPECT_EQ(split_message("\r\nbody").body, "body");
  EXPECT_EQ(split_message("A: 1\r\n\r\n").body, "");
  EXPECT_EQ(split_message(" lone continuation\r\n\r\n").fields.size(), 1u);
}

TEST(DkimVerify, NormalizesLineEndings) {
  EXPECT_EQ(normalize_line_endings("a\nb\r\nc\rd\n\n"), "a\r\nb\r\nc\r\nd\r\n\r\n");
}

TEST(DkimVerify, FindsSignatureFields) {
  const DkimMessage m = split_message(kRfc8463Message);
  ASSERT_EQ(m.fields.size(), 7u);
  EXPECT_TRUE(is_dkim_signature_field(m.fields[0]));
  EXPECT_TRUE(is_dkim_signature_field("dkim-signature : v=1\r\n"));
  EXPECT_FALSE(is_dkim_signature_field(m.fields[2]));
}

TEST(DkimVerify, SignedDataOfTheRfc8463Ed25519Signature) {
  // From the bottom up, each field once: From, Subject and Date are listed twice and the second
  // time contribute nothing; then the signature itself, b= emptied, without CRLF.
  const DkimMessage m = split_message(kRfc8463Message);
  EXPECT_EQ(dkim_signed_data(m.fields, kEd25519Index, signature_at(m, kEd25519Index)),
            "from:Joe SixPack <joe@football.example.com>\r\n"
            "to:Suzie Q <suzie@shopping.example.net>\r\n"
            "subject:Is dinner ready?\r\n"
            "date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            "message-id:<20030712040037.46341.5F8J@football.example.com>\r\n"
            "dkim-signature:v=1; a=ed25519-sha256; c=relaxed/relaxed; "
            "d=football.example.com; i=@football.example.com; q=dns/txt; s=brisbane; "
            "t=1528637909; h=from : to : subject : date : message-id : from : subject : date; "
            "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=");
}

TEST(DkimVerify, Rfc8463Ed25519ExampleVerifies) {
  const DkimVerdict v = verify(kRfc8463Message, kEd25519Index, kBrisbaneRecord);
  EXPECT_EQ(v.status, DkimStatus::Pass) << v.reason;
  EXPECT_FALSE(v.testing);
  EXPECT_EQ(v.unsigned_body_octets, 0u);
}

TEST(DkimVerify, Rfc8463RsaExampleVerifies) {
  const DkimVerdict v = verify(kRfc8463Message, kRsaIndex, kTestRecord);
  EXPECT_EQ(v.status, DkimStatus::Pass) << v.reason;
}

TEST(DkimVerify, ATamperedBodyFailsTheBodyHash) {
  const std::string tampered = replace(kRfc8463Message, "hungry", "angry");
  for (auto [index, record] :
       {std::pair{kEd25519Index, kBrisbaneRecord}, std::pair{kRsaIndex, kTestRecord}}) {
    const DkimVerdict v = verify(tampered, index, record);
    EXPECT_EQ(v.status, DkimStatus::Fail);
    EXPECT_EQ(v.reason, "body hash mismatch");
  }
}

TEST(DkimVerify, ATamperedSignedHeaderFailsTheSignature) {
  const std::string tampered = replace(kRfc8463Message, "dinner", "lunch");
  for (auto [index, record] :
       {std::pair{kEd25519Index, kBrisbaneRecord}, std::pair{kRsaIndex, kTestRecord}}) {
    const DkimVerdict v = verify(tampered, index, record);
    EXPECT_EQ(v.status, DkimStatus::Fail);
    EXPECT_EQ(v.reason, "signature mismatch");
  }
}

TEST(DkimVerify, AnAddedFromFailsBecauseFromIsOversigned) {
  const std::string added =
      replace(kRfc8463Message, "From: Joe", "From: Mallory <m@evil.example>\r\nFrom: Joe");
  EXPECT_EQ(verify(added, kEd25519Index, kBrisbaneRecord).reason, "signature mismatch");
  // Added below the signed one, a From is the one chosen first from the bottom.
  const std::string below =
      replace(kRfc8463Message, "To: Suzie", "From: m@evil.example\r\nTo: Suzie");
  EXPECT_EQ(verify(below, kEd25519Index, kBrisbaneRecord).reason, "signature mismatch");
}

TEST(DkimVerify, UnsignedFieldsAndRelaxedWhiteSpaceChangesStillPass) {
  std::string changed = replace(kRfc8463Message, "Message-ID:", "X-Mailer: any\r\nMessage-ID:");
  changed = replace(changed, "Subject: Is dinner ready?", "SUBJECT:   Is dinner\r\n\tready?  ");
  changed = replace(changed, "We lost the game.  Are", "We lost the game. \t Are");
  changed += "\r\n\r\n";
  EXPECT_EQ(verify(changed, kEd25519Index, kBrisbaneRecord).status, DkimStatus::Pass);
  EXPECT_EQ(verify(changed, kRsaIndex, kTestRecord).status, DkimStatus::Pass);
}

TEST(DkimVerify, TheOtherSignatureFieldIsNotSigned) {
  // Neither signature lists dkim-signature in h=, so changing one leaves the other valid.
  const std::string changed = replace(kRfc8463Message, "s=test;", "s=test2;");
  EXPECT_EQ(verify(changed, kEd25519Index, kBrisbaneRecord).status, DkimStatus::Pass);
  EXPECT_EQ(verify(changed, kRsaIndex, kTestRecord).reason, "signature mismatch");
}

TEST(DkimVerify, StreamedBodyDigestVerifies) {
  const DkimMessage m = split_message(kRfc8463Message);
  const DkimSignature sig = signature_at(m, kEd25519Index);
  const DkimKey key = key_from(kBrisbaneRecord);
  DkimBodyHasher hasher(body_hash_key(sig));
  for (char c : m.body) hasher.update(std::string_view(&c, 1));
  const DkimBodyDigest body = hasher.finish();
  EXPECT_EQ(verify_dkim(m.fields, kEd25519Index, sig, key, body).status, DkimStatus::Pass);
  // One hasher serves both signatures: same c= body canonicalization, no l=.
  const DkimSignature rsa = signature_at(m, kRsaIndex);
  ASSERT_EQ(body_hash_key(rsa), hasher.key());
  EXPECT_EQ(verify_dkim(m.fields, kRsaIndex, rsa, key_from(kTestRecord), body).status,
            DkimStatus::Pass);
}

TEST(DkimVerify, KeyAndPolicyProblems) {
  const struct {
    std::size_t index;
    std::string record;
    DkimStatus status;
    std::string_view reason;
  } cases[] = {
      {kEd25519Index, std::string(kTestRecord), DkimStatus::PermError,
       "key type k= does not match a="},
      {kRsaIndex, std::string(kBrisbaneRecord), DkimStatus::PermError,
       "key type k= does not match a="},
      {kEd25519Index, "v=DKIM1; k=ed25519; p=", DkimStatus::PermError, "key revoked"},
      {kEd25519Index, "v=DKIM1; k=ed25519", DkimStatus::PermError, "key record without p="},
      // RFC 6376 §6.1.2 step 6: PERMFAIL (inappropriate hash algorithm).
      {kEd25519Index, std::string(kBrisbaneRecord) + "; h=sha1", DkimStatus::PermError,
       "key h= excludes sha256"},
      {kEd25519Index, std::string(kBrisbaneRecord) + "; s=tlsrpt", DkimStatus::PermError,
       "key s= excludes email"},
  };
  for (const auto& c : cases) {
    const DkimVerdict v = verify(kRfc8463Message, c.index, c.record);
    EXPECT_EQ(v.status, c.status) << c.record;
    EXPECT_EQ(v.reason, c.reason) << c.record;
  }
  // h= naming sha256 among others, and s=email, are fine.
  EXPECT_EQ(verify(kRfc8463Message, kEd25519Index,
                   std::string(kBrisbaneRecord) + "; h=sha1:sha256; s=email")
                .status,
            DkimStatus::Pass);
}

TEST(DkimVerify, StrictKeyRefusesAnIdentityInASubdomain) {
  const std::string strict = std::string(kBrisbaneRecord) + "; t=s";
  EXPECT_EQ(verify(kRfc8463Message, kEd25519Index, strict).status, DkimStatus::Pass);
  const std::string below =
      replace(kRfc8463Message, "i=@football.example.com", "i=@news.football.example.com");
  const DkimVerdict v = verify(below, kEd25519Index, strict);
  EXPECT_EQ(v.status, DkimStatus::Policy);
  EXPECT_EQ(v.reason, "key t=s forbids i= in a subdomain of d=");
}

TEST(DkimVerify, TestingKeysAreReported) {
  const DkimVerdict pass =
      verify(kRfc8463Message, kEd25519Index, std::string(kBrisbaneRecord) + "; t=y");
  EXPECT_EQ(pass.status, DkimStatus::Pass);
  EXPECT_TRUE(pass.testing);
  const DkimVerdict fail = verify(replace(kRfc8463Message, "dinner", "lunch"), kEd25519Index,
                                  std::string(kBrisbaneRecord) + "; t=y");
  EXPECT_EQ(fail.status, DkimStatus::Fail);
  EXPECT_TRUE(fail.testing);
}

TEST(DkimVerify, ExpiredSignaturesAreRefusedWithSkew) {
  const std::string expiring =
      replace(kRfc8463Message, "t=1528637909;", "t=1528637909; x=1528641509;");
  const std::uint64_t expiry = 1528641509;
  const DkimVerdict late =
      verify(expiring, kEd25519Index, kBrisbaneRecord, {.now = expiry + kDkimDefaultClockSkew + 1});
  EXPECT_EQ(late.status, DkimStatus::Policy);
  EXPECT_EQ(late.reason, "signature expired");
  // Within the skew the signature is judged on its merits (here: x= was added after signing).
  const DkimVerdict close =
      verify(expiring, kEd25519Index, kBrisbaneRecord, {.now = expiry + kDkimDefaultClockSkew});
  EXPECT_EQ(close.reason, "signature mismatch");
  // Without a clock, x= is not judged; the untouched example has no x= at all.
  EXPECT_EQ(verify(kRfc8463Message, kEd25519Index, kBrisbaneRecord, {.now = 4102444800}).status,
            DkimStatus::Pass);
}

TEST(DkimVerify, UnusableSignaturesAreNeutral) {
  const DkimVerdict sha1 =
      verify(replace(kRfc8463Message, "a=rsa-sha256", "a=rsa-sha1"), kRsaIndex, kTestRecord);
  EXPECT_EQ(sha1.status, DkimStatus::Neutral);
  EXPECT_EQ(sha1.reason, "rsa-sha1 is not accepted (RFC 8301)");
  const DkimVerdict no_from = verify(
      replace(kRfc8463Message, "h=from : to :\r\n subject : date : message-id : from : subject",
              "h=to :\r\n subject : date : message-id : subject"),
      kEd25519Index, kBrisbaneRecord);
  EXPECT_EQ(no_from.status, DkimStatus::Neutral);
  EXPECT_EQ(no_from.reason, "h= does not sign From");
  EXPECT_EQ(verify(kRfc8463Message, 99, kBrisbaneRecord).status, DkimStatus::Neutral);
}

TEST(DkimVerify, BodyLengthBeyondTheBodyFails) {
  const std::string longer = replace(kRfc8463Message, "s=brisbane;", "l=9999; s=brisbane;");
  const DkimVerdict v = verify(longer, kEd25519Index, kBrisbaneRecord);
  EXPECT_EQ(v.status, DkimStatus::Fail);
  EXPECT_EQ(v.reason, "l= is longer than the body");
}

TEST(DkimVerify, ADigestForOtherCanonicalizationIsTheCallersMistake) {
  const DkimMessage m = split_message(kRfc8463Message);
  const DkimSignature sig = signature_at(m, kEd25519Index);
  const DkimBodyDigest simple = dkim_body_digest({DkimCanon::Simple, {}}, m.body);
  const DkimVerdict v =
      verify_dkim(m.fields, kEd25519Index, sig, key_from(kBrisbaneRecord), simple);
  EXPECT_EQ(v.status, DkimStatus::Neutral);
  EXPECT_EQ(v.reason, "body hashed with another c= or l=");
}

TEST(DkimVerify, StatusNames) {
  EXPECT_EQ(to_string(DkimStatus::Pass), "pass");
  EXPECT_EQ(to_string(DkimStatus::Fail), "fail");
  EXPECT_EQ(to_string(DkimStatus::Neutral), "neutral");
  EXPECT_EQ(to_string(DkimStatus::Policy), "policy");
  EXPECT_EQ(to_string(DkimStatus::PermError), "permerror");
  EXPECT_EQ(to_string(DkimStatus::TempError), "temperror");
}

}  // namespace
}  // namespace mxgate::auth
