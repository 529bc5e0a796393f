// Test helpers for the content parser: parse a message in one piece or in given pieces, and
// read its findings as names.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "content/message_parser.hpp"

namespace mxgate::content::testing {

// A well-formed header; `extra` lines (each ending in CRLF) go after the Subject.
inline std::string clean_header(std::string_view extra = "") {
  return "From: Alice <alice@example.org>\r\n"
         "To: bob@example.net\r\n"
         "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
         "Message-ID: <1@example.org>\r\n"
         "Subject: hello\r\n" +
         std::string(extra);
}

inline void parse_pieces(MessageParser& parser, const std::vector<std::string_view>& pieces) {
  for (const std::string_view piece : pieces) parser.feed(piece);
  parser.finish();
}

inline std::set<std::string> finding_names(const MessageParser& parser) {
  std::set<std::string> out;
  for (const FindingDetail& f : parser.findings()) out.insert(std::string(finding_name(f.finding)));
  return out;
}

inline std::vector<std::string> domain_names(const MessageParser& parser) {
  std::vector<std::string> out;
  for (const LinkedDomain& d : parser.linked_domains()) out.push_back(d.domain);
  return out;
}

}  // namespace mxgate::content::testing
