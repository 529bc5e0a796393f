// The signer of mxgate's own mail: keys made with OpenSSL when the test starts, written as PEM
// files; what it signs verifies here (python3-dkim verifies the DMARC reports end to end,
// tests/integration/test_dmarc_reports.py); changes after signing fail; bad key files are
// refused with the config key and the path.
#include "auth/dkim_sign.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "auth/dkim_verify.hpp"
#include "tests/auth/test_signer.hpp"

namespace mxgate::auth {
namespace {

using Key = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

constexpr std::string_view kMessage =
    "From: DMARC reports <noreply-dmarc@mx.example.net>\r\n"
    "To: rua@example.org\r\n"
    "Date: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
    "Subject: Report Domain: example.org\r\n"
    "  Submitter: mx.example.net Report-ID: <1>\r\n"
    "Message-ID: <1@mx.example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "X-Unsigned: not in h=\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "A body  with white space \r\n"
    "\r\n";

class TempFile {
 public:
  TempFile() : path_(std::filesystem::temp_directory_path() / "mxgate-dkim-sign-XXXXXX") {
    std::string pattern = path_.string();
    const int fd = ::mkstemp(pattern.data());
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = pattern;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void write_private_key(const Key& key, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(file, key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(file);
}

// "v=DKIM1; k=...; p=<SubjectPublicKeyInfo, base64>" or, for Ed25519, the raw key (RFC 8463 §4).
std::string key_record(const Key& key) {
  if (EVP_PKEY_is_a(key.get(), "ED25519") == 1) {
    unsigned char raw[32];
    std::size_t size = sizeof raw;
    EXPECT_EQ(EVP_PKEY_get_raw_public_key(key.get(), raw, &size), 1);
    return "v=DKIM1; k=ed25519; p=" +
           testing::base64(std::string_view(reinterpret_cast<const char*>(raw), size));
  }
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key.get(), &der);
  EXPECT_GT(size, 0);
  std::string record =
      "v=DKIM1; k=rsa; p=" +
      testing::base64(std::string_view(reinterpret_cast<const char*>(der),
                                       static_cast<std::size_t>(size)));
  OPENSSL_free(der);
  return record;
}

struct Case {
  const char* name;
  Key (*make)();
  DkimAlgorithm algorithm;
};

Key rsa2048() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})); }
Key ed25519() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }

class DkimSignTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    key_ = GetParam().make();
    ASSERT_TRUE(key_);
    write_private_key(key_, file_.path());
    signer_ = DkimSigner::load("mx.example.net", "reports", file_.path(), "dmarc_reports.dkim_key");
  }
  DkimVerdict verify(std::string_view message) const {
    return verify_dkim_message(split_message(message), 0, key_record(key_));
  }

  TempFile file_;
  Key key_;
  std::shared_ptr<const DkimSigner> signer_;
};

TEST_P(DkimSignTest, WhatItSignsVerifies) {
  EXPECT_EQ(signer_->algorithm(), GetParam().algorithm);
  const std::string field = signer_->sign(kMessage, 1'796'601'600);
  ASSERT_FALSE(field.empty());
  const std::string signed_message = field + std::string(kMessage);
  const DkimVerdict verdict = verify(signed_message);
  EXPECT_EQ(verdict.status, DkimStatus::Pass) << verdict.reason << "\n" << field;

  const auto parsed = parse_dkim_signature(header_field_value(split_message(signed_message).fields[0]));
  ASSERT_TRUE(parsed.signature) << parsed.error;
  const DkimSignature& s = *parsed.signature;
  EXPECT_EQ(s.domain, "mx.example.net");
  EXPECT_EQ(s.selector, "reports");
  EXPECT_EQ(s.timestamp, 1'796'601'600u);
  EXPECT_EQ(s.header_canon, DkimCanon::Relaxed);
  EXPECT_EQ(s.body_canon, DkimCanon::Relaxed);
  EXPECT_FALSE(s.body_length) << "no l=: nothing may be appended";
  EXPECT_EQ(s.signed_headers,
            (std::vector<std::string>{"from", "to", "subject", "date", "message-id",
                                      "mime-version", "content-type", "from"}));
  // RFC 5322 §2.1.1: lines of at most 78 characters.
  std::size_t start = 0;
  for (auto end = field.find("\r\n"); end != std::string::npos;
       start = end + 2, end = field.find("\r\n", start)) {
    EXPECT_LE(end - start, 78u) << field.substr(start, end - start);
  }
}

TEST_P(DkimSignTest, ChangesAfterSigningFail) {
  const std::string signed_message = signer_->sign(kMessage, 1'796'601'600) + std::string(kMessage);
  EXPECT_EQ(verify(testing::replace_once(signed_message, "A body", "A bodY")).status,
            DkimStatus::Fail);
  EXPECT_EQ(verify(testing::replace_once(signed_message, "To: rua@", "To: rub@")).status,
            DkimStatus::Fail);
  // A second From, where a reader may see it first: From is signed once more than it occurs.
  EXPECT_EQ(verify(testing::replace_once(signed_message, "To: rua@",
                                         "From: someone@example.org\r\nTo: rua@"))
                .status,
            DkimStatus::Fail);
  // Fields outside h= and the relaxed canonicalization's white space may change.
  EXPECT_EQ(verify(testing::replace_once(signed_message, "X-Unsigned: not", "X-Unsigned: now"))
                .status,
            DkimStatus::Pass);
  EXPECT_EQ(verify(testing::replace_once(signed_message, "Subject: Report", "Subject:  Report"))
                .status,
            DkimStatus::Pass);
}

// Whatever the header and body (folded fields, names in any case, repeated signed fields, white
// space runs, empty lines, 8-bit octets), a verifier rebuilds the data that was signed.
TEST_P(DkimSignTest, RandomMessagesVerify) {
  std::mt19937 random(20261207);
  const auto pick = [&random](std::string_view from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
  };
  const auto text = [&](std::size_t max) {
    std::string out;
    for (auto n = std::uniform_int_distribution<std::size_t>(0, max)(random); n > 0; --n) {
      out += pick("ab Z9 \t;=:.\x80\xff-");
    }
    return out;
  };
  constexpr std::string_view kNames[] = {"From", "to", "SUBJECT", "Date", "Message-ID", "Cc",
                                         "X-Other", "Content-Type", "References", "Reply-To"};
  for (int round = 0; round < 300; ++round) {
    std::string message = "From: a@example.org\r\n";
    for (auto n = std::uniform_int_distribution<int>(0, 8)(random); n > 0; --n) {
      message += std::string(kNames[std::uniform_int_distribution<std::size_t>(
                     0, std::size(kNames) - 1)(random)]) +
                 pick(": \t") + ":" + text(30);
      if (random() % 3 == 0) message += "\r\n " + text(20);  // folded
      message += "\r\n";
    }
    message += "\r\n";
    for (auto n = std::uniform_int_distribution<int>(0, 6)(random); n > 0; --n) {
      message += text(60) + "\r\n";
    }
    const std::string field = signer_->sign(message, 1'796'601'600);
    ASSERT_FALSE(field.empty());
    const DkimVerdict verdict = verify(field + message);
    ASSERT_EQ(verdict.status, DkimStatus::Pass) << verdict.reason << "\n" << field << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, DkimSignTest,
                         ::testing::Values(Case{"rsa2048", rsa2048, DkimAlgorithm::RsaSha256},
                                           Case{"ed25519", ed25519, DkimAlgorithm::Ed25519Sha256}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

std::string load_error(const std::string& path) {
  try {
    DkimSigner::load("mx.example.net", "reports", path, "dmarc_reports.dkim_key");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "loaded";
}

TEST(DkimSignerLoad, RefusesWhatCannotSign) {
  TempFile file;
  EXPECT_EQ(load_error(file.path() + ".absent"),
            "dmarc_reports.dkim_key: '" + file.path() + ".absent' cannot be read");
  // A public key, an EC key and a short RSA key: each named with the config key and the path.
  Key rsa = rsa2048();
  {
    std::FILE* out = std::fopen(file.path().c_str(), "w");
    ASSERT_NE(out, nullptr);
    PEM_write_PUBKEY(out, rsa.get());
    std::fclose(out);
  }
  EXPECT_NE(load_error(file.path()).find("dmarc_reports.dkim_key: '" + file.path() +
                                         "' holds no PEM private key"),
            std::string::npos);
  write_private_key(Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), file.path());
  EXPECT_EQ(load_error(file.path()), "dmarc_reports.dkim_key: '" + file.path() +
                                         "' holds neither an RSA nor an Ed25519 key");
  write_private_key(Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{768})), file.path());
  EXPECT_EQ(load_error(file.path()),
            "dmarc_reports.dkim_key: '" + file.path() +
                "' holds a 768-bit RSA key; DKIM needs at least 1024 (RFC 8301)");
}

}  // namespace
}  // namespace mxgate::auth
