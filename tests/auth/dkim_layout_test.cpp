// DKIM-Signature layouts that RFC 6376 §3.2 allows and signers seldom write: tags in any order
// (b= first), folding white space around "=" and ";" and inside b= and bh=, h= names in any
// case with spaces around the colons, unknown tags. Each row gives a signature field and, by
// hand, the data §3.7 says is signed: the h= fields canonicalized (§3.4), then the signature
// field with the value of b= "(including all surrounding whitespace) deleted" and no final
// CRLF. The test signs that data with a key of its own and the verifier must agree, so a row
// fails if the verifier hashes anything else. Also the key record's h= (§3.6.1).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/dkim_verify.hpp"
#include "tests/auth/test_signer.hpp"

namespace mxgate::auth {
namespace {

using testing::body_hash;
using testing::Ed25519Signer;
using testing::fill_in;

constexpr std::string_view kFields =
    "From: Joe <joe@football.example.com>\r\n"
    "To: Suzie <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n";
constexpr std::string_view kBody = "Hi.\r\n";  // canonical in both forms
// The three fields above, relaxed (§3.4.2).
constexpr std::string_view kRelaxedFields =
    "from:Joe <joe@football.example.com>\r\n"
    "to:Suzie <suzie@shopping.example.net>\r\n"
    "subject:Is dinner ready?\r\n";

struct Layout {
  const char* rule;
  std::string field;     // the DKIM-Signature field, with {bh}, {b} (or {b1} and {b2}) to fill
  std::string expected;  // what is signed, with {bh}
};

const std::vector<Layout>& layouts() {
  static const std::vector<Layout> rows = {
      {"b= first (§3.2: tags in any order)",
       "DKIM-Signature: b={b}; v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
       " d=football.example.com; s=brisbane; h=from:to:subject; bh={bh}\r\n",
       std::string(kRelaxedFields) +
           "dkim-signature:b=; v=1; a=ed25519-sha256; c=relaxed/relaxed; "
           "d=football.example.com; s=brisbane; h=from:to:subject; bh={bh}"},
      {"b= first with white space around its value: deleted with it (§3.7)",
       "DKIM-Signature: b= {b} ; v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
       " d=football.example.com; s=brisbane; h=from:to:subject; bh={bh}\r\n",
       std::string(kRelaxedFields) +
           "dkim-signature:b=; v=1; a=ed25519-sha256; c=relaxed/relaxed; "
           "d=football.example.com; s=brisbane; h=from:to:subject; bh={bh}"},
      {"FWS around \"=\" and \";\", folded b= and bh=, h= in mixed case with spaces",
       "DKIM-Signature: v = 1 ;\r\n\ta=ed25519-sha256 ; c = relaxed/relaxed;d=football.example.com"
       "\r\n ; s=brisbane; h = From : TO :\r\n Subject ; bh=\r\n {bh} ; b =\r\n {b1}\r\n {b2} \r\n",
       std::string(kRelaxedFields) +
           "dkim-signature:v = 1 ; a=ed25519-sha256 ; c = relaxed/relaxed;d=football.example.com ; "
           "s=brisbane; h = From : TO : Subject ; bh= {bh} ; b ="},
      {"reverse order, an unknown tag, a trailing \";\"",
       "DKIM-Signature: zz=ignored; h=SUBJECT:from; bh={bh}; s=brisbane;\r\n"
       " d=football.example.com; c=relaxed/relaxed; a=ed25519-sha256; v=1; b={b};\r\n",
       "subject:Is dinner ready?\r\nfrom:Joe <joe@football.example.com>\r\n"
       "dkim-signature:zz=ignored; h=SUBJECT:from; bh={bh}; s=brisbane; "
       "d=football.example.com; c=relaxed/relaxed; a=ed25519-sha256; v=1; b=;"},
      {"simple header canonicalization keeps every octet but b='s value (§3.4.1)",
       "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/relaxed;\r\n"
       "\td=football.example.com ;s=brisbane; h=from: to; bh={bh}; b=\r\n {b1}\r\n {b2}\r\n",
       std::string(kFields.substr(0, kFields.find("Subject"))) +
           "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/relaxed;\r\n"
           "\td=football.example.com ;s=brisbane; h=from: to; bh={bh}; b="},
  };
  return rows;
}

TEST(DkimLayout, EveryTagListLayoutOfTheGrammarVerifies) {
  const Ed25519Signer signer;
  const std::string bh = body_hash(kBody);
  for (const Layout& row : layouts()) {
    const std::string expected = fill_in(row.expected, "bh", bh);
    const std::string b = signer.sign(expected);
    std::string field = fill_in(fill_in(row.field, "bh", bh), "b", b);
    field = fill_in(fill_in(field, "b1", b.substr(0, b.size() / 2)), "b2", b.substr(b.size() / 2));
    const std::string message = field + std::string(kFields) + "\r\n" + std::string(kBody);
    const DkimMessage split = split_message(message);
    const auto parsed = parse_dkim_signature(header_field_value(split.fields[0]));
    ASSERT_TRUE(parsed.signature) << row.rule << ": " << parsed.error;
    EXPECT_EQ(dkim_signed_data(split.fields, 0, *parsed.signature), expected) << row.rule;
    const DkimVerdict verdict = verify_dkim_message(split, 0, signer.key_record());
    EXPECT_EQ(verdict.status, DkimStatus::Pass) << row.rule << ": " << verdict.reason;
  }
}

// §3.6.1 h= "Acceptable hash algorithms": names compare without case (RFC 5234 strings), FWS
// around the colons. §6.1.2 step 6: a key whose h= does not include the signature's hash makes
// the verifier "ignore the key record and return PERMFAIL (inappropriate hash algorithm)".
TEST(DkimLayout, TheKeyRecordsHashListDecidesPermanently) {
  const Ed25519Signer signer;
  const std::string bh = body_hash(kBody);
  const Layout& row = layouts().front();
  const std::string expected = fill_in(row.expected, "bh", bh);
  const std::string message = fill_in(fill_in(row.field, "bh", bh), "b", signer.sign(expected)) +
                              std::string(kFields) + "\r\n" + std::string(kBody);
  const DkimMessage split = split_message(message);
  const struct {
    const char* extra;
    DkimStatus status;
  } cases[] = {
      {"h=sha256", DkimStatus::Pass},
      {"h=SHA256", DkimStatus::Pass},
      {"h = sha1 :\r\n SHA256 ", DkimStatus::Pass},
      {"h=sha512:sha256:x-future", DkimStatus::Pass},
      {"h=sha1", DkimStatus::PermError},
      {"h=sha1:sha512", DkimStatus::PermError},
      {"h=sha2566", DkimStatus::PermError},
  };
  for (const auto& c : cases) {
    const DkimVerdict verdict = verify_dkim_message(split, 0, signer.key_record(c.extra));
    EXPECT_EQ(verdict.status, c.status) << c.extra << ": " << verdict.reason;
    if (c.status == DkimStatus::PermError) {
      EXPECT_EQ(verdict.reason, "key h= excludes sha256") << c.extra;
    }
  }
}

}  // namespace
}  // namespace mxgate::auth
