// A signer for tests: an Ed25519 key made with OpenSSL when the test starts, its DKIM key record
// (RFC 8463 §4: k=ed25519, p= the raw 32-octet public key), and signatures over data the test
// writes out by hand. It signs exactly the octets it is given (RFC 8463 §3: Ed25519 over the
// SHA-256 of the data), so a test states what the RFC says is signed and checks that the
// verifier agrees, instead of signing with the code under test.
// Also the text helpers the tests share. Header-only, for tests/auth; never throws but on an
// OpenSSL failure (a broken test machine).
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mxgate::auth::testing {

inline std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

inline std::string sha256(std::string_view data) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), hash, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(hash), size);
}

// bh= of a body already in canonical form.
inline std::string body_hash(std::string_view canonical_body) {
  return base64(sha256(canonical_body));
}

class Ed25519Signer {
 public:
  Ed25519Signer() : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free) {
    if (!key_) throw std::runtime_error("Ed25519 key generation failed");
  }

  // "v=DKIM1; k=ed25519; p=..." (and `extra` tags after it).
  std::string key_record(std::string_view extra = {}) const {
    unsigned char raw[32];
    std::size_t size = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &size) != 1) {
      throw std::runtime_error("Ed25519 public key export failed");
    }
    std::string record = "v=DKIM1; k=ed25519; p=" +
                         base64(std::string_view(reinterpret_cast<const char*>(raw), size));
    if (!extra.empty()) record += "; " + std::string(extra);
    return record;
  }

  // The b= value (base64) for `data`: the header data of RFC 6376 §3.7 step 2, or an
  // ARC-Seal's (RFC 8617 §5.1.1).
  std::string sign(std::string_view data) const {
    const std::string hash = sha256(data);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
    unsigned char signature[64];
    std::size_t size = sizeof signature;
    if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(context.get(), signature, &size,
                       reinterpret_cast<const unsigned char*>(hash.data()), hash.size()) != 1) {
      throw std::runtime_error("Ed25519 signing failed");
    }
    return base64(std::string_view(reinterpret_cast<const char*>(signature), size));
  }

 private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_;
};

// `text` with the first `from` replaced by `to`; a test failure when there is none.
inline std::string replace_once(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const auto at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

// `text` with every "{name}" replaced by `value`.
inline std::string fill_in(std::string text, std::string_view name, std::string_view value) {
  const std::string mark = "{" + std::string(name) + "}";
  for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at)) {
    text.replace(at, mark.size(), value);
    at += value.size();
  }
  return text;
}

}  // namespace mxgate::auth::testing
