// A filter's header changes applied to a message's header section, as Sendmail and Postfix
// apply smfi_addheader, smfi_insheader and smfi_chgheader (issue 18). Pure.
//   - AddHeader: after the last field.
//   - InsertHeader{index}: before the field at `index` (0: first); past the end, after the last.
//   - ChangeHeader{index, name}: the index-th (from 1) field of that name (names compare without
//     case, RFC 5322 §1.2.2) gets the value; an empty value deletes it; an index past the last
//     such field adds the field after the last one (libmilter's smfi_chgheader).
// Values come with LF between folded lines (libmilter's convention): each becomes CRLF, and a
// line break not followed by white space gets a tab, so that no value can start a new field.
// A value gets one space after the colon unless it starts with white space.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "milter/protocol.hpp"

namespace mxgate::milter {

using HeaderChange = std::variant<AddHeader, InsertHeader, ChangeHeader>;

// The fields of a header section (CRLF line ends), each with its folded lines and final CRLF,
// up to the empty line; `rest`, if given, gets what follows them (the empty line and on).
std::vector<std::string_view> header_fields(std::string_view header,
                                            std::string_view* rest = nullptr);

// `header`: the header section with CRLF line ends, with or without its final empty line
// (kept as it was).
std::string apply_header_changes(std::string_view header, const std::vector<HeaderChange>& changes);

// A filter's new body with CRLF line ends (a lone LF or CR becomes CRLF) and a final CRLF, as
// the relay sends content (a bare line ending would be refused downstream).
std::string crlf_body(std::string_view body);

}  // namespace mxgate::milter
