#include "auth/dkim_sign.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "auth/dkim_canon.hpp"
#include "auth/dkim_tags.hpp"
#include "auth/dkim_verify.hpp"

namespace mxgate::auth {
namespace {

// The fields a signature covers when the message has them: what a reader sees and what
// replies and threads rely on (RFC 6376 §5.4.1).
constexpr std::array<std::string_view, 12> kDkimSignedFields{
    "from",         "to",           "cc",
    "subject",      "date",         "message-id",
    "mime-version", "content-type", "content-transfer-encoding",
    "reply-to",     "in-reply-to",  "references"};
// RFC 8301 §3.2: verifiers must not consider shorter RSA keys valid.
constexpr int kMinRsaBits = 1024;
constexpr std::size_t kLineLength = 78;  // RFC 5322 §2.1.1's recommended limit

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// Appends tag lists' pieces to a field, folding before a piece that would pass kLineLength.
class FoldedField {
 public:
  explicit FoldedField(std::string_view name) : text_(std::string(name) + ":"), line_(text_.size()) {}

  void add(std::string_view piece) {
    if (line_ + 1 + piece.size() > kLineLength) {
      text_ += "\r\n\t";
      line_ = 1;
    } else {
      text_ += ' ';
      ++line_;
    }
    text_ += piece;
    line_ += piece.size();
  }
  // A base64 value, broken across lines wherever it reaches kLineLength (FWS is allowed
  // anywhere in b=, §3.5).
  void add_folded_value(std::string_view value) {
    while (!value.empty()) {
      if (line_ >= kLineLength) {
        text_ += "\r\n\t";
        line_ = 1;
      }
      const std::size_t take = std::min(value.size(), kLineLength - line_);
      text_.append(value.substr(0, take));
      line_ += take;
      value.remove_prefix(take);
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::size_t line_;
};

// rsa-sha256: RSASSA-PKCS1-v1_5 with SHA-256 over the data; ed25519-sha256: PureEdDSA over
// the data's SHA-256 hash (RFC 8463 §3). "" if OpenSSL failed.
std::string sign_data(EVP_PKEY* key, DkimAlgorithm algorithm, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, DkimDigestFree> context(EVP_MD_CTX_new());
  if (!context) return {};
  const EVP_MD* digest = dkim_sha256();
  unsigned char hash[EVP_MAX_MD_SIZE];
  if (algorithm == DkimAlgorithm::Ed25519Sha256) {
    unsigned int hash_size = 0;
    if (EVP_Digest(data.data(), data.size(), hash, &hash_size, digest, nullptr) != 1) return {};
    data = std::string_view(reinterpret_cast<const char*>(hash), hash_size);
    digest = nullptr;  // Ed25519 takes no digest of its own
  }
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t size = 0;
  if (EVP_DigestSignInit(context.get(), nullptr, digest, nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &size, in, data.size()) != 1) {
    return {};
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in,
                     data.size()) != 1) {
    return {};
  }
  signature.resize(size);
  return signature;
}

}  // namespace

std::shared_ptr<const DkimSigner> DkimSigner::load(std::string domain, std::string selector,
                                                   const std::string& path,
                                                   std::string_view key_name) {
  const auto fail = [&](std::string_view why) {
    ERR_clear_error();
    return std::runtime_error(fmt::format("{}: '{}' {}", key_name, path, why));
  };
  std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw fail("cannot be read");
  DkimSigner::PrivateKey key(PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr));
  if (!key) throw fail("holds no PEM private key (" + openssl_error() + ")");
  DkimAlgorithm algorithm = DkimAlgorithm::RsaSha256;
  if (EVP_PKEY_is_a(key.get(), "ED25519") == 1) {
    algorithm = DkimAlgorithm::Ed25519Sha256;
  } else if (EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    throw fail("holds neither an RSA nor an Ed25519 key");
  } else if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    throw fail(fmt::format("holds a {}-bit RSA key; DKIM needs at least {} (RFC 8301)",
                           EVP_PKEY_get_bits(key.get()), kMinRsaBits));
  }
  return std::make_shared<const DkimSigner>(std::move(domain), std::move(selector),
                                            std::move(key), algorithm);
}

DkimSigner::DkimSigner(std::string domain, std::string selector, PrivateKey key,
                       DkimAlgorithm algorithm)
    : domain_(std::move(domain)),
      selector_(std::move(selector)),
      key_(std::move(key)),
      algorithm_(algorithm) {}

std::string DkimSigner::sign(std::string_view message, std::uint64_t now) const {
  const DkimMessage parts = split_message(message);
  DkimSignature signature;
  signature.algorithm = algorithm_;
  signature.header_canon = DkimCanon::Relaxed;
  signature.body_canon = DkimCanon::Relaxed;
  std::vector<std::string> present;  // the message's field names, lower case
  for (std::string_view field : parts.fields) {
    present.push_back(tag_lower(header_field_name(field)));
  }
  for (std::string_view name : kDkimSignedFields) {
    // Each occurrence once (§5.4.2: a verifier takes them from the bottom up).
    for (auto n = std::count(present.begin(), present.end(), name); n > 0; --n) {
      signature.signed_headers.emplace_back(name);
    }
  }
  signature.signed_headers.emplace_back("from");  // §8.15: no second From can be added
  std::string h;
  for (const auto& name : signature.signed_headers) {
    if (!h.empty()) h += ':';
    h += name;
  }
  const DkimBodyDigest body = dkim_body_digest({DkimCanon::Relaxed, std::nullopt}, parts.body);

  FoldedField field("DKIM-Signature");
  field.add("v=1;");
  field.add(fmt::format("a={};", to_string(algorithm_)));
  field.add("c=relaxed/relaxed;");
  field.add(fmt::format("d={};", domain_));
  field.add(fmt::format("s={};", selector_));
  field.add(fmt::format("t={};", now));
  field.add(fmt::format("h={};", h));
  field.add(fmt::format("bh={};", encode_base64(body.hash)));
  field.add("b=");
  // §3.7: the signature field itself is signed last, with b= empty.
  std::vector<std::string_view> fields(parts.fields.begin(), parts.fields.end());
  const std::string unsigned_field = field.text() + "\r\n";
  fields.push_back(unsigned_field);
  const std::string data = dkim_signed_data(fields, fields.size() - 1, signature);
  const std::string b = sign_data(key_.get(), algorithm_, data);
  ERR_clear_error();
  if (b.empty()) return {};
  field.add_folded_value(encode_base64(b));
  return field.text() + "\r\n";
}

}  // namespace mxgate::auth
