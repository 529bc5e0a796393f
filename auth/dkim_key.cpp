#include "auth/dkim_key.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>

#include "auth/dkim_tags.hpp"

namespace mxgate::auth {

namespace {

constexpr std::size_t kEd25519KeySize = 32;  // RFC 8032 §5.1.5

// Failed decodes leave entries on OpenSSL's per-thread error queue; a TLS stream on the same
// worker would read them as its own. Clear on every exit.
struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::vector<std::string> lower_list(std::string_view value) {
  std::vector<std::string> items = split_colon_list(value);
  for (std::string& item : items) item = tag_lower(item);
  return items;
}

// A DER SubjectPublicKeyInfo holding an RSA key, or a bare PKCS#1 RSAPublicKey; the whole
// input must be consumed.
DkimPublicKey load_rsa(const std::string& der) {
  const auto* data = reinterpret_cast<const unsigned char*>(der.data());
  const auto size = static_cast<long>(der.size());
  const unsigned char* cursor = data;
  DkimPublicKey key(d2i_PUBKEY(nullptr, &cursor, size));
  if (key && cursor == data + size && EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) return key;
  if (key) return nullptr;  // a SubjectPublicKeyInfo of another type, or trailing octets
  cursor = data;
  key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, size));
  if (key && cursor == data + size) return key;
  return nullptr;
}

std::string load_key(DkimKey& key, const std::string& der) {
  if (key.type == DkimKeyType::Ed25519) {
    if (der.size() != kEd25519KeySize) return "ed25519 key p= is not 32 octets";
    key.public_key.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(der.data()), der.size()));
    if (!key.public_key) return "unusable ed25519 key";
    key.bits = EVP_PKEY_get_bits(key.public_key.get());
    return {};
  }
  key.public_key = load_rsa(der);
  if (!key.public_key) return "p= is not an RSA public key";
  key.bits = EVP_PKEY_get_bits(key.public_key.get());
  if (key.bits < kDkimMinRsaBits) {
    return fmt::format("RSA key of {} bits is too short (RFC 8301)", key.bits);
  }
  if (key.bits > kDkimMaxRsaBits) return fmt::format("RSA key of {} bits is too long", key.bits);
  return {};
}

// Reads every tag but p=; "" means fine.
std::string read_tags(const TagList& tags, DkimKey& key) {
  if (const std::string* v = tags.find("v")) {
    // §3.6.1: "If specified, this tag MUST be set to "DKIM1" ... and MUST be the first tag".
    if (tags.tags.front().name != "v") return "v= is not the first tag of the key record";
    if (*v != "DKIM1") return "unsupported key record version v=";
  }
  if (const std::string* k = tags.find("k")) {
    if (tag_iequals(*k, "rsa")) {
      key.type = DkimKeyType::Rsa;
    } else if (tag_iequals(*k, "ed25519")) {
      key.type = DkimKeyType::Ed25519;
    } else {
      return "unsupported key type k=";
    }
  }
  if (const std::string* h = tags.find("h")) key.hashes = lower_list(*h);
  if (const std::string* s = tags.find("s")) key.services = lower_list(*s);
  if (const std::string* t = tags.find("t")) {
    const auto flags = lower_list(*t);
    key.testing = contains(flags, "y");
    key.strict = contains(flags, "s");
  }
  return {};
}

}  // namespace

void EvpPkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void DkimVerifierFree::operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }

bool DkimKey::allows_sha256() const { return hashes.empty() || contains(hashes, "sha256"); }

bool DkimKey::serves_email() const {
  return services.empty() || contains(services, "*") || contains(services, "email");
}

DkimKeyResult parse_dkim_key(std::string_view record) {
  const ClearOpenSslErrors clear;
  DkimKeyResult result;
  TagListResult parsed = parse_tag_list(record);
  if (!parsed.list) {
    result.error = "malformed key record: " + parsed.error;
    return result;
  }
  const TagList& tags = *parsed.list;
  DkimKey key;
  std::string error = read_tags(tags, key);
  if (!error.empty()) {
    result.error = std::move(error);
    return result;
  }
  const std::string* p = tags.find("p");
  if (p == nullptr) {
    result.error = "key record without p=";
    return result;
  }
  if (remove_fws(*p).empty()) {
    result.error = "key revoked";
    result.revoked = true;
    return result;
  }
  const auto der = decode_base64(*p);
  if (!der) {
    result.error = "key p= is not base64";
    return result;
  }
  error = load_key(key, *der);
  if (!error.empty()) {
    result.error = std::move(error);
    return result;
  }
  result.key = std::move(key);
  return result;
}

}  // namespace mxgate::auth
