#include "content/header_section.hpp"

#include <cstring>

#include "content/charset.hpp"

namespace mxgate::content {
namespace {

// RFC 2369 §2: the URIs of List-Unsubscribe are each in angle brackets; RFC 8058 §3.1 wants
// an https one among them.
bool has_https_uri(std::string_view value) {
  while (true) {
    const std::size_t open = value.find('<');
    if (open == std::string_view::npos) return false;
    const std::size_t close = value.find('>', open);
    if (close == std::string_view::npos) return false;
    const std::string_view uri = trim_wsp(value.substr(open + 1, close - open - 1));
    if (ascii_istarts_with(uri, "https://") && uri.size() > 8) return true;
    value.remove_prefix(close + 1);
  }
}

}  // namespace

bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 33 || b > 126 || b == ':') return false;
  }
  return true;
}

void note_bulk_field(std::string_view name, std::string_view value, BulkFacts& facts) {
  if (ascii_iequals(name, "List-Id")) {
    facts.list_id = true;
  } else if (ascii_iequals(name, "List-Unsubscribe")) {
    facts.list_unsubscribe = true;
    if (has_https_uri(value)) facts.https_unsubscribe = true;
  } else if (ascii_iequals(name, "List-Unsubscribe-Post")) {
    if (ascii_iequals(trim_wsp(value), "List-Unsubscribe=One-Click")) facts.one_click = true;
  } else if (ascii_iequals(name, "Precedence")) {
    const std::string_view v = trim_wsp(value);
    if (ascii_iequals(v, "bulk") || ascii_iequals(v, "list")) facts.precedence_bulk = true;
  }
}

void HeaderSection::start(bool top_level, std::string where) {
  top_level_ = top_level;
  where_ = std::move(where);
  in_field_ = false;
  field_count_ = 0;
  content_type_.clear();
  has_content_type_ = false;
  transfer_encoding_.clear();
  has_transfer_encoding_ = false;
}

void HeaderSection::check_8bit(std::string_view text) {
  if (bounds_.smtputf8 || !findings_.wants(Finding::Header8bit) || !has_8bit(text)) return;
  const std::string_view field = in_field_ ? std::string_view(name_) : text;
  findings_.raise(Finding::Header8bit,
                  "8-bit byte in header field " + printable(field, 40) + " of " + where_);
}

bool HeaderSection::line(std::string_view text) {
  if (is_wsp(text.front())) {
    if (!in_field_) {
      if (findings_.wants(Finding::HeaderNoColon)) {
        findings_.raise(Finding::HeaderNoColon, "continuation line without a field in " + where_ +
                                                    ": \"" + printable(text, 40) + "\"");
      }
      return true;
    }
    check_8bit(text);
    // RFC 5322 §2.2.3: unfolding removes the line break only; the white space stays.
    if (keep_value_ && value_.size() < bounds_.max_field_bytes) {
      value_.append(text.substr(0, bounds_.max_field_bytes - value_.size()));
    }
    return true;
  }
  complete_field();
  const void* colon = std::memchr(text.data(), ':', text.size());
  if (colon == nullptr) {
    if (findings_.wants(Finding::HeaderNoColon)) {
      findings_.raise(Finding::HeaderNoColon, "header line without a colon in " + where_ + ": \"" +
                                                  printable(text, 40) + "\"");
    }
    return false;
  }
  const auto at = static_cast<std::size_t>(static_cast<const char*>(colon) - text.data());
  std::string_view name = text.substr(0, at);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // RFC 5322 §4.5
  if (!valid_field_name(name) && findings_.wants(Finding::HeaderBadName)) {
    findings_.raise(Finding::HeaderBadName,
                    "field name \"" + printable(name, 40) + "\" in " + where_);
  }
  name_.assign(name.substr(0, bounds_.max_field_bytes));
  in_field_ = true;
  check_8bit(text);
  keep_value_ = top_level_ || ascii_iequals(name_, "Content-Type") ||
                ascii_iequals(name_, "Content-Transfer-Encoding");
  value_.clear();
  if (keep_value_) value_.assign(text.substr(at + 1, bounds_.max_field_bytes));
  return true;
}

void HeaderSection::complete_field() {
  if (!in_field_) return;
  in_field_ = false;
  if (++field_count_ > bounds_.max_fields) {
    if (field_count_ == bounds_.max_fields + 1 && findings_.wants(Finding::MimeOverLimit)) {
      findings_.raise(Finding::MimeOverLimit, "more than " + std::to_string(bounds_.max_fields) +
                                                  " header fields in " + where_);
    }
    return;
  }
  if (!keep_value_) return;
  const std::string_view value = trim_wsp(value_);
  if (!has_content_type_ && ascii_iequals(name_, "Content-Type")) {
    content_type_.assign(value);
    has_content_type_ = true;
  } else if (!has_transfer_encoding_ && ascii_iequals(name_, "Content-Transfer-Encoding")) {
    transfer_encoding_.assign(value);
    has_transfer_encoding_ = true;
  }
  if (top_level_) note_top_level_field();
}

void HeaderSection::note_top_level_field() {
  const std::string_view value = trim_wsp(value_);
  if (ascii_iequals(name_, "Date")) {
    ++date_;
    if (date_ == 2) findings_.raise(Finding::DateDuplicate, "more than one Date field");
  } else if (ascii_iequals(name_, "From")) {
    ++from_;
    if (from_ == 2) findings_.raise(Finding::FromDuplicate, "more than one From field");
  } else if (ascii_iequals(name_, "Message-ID")) {
    ++message_id_;
  }
  note_bulk_field(name_, value, bulk_);
  const std::size_t size = name_.size() + value.size();
  if (kept_bytes_ + size > bounds_.max_kept_bytes) {
    kept_bytes_ = bounds_.max_kept_bytes;  // fields after one that did not fit are not kept
    return;
  }
  kept_bytes_ += size;
  fields_.push_back(HeaderField{name_, std::string(value)});
}

void HeaderSection::end() {
  complete_field();
  if (!top_level_) return;
  if (date_ == 0) findings_.raise(Finding::DateMissing, "no Date field");
  if (from_ == 0) findings_.raise(Finding::FromMissing, "no From field");
  if (message_id_ == 0) findings_.raise(Finding::MessageIdMissing, "no Message-ID field");
}

}  // namespace mxgate::content
