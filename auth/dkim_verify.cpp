#include "auth/dkim_verify.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <unordered_map>

#include "auth/dkim_tags.hpp"

namespace mxgate::auth {

namespace {

constexpr std::string_view kCrlf = "\r\n";

struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};

DkimVerdict verdict(DkimStatus status, std::string reason) {
  return DkimVerdict{status, std::move(reason)};
}

// The signature field with the value of b= removed (§3.7), still ending in CRLF.
std::string without_b_value(std::string_view field) {
  const auto colon = field.find(':');
  if (colon == std::string_view::npos) return std::string(field);
  const std::string_view value = header_field_value(field);
  const std::string_view rest = field.substr(colon + 1 + value.size());  // the final CRLF
  return std::string(field.substr(0, colon + 1)) + remove_b_value(value) + std::string(rest);
}

bool sha256(std::string_view data, unsigned char* hash, unsigned int* size) {
  return EVP_Digest(data.data(), data.size(), hash, size, dkim_sha256(), nullptr) == 1;
}

// RSASSA-PKCS1-v1_5 with SHA-256 (§3.3.1), through the key's reusable verification context.
bool verify_rsa(const DkimKey& key, std::string_view data, std::string_view signature) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_size = 0;
  if (!sha256(data, hash, &hash_size)) return false;
  if (!key.rsa_verifier) {
    DkimVerifier context(EVP_PKEY_CTX_new_from_pkey(nullptr, key.public_key.get(), nullptr));
    if (!context || EVP_PKEY_verify_init(context.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(context.get(), dkim_sha256()) != 1) {
      return false;
    }
    key.rsa_verifier = std::move(context);
  }
  return EVP_PKEY_verify(key.rsa_verifier.get(),
                         reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                         hash, hash_size) == 1;
}

// RFC 8463 §3: the Ed25519 signature covers the SHA-256 hash of the data, not the data.
bool verify_ed25519(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_size = 0;
  if (!sha256(data, hash, &hash_size)) return false;
  std::unique_ptr<EVP_MD_CTX, DkimDigestFree> context(EVP_MD_CTX_new());
  if (!context) return false;
  return EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), hash, hash_size) == 1;
}

DkimKeyType key_type_for(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::RsaSha256 ? DkimKeyType::Rsa : DkimKeyType::Ed25519;
}

}  // namespace

std::optional<DkimVerdict> dkim_key_refuses(const DkimSignature& signature, const DkimKey& key,
                                            const DkimVerifyOptions& options) {
  if (key.type != key_type_for(signature.algorithm)) {
    return verdict(DkimStatus::PermError, "key type k= does not match a=");
  }
  if (!key.serves_email()) return verdict(DkimStatus::PermError, "key s= excludes email");
  // §6.1.2 step 6: "the Verifier MUST ignore the key record and return PERMFAIL (inappropriate
  // hash algorithm)".
  if (!key.allows_sha256()) return verdict(DkimStatus::PermError, "key h= excludes sha256");
  // §3.6.1 t=s: "the "i=" domain MUST NOT be a subdomain of "d="".
  if (key.strict && signature.identity_domain() != signature.domain) {
    return verdict(DkimStatus::Policy, "key t=s forbids i= in a subdomain of d=");
  }
  if (options.now && signature.expiration && *options.now > *signature.expiration &&
      *options.now - *signature.expiration > options.clock_skew) {
    return verdict(DkimStatus::Policy, "signature expired");
  }
  if (!key.public_key) return verdict(DkimStatus::PermError, "no public key");
  return std::nullopt;
}

bool dkim_signature_matches(std::string_view data, const DkimSignature& signature,
                            const DkimKey& key) {
  const ClearOpenSslErrors clear;
  return signature.algorithm == DkimAlgorithm::RsaSha256
             ? verify_rsa(key, data, signature.signature)
             : verify_ed25519(key.public_key.get(), data, signature.signature);
}

std::string dkim_signature_field_data(std::string_view field, DkimCanon canon) {
  std::string own = canonicalize_header(canon, without_b_value(field));
  own.resize(own.size() - kCrlf.size());
  return own;
}

std::string_view to_string(DkimStatus status) {
  switch (status) {
    case DkimStatus::Pass:
      return "pass";
    case DkimStatus::Fail:
      return "fail";
    case DkimStatus::Neutral:
      return "neutral";
    case DkimStatus::Policy:
      return "policy";
    case DkimStatus::PermError:
      return "permerror";
    case DkimStatus::TempError:
      return "temperror";
  }
  return "neutral";
}

std::string dkim_signed_data(std::span<const std::string_view> fields, std::size_t signature_index,
                             const DkimSignature& signature) {
  // For each name in h=, the indices of the fields so named, top to bottom; used from the back.
  std::unordered_map<std::string, std::vector<std::size_t>> by_name;
  for (const std::string& name : signature.signed_headers) by_name.try_emplace(name);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i == signature_index) continue;
    const auto found = by_name.find(tag_lower(header_field_name(fields[i])));
    if (found != by_name.end()) found->second.push_back(i);
  }
  std::string data;
  for (const std::string& name : signature.signed_headers) {
    auto& candidates = by_name[name];
    if (candidates.empty()) continue;  // absent or used up: contributes nothing (§5.4.2)
    data += canonicalize_header(signature.header_canon, fields[candidates.back()]);
    candidates.pop_back();
  }
  if (signature_index < fields.size()) {
    data += dkim_signature_field_data(fields[signature_index], signature.header_canon);
  }
  return data;
}

DkimVerdict verify_dkim(std::span<const std::string_view> fields, std::size_t signature_index,
                        const DkimSignature& signature, const DkimKey& key,
                        const DkimBodyDigest& body, const DkimVerifyOptions& options) {
  const ClearOpenSslErrors clear;
  DkimVerdict result = [&] {
    if (signature_index >= fields.size()) {
      return verdict(DkimStatus::Neutral, "no such signature field");
    }
    if (auto refused = dkim_key_refuses(signature, key, options)) return std::move(*refused);
    if (body.key != body_hash_key(signature)) {  // the caller's mistake, not the sender's
      return verdict(DkimStatus::Neutral, "body hashed with another c= or l=");
    }
    if (body.hash.empty()) return verdict(DkimStatus::TempError, "SHA-256 unavailable");
    // §6.1.3 step 4 before step 5: the body hash first.
    if (signature.body_length && *signature.body_length > body.canonical_length) {
      return verdict(DkimStatus::Fail, "l= is longer than the body");
    }
    if (body.hash != signature.body_hash) return verdict(DkimStatus::Fail, "body hash mismatch");
    const std::string data = dkim_signed_data(fields, signature_index, signature);
    if (!dkim_signature_matches(data, signature, key)) {
      return verdict(DkimStatus::Fail, "signature mismatch");
    }
    DkimVerdict pass = verdict(DkimStatus::Pass, {});
    pass.unsigned_body_octets = body.canonical_length - body.hashed_length;
    return pass;
  }();
  result.testing = key.testing;
  return result;
}

DkimMessage split_message(std::string_view message) {
  DkimMessage out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    if (message.substr(pos, kCrlf.size()) == kCrlf) {
      out.body = message.substr(pos + kCrlf.size());
      return out;
    }
    auto end = message.find(kCrlf, pos);
    end = end == std::string_view::npos ? message.size() : end + kCrlf.size();
    const char first = message[pos];
    if ((first == ' ' || first == '\t') && !out.fields.empty()) {
      // A continuation line: the field grows to its end (the views are contiguous).
      std::string_view& field = out.fields.back();
      field = std::string_view(field.data(), field.size() + (end - pos));
    } else {
      out.fields.push_back(message.substr(pos, end - pos));
    }
    pos = end;
  }
  return out;
}

std::string normalize_line_endings(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out += kCrlf;
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += kCrlf;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_dkim_signature_field(std::string_view field) {
  return tag_iequals(header_field_name(field), "dkim-signature");
}

DkimVerdict verify_dkim_message(const DkimMessage& message, std::size_t signature_index,
                                std::string_view key_record, const DkimVerifyOptions& options) {
  if (signature_index >= message.fields.size()) {
    return verdict(DkimStatus::Neutral, "no such signature field");
  }
  const DkimSignatureResult parsed =
      parse_dkim_signature(header_field_value(message.fields[signature_index]));
  if (!parsed.signature) return verdict(DkimStatus::Neutral, parsed.error);
  const DkimKeyResult key = parse_dkim_key(key_record);
  if (!key.key) return verdict(DkimStatus::PermError, key.error);
  const DkimBodyDigest body = dkim_body_digest(body_hash_key(*parsed.signature), message.body);
  return verify_dkim(message.fields, signature_index, *parsed.signature, *key.key, body, options);
}

}  // namespace mxgate::auth
