#include "auth/dkim_canon.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>

#include "auth/dkim_tags.hpp"

namespace mxgate::auth {

namespace {

constexpr std::string_view kCrlf = "\r\n";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view without_final_crlf(std::string_view field) {
  if (field.size() >= 2 && field.substr(field.size() - 2) == kCrlf) field.remove_suffix(2);
  return field;
}

// §3.4.2: unfold (drop CRLF), one SP per run of WSP, none at either end.
void append_relaxed_value(std::string_view value, std::string& out) {
  bool space = false;
  bool started = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (is_wsp(c)) {
      space = started;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    started = true;
    out.push_back(c);
  }
}

}  // namespace

std::string_view header_field_name(std::string_view field) {
  field = without_final_crlf(field);
  std::string_view name = field.substr(0, field.find(':'));
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  return name;
}

std::string_view header_field_value(std::string_view field) {
  field = without_final_crlf(field);
  const auto colon = field.find(':');
  return colon == std::string_view::npos ? std::string_view() : field.substr(colon + 1);
}

std::string canonicalize_header(DkimCanon canon, std::string_view field) {
  std::string out;
  if (canon == DkimCanon::Simple) {
    out = without_final_crlf(field);
  } else {
    out = tag_lower(header_field_name(field));
    out.reserve(field.size() + kCrlf.size());
    out.push_back(':');
    append_relaxed_value(header_field_value(field), out);
  }
  out += kCrlf;
  return out;
}

void DkimBodyCanonicalizer::content(std::string_view run, std::string& out) {
  if (!line_has_content_) {
    // The held-back empty lines were inside the body after all.
    for (; empty_lines_ > 0; --empty_lines_) out += kCrlf;
    line_has_content_ = true;
    any_content_ = true;
  }
  if (pending_wsp_) out.push_back(' ');
  pending_wsp_ = false;
  out += run;
}

void DkimBodyCanonicalizer::end_line(std::string& out) {
  if (line_has_content_) {
    out += kCrlf;
  } else {
    ++empty_lines_;
  }
  line_has_content_ = false;
  pending_wsp_ = false;  // §3.4.4 a: white space at the end of a line is ignored
}

namespace {

// Where the run of plain content that starts at `i` ends: at the next CR, and in relaxed mode
// also at SP or HTAB. (find_first_of calls memchr once per octet: a third of the body hash's
// time.)
std::size_t run_end(std::string_view chunk, std::size_t i, bool relaxed) {
  if (!relaxed) {
    const auto cr = chunk.find('\r', i);
    return cr == std::string_view::npos ? chunk.size() : cr;
  }
  while (i < chunk.size() && chunk[i] != '\r' && !is_wsp(chunk[i])) ++i;
  return i;
}

}  // namespace

void DkimBodyCanonicalizer::update(std::string_view chunk, std::string& out) {
  const bool relaxed = canon_ == DkimCanon::Relaxed;
  std::size_t i = 0;
  while (i < chunk.size()) {
    const char c = chunk[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        end_line(out);
        ++i;
        continue;
      }
      content("\r", out);  // a CR alone is content (the decoder lets none through anyway)
    }
    if (c == '\r') {
      pending_cr_ = true;
      ++i;
    } else if (relaxed && is_wsp(c)) {
      pending_wsp_ = true;
      ++i;
    } else {
      const auto end = run_end(chunk, i, relaxed);
      content(chunk.substr(i, end - i), out);
      i = end;
    }
  }
}

void DkimBodyCanonicalizer::finish(std::string& out) {
  if (pending_cr_) {
    pending_cr_ = false;
    content("\r", out);
  }
  // A last line without CRLF gets one (§3.4.3, §3.4.4); held-back empty lines are dropped.
  if (line_has_content_) end_line(out);
  empty_lines_ = 0;
  if (canon_ == DkimCanon::Simple && !any_content_) out += kCrlf;  // §3.4.3: empty body is CRLF
}

std::string canonicalize_body(DkimCanon canon, std::string_view body) {
  DkimBodyCanonicalizer canonicalizer(canon);
  std::string out;
  canonicalizer.update(body, out);
  canonicalizer.finish(out);
  return out;
}

DkimBodyHashKey body_hash_key(const DkimSignature& signature) {
  return DkimBodyHashKey{signature.body_canon, signature.body_length};
}

void DkimDigestFree::operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }

const EVP_MD* dkim_sha256() {
  static const EVP_MD* const fetched = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md != nullptr ? md : EVP_sha256();
  }();
  return fetched;
}

DkimBodyHasher::DkimBodyHasher(DkimBodyHashKey key)
    : key_(key), canonicalizer_(key.canon), context_(EVP_MD_CTX_new()) {
  ok_ = context_ && EVP_DigestInit_ex(context_.get(), dkim_sha256(), nullptr) == 1;
  if (!ok_) ERR_clear_error();
}

void DkimBodyHasher::consume(std::string_view canonical) {
  total_ += canonical.size();
  std::uint64_t room = canonical.size();
  if (key_.limit) room = std::min<std::uint64_t>(room, *key_.limit - hashed_);
  if (room == 0) return;
  if (ok_ && EVP_DigestUpdate(context_.get(), canonical.data(), room) != 1) ok_ = false;
  hashed_ += room;
}

void DkimBodyHasher::update(std::string_view chunk) {
  if (finished_) return;
  buffer_.clear();
  canonicalizer_.update(chunk, buffer_);
  consume(buffer_);
}

DkimBodyDigest DkimBodyHasher::finish() {
  DkimBodyDigest digest;
  digest.key = key_;
  if (finished_) return digest;
  finished_ = true;
  buffer_.clear();
  canonicalizer_.finish(buffer_);
  consume(buffer_);
  digest.hashed_length = hashed_;
  digest.canonical_length = total_;
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (ok_ && EVP_DigestFinal_ex(context_.get(), hash, &size) == 1) {
    digest.hash.assign(reinterpret_cast<const char*>(hash), size);
  } else {
    ERR_clear_error();
  }
  return digest;
}

DkimBodyDigest dkim_body_digest(DkimBodyHashKey key, std::string_view body) {
  DkimBodyHasher hasher(key);
  hasher.update(body);
  return hasher.finish();
}

}  // namespace mxgate::auth
