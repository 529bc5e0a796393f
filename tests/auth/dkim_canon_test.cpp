// DKIM canonicalization (RFC 6376 §3.4) and the streaming body hash: the RFC's own examples
// byte for byte, empty bodies, trailing empty lines, l=, and the same output whatever the
// chunk boundaries.
#include "auth/dkim_canon.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "tests/auth/test_signer.hpp"

namespace mxgate::auth {
namespace {

using testing::base64;
using testing::sha256;

// RFC 6376 §3.4.5: the example header fields and body.
constexpr std::string_view kExampleFields[] = {"A: X\r\n", "B : Y\t\r\n\tZ  \r\n"};
constexpr std::string_view kExampleBody = " C \r\nD \t E\r\n\r\n\r\n";

TEST(DkimCanon, Rfc6376ExampleRelaxedHeader) {
  EXPECT_EQ(canonicalize_header(DkimCanon::Relaxed, kExampleFields[0]), "a:X\r\n");
  EXPECT_EQ(canonicalize_header(DkimCanon::Relaxed, kExampleFields[1]), "b:Y Z\r\n");
}

TEST(DkimCanon, Rfc6376ExampleSimpleHeader) {
  EXPECT_EQ(canonicalize_header(DkimCanon::Simple, kExampleFields[0]), "A: X\r\n");
  EXPECT_EQ(canonicalize_header(DkimCanon::Simple, kExampleFields[1]), "B : Y\t\r\n\tZ  \r\n");
}

TEST(DkimCanon, Rfc6376ExampleRelaxedBody) {
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, kExampleBody), " C\r\nD E\r\n");
}

TEST(DkimCanon, Rfc6376ExampleSimpleBody) {
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, kExampleBody), " C \r\nD \t E\r\n");
}

TEST(DkimCanon, RelaxedHeaderDetails) {
  const struct {
    std::string_view in, out;
  } cases[] = {
      {"SUBJECT:hello\r\n", "subject:hello\r\n"},
      {"Subject \t:  \t hello   world \t\r\n", "subject:hello world\r\n"},
      {"Subject: a\r\n b\r\n\t c\r\n", "subject:a b c\r\n"},
      {"X-Empty:\r\n", "x-empty:\r\n"},
      {"X-Empty:   \r\n", "x-empty:\r\n"},
      {"X-Folded-Empty:\r\n \r\n", "x-folded-empty:\r\n"},
      {"To: a@b", "to:a@b\r\n"},  // a field without CRLF still ends in one
      {"Mixed: caf\xc3\xa9  \xe2\x80\x94 ok\r\n", "mixed:caf\xc3\xa9 \xe2\x80\x94 ok\r\n"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(canonicalize_header(DkimCanon::Relaxed, c.in), c.out) << c.in;
  }
}

TEST(DkimCanon, FieldNameAndValue) {
  EXPECT_EQ(header_field_name("Subject \t: x\r\n"), "Subject");
  EXPECT_EQ(header_field_value("Subject \t: x\r\n y\r\n"), " x\r\n y");
  EXPECT_EQ(header_field_name("no colon\r\n"), "no colon");
  EXPECT_EQ(header_field_value("no colon\r\n"), "");
}

TEST(DkimCanon, EmptyBodies) {
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, ""), "\r\n");  // §3.4.3
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, ""), "");     // §3.4.4
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, "\r\n\r\n\r\n"), "\r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, "\r\n\r\n\r\n"), "");
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, " \t\r\n\t\r\n  "), "");
  // The well-known body hashes of an empty body.
  EXPECT_EQ(base64(dkim_body_digest({DkimCanon::Simple, {}}, "").hash),
            "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(base64(dkim_body_digest({DkimCanon::Relaxed, {}}, "").hash),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(DkimCanon, TrailingEmptyLinesGoInnerOnesStay) {
  const std::string_view body = "a\r\n\r\n\r\nb\r\n\r\n \r\n\r\n";
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, body), "a\r\n\r\n\r\nb\r\n\r\n \r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, body), "a\r\n\r\n\r\nb\r\n");
  // A white-space line inside the body is an empty line once relaxed.
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, "a\r\n \t \r\nb\r\n"), "a\r\n\r\nb\r\n");
}

TEST(DkimCanon, ALastLineWithoutCrlfGetsOne) {
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, "abc"), "abc\r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, "abc  "), "abc\r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, "a\r\n\r\nz"), "a\r\n\r\nz\r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, "abc\r"), "abc\r\r\n");
}

TEST(DkimCanon, RelaxedWhiteSpaceRules) {
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, "\t\tindented\r\n"), " indented\r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Relaxed, "a \t \tb \r\n"), "a b\r\n");
  EXPECT_EQ(canonicalize_body(DkimCanon::Simple, "a \t \tb \r\n"), "a \t \tb \r\n");
}

// Bodies that stress the state machine: runs of white space, CR/LF and empty lines.
const std::vector<std::string> kBodies = {
    "",
    "\r\n",
    "Hello\r\n",
    " C \r\nD \t E\r\n\r\n\r\n",
    "a\r\n\r\n\r\nb  \t\r\n \r\n\t\r\n\r\n",
    "  lead\r\n\t\ttabs\t\r\nmid  dle  \r\n\r\nend",
    "x\r\n \r\n \r\n y\r\n",
    std::string(300, ' ') + "\r\n" + std::string(300, 'x') + "\r\n\r\n",
};

TEST(DkimCanon, ChunkBoundariesDoNotChangeTheOutput) {
  for (const DkimCanon canon : {DkimCanon::Simple, DkimCanon::Relaxed}) {
    for (const std::string& body : kBodies) {
      const std::string whole = canonicalize_body(canon, body);
      // Every single split point, then fixed chunk sizes down to one octet.
      for (std::size_t cut = 0; cut <= body.size(); ++cut) {
        DkimBodyCanonicalizer c(canon);
        std::string out;
        c.update(std::string_view(body).substr(0, cut), out);
        c.update(std::string_view(body).substr(cut), out);
        c.finish(out);
        ASSERT_EQ(out, whole) << to_string(canon) << " cut " << cut << " of " << body;
      }
      for (std::size_t size = 1; size <= 7; ++size) {
        DkimBodyHasher hasher({canon, {}});
        for (std::size_t i = 0; i < body.size(); i += size) {
          hasher.update(std::string_view(body).substr(i, size));
        }
        const DkimBodyDigest digest = hasher.finish();
        EXPECT_EQ(digest.hash, sha256(whole)) << to_string(canon) << " size " << size;
        EXPECT_EQ(digest.canonical_length, whole.size());
        EXPECT_EQ(digest.hashed_length, whole.size());
      }
    }
  }
}

TEST(DkimCanon, ByteByByteEqualsOnePiece) {
  const std::string body =
      "Dear Bob,\r\n\r\n  lines\twith  \t white space  \r\n\r\n-- \r\nA\r\n\r\n";
  for (const DkimCanon canon : {DkimCanon::Simple, DkimCanon::Relaxed}) {
    DkimBodyHasher bytes({canon, {}});
    for (char c : body) bytes.update(std::string_view(&c, 1));
    const DkimBodyDigest a = bytes.finish();
    const DkimBodyDigest b = dkim_body_digest({canon, {}}, body);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.canonical_length, b.canonical_length);
    EXPECT_EQ(a.hash.size(), 32u);
  }
}

TEST(DkimCanon, LengthLimitHashesAPrefixAndCountsTheRest) {
  const std::string body = "first line\r\nsecond  line\r\n\r\nthird\r\n\r\n";
  for (const DkimCanon canon : {DkimCanon::Simple, DkimCanon::Relaxed}) {
    const std::string whole = canonicalize_body(canon, body);
    for (std::uint64_t limit : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{12},
                                std::uint64_t{whole.size()}, std::uint64_t{whole.size() + 10}}) {
      DkimBodyHasher hasher({canon, limit});
      for (char c : body) hasher.update(std::string_view(&c, 1));
      const DkimBodyDigest digest = hasher.finish();
      const std::size_t hashed = std::min<std::size_t>(limit, whole.size());
      EXPECT_EQ(digest.hash, sha256(whole.substr(0, hashed))) << limit;
      EXPECT_EQ(digest.hashed_length, hashed) << limit;
      EXPECT_EQ(digest.canonical_length, whole.size()) << limit;
      EXPECT_EQ(digest.key, (DkimBodyHashKey{canon, limit}));
    }
  }
}

TEST(DkimCanon, LimitCountsTheCrlfOfAnEmptySimpleBody) {
  const DkimBodyDigest digest = dkim_body_digest({DkimCanon::Simple, 1}, "");
  EXPECT_EQ(digest.hashed_length, 1u);
  EXPECT_EQ(digest.canonical_length, 2u);
  EXPECT_EQ(digest.hash, sha256("\r"));
}

TEST(DkimCanon, UpdateAfterFinishIsIgnored) {
  DkimBodyHasher hasher({DkimCanon::Relaxed, {}});
  hasher.update("abc\r\n");
  const DkimBodyDigest first = hasher.finish();
  hasher.update("more\r\n");
  const DkimBodyDigest second = hasher.finish();
  EXPECT_EQ(first.hash, sha256("abc\r\n"));
  EXPECT_TRUE(second.hash.empty());
}

TEST(DkimCanon, SignaturesWithTheSameCanonicalizationAndLimitShareAHasher) {
  DkimSignature a, b, c;
  a.body_canon = b.body_canon = DkimCanon::Relaxed;
  c.body_canon = DkimCanon::Relaxed;
  c.body_length = 10;
  EXPECT_EQ(body_hash_key(a), body_hash_key(b));
  EXPECT_NE(body_hash_key(a), body_hash_key(c));
}

}  // namespace
}  // namespace mxgate::auth
