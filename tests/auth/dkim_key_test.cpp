// DKIM key records (RFC 6376 §3.6.1) and their keys (RFC 8301 §3.2 sizes, RFC 8463 §4 ed25519).
// The RSA keys were made with `openssl genrsa <bits>` and `openssl rsa -pubout -outform DER |
// base64 -w0` (PKCS#1: `-RSAPublicKey_out`); the EC key with `openssl ecparam -name prime256v1`.
#include "auth/dkim_key.hpp"

#include <gtest/gtest.h>

#include <random>

namespace mxgate::auth {
namespace {

// The 2048-bit key of the python3-dkim vectors (dkim_interop_test.cpp), SubjectPublicKeyInfo.
constexpr std::string_view kRsa2048Spki =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6oIy/R4vjg/JnShnz1PMR8ccXOTSVX6/ZL1ArzxNUP5kzMLp"
    "KObCgAreeHIeiGrPXZsiRngdm+2QYidQFyRsqbitJozIWtkK8Auo+lvglXm/1oimaudLC2Ux6JzzaY14CWKW4tEg6lU6"
    "plcCY5Tw4tDnJjkXqaBRVu/2xAhCbYg4iUXgUda+LmuXBFodJZL4Mp6NWNWfIJibtnI46lYuQJzyFgPwPaQfponyow2H"
    "F6FeJy74Y3Xjtx8/rCgyi5wmvs4xNvA5tolqY2rebAclOHEBcnpI69qtHUFFlpBvN4vKmR4kbwr9yozjmtAf/fJgWgJ2"
    "hcg6Xr8ld8mPTeha0QIDAQAB";
// The same key as a bare PKCS#1 RSAPublicKey.
constexpr std::string_view kRsa2048Pkcs1 =
    "MIIBCgKCAQEA6oIy/R4vjg/JnShnz1PMR8ccXOTSVX6/ZL1ArzxNUP5kzMLpKObCgAreeHIeiGrPXZsiRngdm+2QYidQ"
    "FyRsqbitJozIWtkK8Auo+lvglXm/1oimaudLC2Ux6JzzaY14CWKW4tEg6lU6plcCY5Tw4tDnJjkXqaBRVu/2xAhCbYg4"
    "iUXgUda+LmuXBFodJZL4Mp6NWNWfIJibtnI46lYuQJzyFgPwPaQfponyow2HF6FeJy74Y3Xjtx8/rCgyi5wmvs4xNvA5"
    "tolqY2rebAclOHEBcnpI69qtHUFFlpBvN4vKmR4kbwr9yozjmtAf/fJgWgJ2hcg6Xr8ld8mPTeha0QIDAQAB";
// RFC 8463 Appendix A.2, selector "test": the 1024-bit key RFC 8301 still admits.
constexpr std::string_view kRfc8463Rsa1024 =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J1"
    "6JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2"
    "EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
// RFC 8463 Appendix A.2, selector "brisbane": a raw Ed25519 key.
constexpr std::string_view kRfc8463Ed25519 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kRsa512 =
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAK+CyEcinw8tLbl2kGaSreUgcX4qLnrTs4cfmvtnCNd2l7wuhtytkhMrEwHU"
    "pWqSVAN3raGpMYjLaQKz33AXdxkCAwEAAQ==";
constexpr std::string_view kRsa4096 =
    "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAtOC50mDBLmga2QYTjX/gXEGMxMIMv4PERT7PzjNClwRHaVUE"
    "lOkW/nyjVSuw1nxk2Sa6dYH8oJs4Cy6iaRi4xCnCyQIttN1GRcUu9oPgINCk8OdmN2abgXCFvnoIs0iSSZe8JsFjR36o"
    "6yCnzOcFoA3PMU5Sb7NTakAnRwCIblsuvi9FN04LzhXsZukFxLBPRphju8Jgke4toHxeEg7rWDJIkmrSzFhSyr9tz/Q2"
    "bImCCtIMJHQwZFPlhIfxOnzWxVybg2HxsKufdYKcniz724+fwZMSsvqe4ZDmSGUNS55qvAQOWxcn9BiAX5viIWJhhYin"
    "dEAXtpB94LBFoJG5dDDgi53xq5awqeQTEQx9gL56h9zh5nz7VrXbJwqWk9Ij9hGWx+WciULYi1t20QGAVOsoIo0xZ3qw"
    "D4Cx7tjmRq//PAJwBABqSa/eeom+KWyR5wolYk7MKtrI6RjUkQnyYBkUpWlc8EPFOPxl/VNyDxeL0+Qk+vatNmG/dV5y"
    "/MWf7gCzYg9i3vJbjvIyjAERkoY3dBjO7rgt+vkSv9Hi6WqJjphqcU5xhgE7vh453lCzP0VngFP22SUNFPH9Vv+GQXLE"
    "spb8nwSFhegNYb57mzs8nEi7TpumrUs5Qbr8jaep+hd7M1vp5kVNWwSvV2d8dYID2VcCspBrkJvPyVq3epsCAwEAAQ==";
constexpr std::string_view kRsa4104 =
    "MIICIzANBgkqhkiG9w0BAQEFAAOCAhAAMIICCwKCAgIAn9plaKBV1xW6oAKJWGcxI6HnRGY483p+zXwtbGzmdvuMRt/l"
    "x4bncpYTdnI5gkpk6napDRLdBnJaZlcgdIrTsCg1h9QxrAYknfjhO8nW5AM+sMj53V2XUnLJwHHf1ShwK2ApLXIa/nhk"
    "tXGe7tO+kBLllEi6p5S4hzNWSQjqHhSS+qUnenhOjd9GuhVlo3x6gTvk21Xr0m2Nljcj0sZBj/BayWs7DEYLg2LyA44W"
    "R+CUZDPGJ4g3oQmsTlPyAboZZpMLDr3HPbHyATdZWuYMM0ntgGys/8/0drUpnKA2WcBR8f+6JGj9GaZh0LTm7F+lEMGG"
    "qjiycg1rcOh8lKtsDPMDhVH6Gu/diDQX4d/uN9vCwaNSjo7eWExodBfVpW6r7JT3ptjjVW06sfK4+uav7VP0ZCS6Je0l"
    "kPwWozGViGJrs5oze08tBEVfClYIdgZWsJSLu7oh1ThLwuB8pSZLzDzclZ1OpwDo5g3pg1ZU1exUCp1siLFqHVAFAqxx"
    "E7GF42N+u0xCr8ZHOfhl7tBwInSX19UZrYoWjRjfL7HeSm3HyW+/Wmrl/o/zFHEj0jT+OKYdorP9SxnONVMY+Mg8ufD0"
    "PENQm9OuNFZykGsIdLC5Z8FnbzZts7Ui6d3Yqe7nGauw+qsow5uiCffBlJXMdF5PqRKImu2gArVWYep1XGcBAgMBAAE=";
constexpr std::string_view kEcP256 =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEmG2TPswa59QzDTbqgw+fTe6h9J27LYNWQi8whLzg6lljDvr+Gm2qIF7"
    "Z1RXmdQNrjgGPO3CCtiPmyVoZIeKQA==";
// An Ed25519 key wrapped in a SubjectPublicKeyInfo (RFC 8410), which RFC 8463 does not publish.
constexpr std::string_view kEd25519Spki =
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

std::string record(std::string_view prefix, std::string_view key) {
  return std::string(prefix) + std::string(key);
}

TEST(DkimKey, LoadsAnRsaSubjectPublicKeyInfo) {
  const DkimKeyResult r = parse_dkim_key(record("v=DKIM1; k=rsa; h=sha256; p=", kRsa2048Spki));
  ASSERT_TRUE(r.key) << r.error;
  EXPECT_EQ(r.key->type, DkimKeyType::Rsa);
  EXPECT_EQ(r.key->bits, 2048);
  EXPECT_NE(r.key->public_key, nullptr);
  EXPECT_TRUE(r.key->allows_sha256());
  EXPECT_TRUE(r.key->serves_email());
  EXPECT_FALSE(r.key->testing);
  EXPECT_FALSE(r.key->strict);
}

TEST(DkimKey, LoadsABarePkcs1RsaKey) {
  const DkimKeyResult r = parse_dkim_key(record("p=", kRsa2048Pkcs1));
  ASSERT_TRUE(r.key) << r.error;
  EXPECT_EQ(r.key->type, DkimKeyType::Rsa);  // k= defaults to rsa
  EXPECT_EQ(r.key->bits, 2048);
}

TEST(DkimKey, AcceptsKeysFrom1024To4096Bits) {
  const DkimKeyResult small = parse_dkim_key(record("v=DKIM1; k=rsa; p=", kRfc8463Rsa1024));
  ASSERT_TRUE(small.key) << small.error;
  EXPECT_EQ(small.key->bits, 1024);
  const DkimKeyResult large = parse_dkim_key(record("p=", kRsa4096));
  ASSERT_TRUE(large.key) << large.error;
  EXPECT_EQ(large.key->bits, 4096);
}

TEST(DkimKey, RefusesRsaKeysBelow1024AndAbove4096Bits) {
  const DkimKeyResult weak = parse_dkim_key(record("v=DKIM1; p=", kRsa512));
  EXPECT_FALSE(weak.key);
  EXPECT_EQ(weak.error, "RSA key of 512 bits is too short (RFC 8301)");
  const DkimKeyResult huge = parse_dkim_key(record("v=DKIM1; p=", kRsa4104));
  EXPECT_FALSE(huge.key);
  EXPECT_EQ(huge.error, "RSA key of 4104 bits is too long");
}

TEST(DkimKey, LoadsARawEd25519Key) {
  const DkimKeyResult r = parse_dkim_key(record("v=DKIM1; k=ed25519; p=", kRfc8463Ed25519));
  ASSERT_TRUE(r.key) << r.error;
  EXPECT_EQ(r.key->type, DkimKeyType::Ed25519);
  EXPECT_EQ(r.key->bits, 256);
}

TEST(DkimKey, FoldedAndSpacedKeyDataIsJoined) {
  std::string spaced = "v=DKIM1; p=";
  for (std::size_t i = 0; i < kRsa2048Spki.size(); i += 60) {
    spaced += std::string(kRsa2048Spki.substr(i, 60)) + " \r\n\t";
  }
  const DkimKeyResult r = parse_dkim_key(spaced);
  ASSERT_TRUE(r.key) << r.error;
  EXPECT_EQ(r.key->bits, 2048);
}

TEST(DkimKey, AnEmptyKeyIsRevoked) {
  for (std::string_view text : {"v=DKIM1; p=", "v=DKIM1; k=ed25519; p= ; t=y", "p=\r\n "}) {
    const DkimKeyResult r = parse_dkim_key(text);
    EXPECT_FALSE(r.key) << text;
    EXPECT_TRUE(r.revoked) << text;
    EXPECT_EQ(r.error, "key revoked") << text;
  }
}

TEST(DkimKey, ReadsFlagsHashesAndServices) {
  const DkimKeyResult r = parse_dkim_key(
      record("v=DKIM1; t=y:S:x; h=SHA1 : sha256; s=email:tlsrpt; n=notes; k=ed25519; p=",
             kRfc8463Ed25519));
  ASSERT_TRUE(r.key) << r.error;
  EXPECT_TRUE(r.key->testing);
  EXPECT_TRUE(r.key->strict);
  EXPECT_EQ(r.key->hashes, (std::vector<std::string>{"sha1", "sha256"}));
  EXPECT_TRUE(r.key->allows_sha256());
  EXPECT_TRUE(r.key->serves_email());

  const DkimKeyResult sha1 =
      parse_dkim_key(record("h=sha1; s=tlsrpt; k=ed25519; p=", kRfc8463Ed25519));
  ASSERT_TRUE(sha1.key) << sha1.error;
  EXPECT_FALSE(sha1.key->allows_sha256());
  EXPECT_FALSE(sha1.key->serves_email());
  const DkimKeyResult any = parse_dkim_key(record("s=*; k=ed25519; p=", kRfc8463Ed25519));
  ASSERT_TRUE(any.key) << any.error;
  EXPECT_TRUE(any.key->serves_email());
}

TEST(DkimKey, RefusalsSayWhy) {
  const struct {
    std::string text;
    std::string_view error;
  } cases[] = {
      {record("k=rsa; v=DKIM1; p=", kRsa2048Spki), "v= is not the first tag of the key record"},
      {record("v=DKIM2; p=", kRsa2048Spki), "unsupported key record version v="},
      {record("v=dkim1; p=", kRsa2048Spki), "unsupported key record version v="},
      {record("v=DKIM1; k=dsa; p=", kRsa2048Spki), "unsupported key type k="},
      {"v=DKIM1; k=rsa", "key record without p="},
      {"v=DKIM1; p=not*base64", "key p= is not base64"},
      {"v=DKIM1; p=AQAB", "p= is not an RSA public key"},
      {record("v=DKIM1; p=", kEcP256), "p= is not an RSA public key"},
      {record("v=DKIM1; k=rsa; p=", kRfc8463Ed25519), "p= is not an RSA public key"},
      {record("v=DKIM1; k=ed25519; p=", kRsa2048Spki), "ed25519 key p= is not 32 octets"},
      {record("v=DKIM1; k=ed25519; p=", kEd25519Spki), "ed25519 key p= is not 32 octets"},
      {record("v=DKIM1; p=", std::string(kRsa2048Spki).replace(8, 4, "AAAA")),
       "p= is not an RSA public key"},
      {"v=DKIM1; p=AQAB; p=AQAB", "malformed key record: tag \"p\" appears twice"},
      {"v=DKIM1; garbage", "malformed key record: tag without \"=\""},
  };
  for (const auto& c : cases) {
    const DkimKeyResult r = parse_dkim_key(c.text);
    EXPECT_FALSE(r.key) << c.text;
    EXPECT_FALSE(r.revoked) << c.text;
    EXPECT_EQ(r.error, c.error) << c.text;
  }
}

TEST(DkimKey, TrailingOctetsAfterTheKeyAreRefused) {
  // The SubjectPublicKeyInfo followed by three stray octets ("AQAB" decodes to 01 00 01).
  std::string text = record("v=DKIM1; p=", kRsa2048Spki);
  text += "AQAB";
  const DkimKeyResult r = parse_dkim_key(text);
  EXPECT_FALSE(r.key);
  EXPECT_EQ(r.error, "p= is not an RSA public key");
}

TEST(DkimKey, NoInputCrashesTheParser) {
  std::mt19937 random(8463);
  const std::string der = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6oIy";
  for (int round = 0; round < 2000; ++round) {
    std::string key(kRsa2048Spki);
    // Flip a few base64 characters: DER parsing must survive any corruption.
    for (int flips = 0; flips < 3; ++flips) {
      key[random() % key.size()] = "AZaz09+/"[random() % 8];
    }
    const DkimKeyResult r = parse_dkim_key(record("p=", key));
    EXPECT_TRUE(r.key || !r.error.empty());
    const DkimKeyResult prefix =
        parse_dkim_key(record("p=", std::string_view(der).substr(0, random() % der.size())));
    EXPECT_TRUE(prefix.key || !prefix.error.empty());
  }
}

}  // namespace
}  // namespace mxgate::auth
