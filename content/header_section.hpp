// One header section (RFC 5322 §2.2, §3.6), of the message or of a MIME part, fed line by line:
// unfolding (§2.2.3), field syntax (a name of printable ASCII except ':', §3.6.8; obsolete white
// space before the colon, §4.5, is accepted), 8-bit bytes without SMTPUTF8 (RFC 6532), the
// fields over the section's bounds. The message's own section also keeps its fields, counts
// Date, From and Message-ID (§3.6) and fills the bulk-mail facts (RFC 2369, RFC 2919, RFC 8058).
// For a part only Content-Type and Content-Transfer-Encoding are kept. A continuation line with
// no field before it is a finding and is skipped. Pure; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "content/finding_list.hpp"
#include "content/message_parser.hpp"

namespace mxgate::content {

// RFC 5322 §3.6.8: ftext is %d33-57 / %d59-126.
bool valid_field_name(std::string_view name);

// The bulk-mail facts of one top-level field (its name and unfolded value) added to `facts`.
void note_bulk_field(std::string_view name, std::string_view value, BulkFacts& facts);

struct HeaderBounds {
  std::size_t max_fields = 1000;
  std::size_t max_field_bytes = 64 * 1024;  // one unfolded value; the rest is not kept
  std::size_t max_kept_bytes = 1 << 20;     // the message's kept fields together
  bool smtputf8 = false;
};

class HeaderSection {
 public:
  HeaderSection(HeaderBounds bounds, FindingList& findings)
      : bounds_(bounds), findings_(findings) {}

  // Starts a section; `where` names it in details ("the message", "part 1.2").
  void start(bool top_level, std::string where);
  // One line of the section, without its line end; never the empty line that ends it. Returns
  // false for a line that is neither a field nor a continuation (header_no_colon): like Postfix
  // and Python's email package, the reader takes it as the first line of the body, the section
  // having ended without its empty line.
  bool line(std::string_view text);
  // The empty line or the end of the content: completes the last field; for the message's
  // section, raises the missing Date, From and Message-ID findings.
  void end();

  const std::string& content_type() const { return content_type_; }
  bool has_content_type() const { return has_content_type_; }
  const std::string& transfer_encoding() const { return transfer_encoding_; }

  // The message's section, once end() was called.
  const std::vector<HeaderField>& fields() const { return fields_; }
  const BulkFacts& bulk() const { return bulk_; }

 private:
  void complete_field();
  void note_top_level_field();
  void check_8bit(std::string_view text);

  HeaderBounds bounds_;
  FindingList& findings_;
  bool top_level_ = false;
  std::string where_;
  bool in_field_ = false;
  bool keep_value_ = false;  // the field being read is one this section keeps
  std::string name_;
  std::string value_;
  std::size_t field_count_ = 0;
  std::string content_type_;
  bool has_content_type_ = false;
  std::string transfer_encoding_;
  bool has_transfer_encoding_ = false;

  std::vector<HeaderField> fields_;
  std::size_t kept_bytes_ = 0;
  std::size_t date_ = 0, from_ = 0, message_id_ = 0;
  BulkFacts bulk_;
};

}  // namespace mxgate::content
