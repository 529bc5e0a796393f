#include "milter/header_edit.hpp"

#include <algorithm>
#include <cctype>

namespace mxgate::milter {

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "Name: value\r\n" from a filter's name and value.
std::string field_of(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  if (value.empty() || (value.front() != ' ' && value.front() != '\t')) out += ' ';
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r') continue;  // CRLF or a bare CR: the line break is the LF's (or none)
    if (c != '\n') {
      out += c;
      continue;
    }
    out += "\r\n";
    if (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t')) out += '\t';
  }
  out += "\r\n";
  return out;
}

// The fields of a header section as strings (they are edited) and what follows them.
struct Fields {
  std::vector<std::string> fields;
  std::string tail;
};

Fields split(std::string_view header) {
  std::string_view tail;
  const auto views = header_fields(header, &tail);
  return Fields{{views.begin(), views.end()}, std::string(tail)};
}

std::string_view name_of(std::string_view field) {
  const auto colon = field.find(':');
  std::string_view name = field.substr(0, colon == std::string_view::npos ? 0 : colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return name;
}

}  // namespace

std::vector<std::string_view> header_fields(std::string_view header, std::string_view* rest) {
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  while (at < header.size() && !header.substr(at).starts_with("\r\n")) {
    std::size_t end = at;
    // A field runs to the CRLF not followed by white space (RFC 5322 §2.2.3).
    for (;;) {
      const auto crlf = header.find("\r\n", end);
      if (crlf == std::string_view::npos) {
        end = header.size();
        break;
      }
      end = crlf + 2;
      if (end >= header.size() || (header[end] != ' ' && header[end] != '\t')) break;
    }
    fields.push_back(header.substr(at, end - at));
    at = end;
  }
  if (rest != nullptr) *rest = header.substr(at);
  return fields;
}

std::string apply_header_changes(std::string_view header,
                                 const std::vector<HeaderChange>& changes) {
  Fields h = split(header);
  for (const auto& change : changes) {
    if (const auto* add = std::get_if<AddHeader>(&change)) {
      h.fields.push_back(field_of(add->name, add->value));
    } else if (const auto* insert = std::get_if<InsertHeader>(&change)) {
      const auto at = std::min<std::size_t>(insert->index, h.fields.size());
      h.fields.insert(h.fields.begin() + static_cast<std::ptrdiff_t>(at),
                      field_of(insert->name, insert->value));
    } else if (const auto* edit = std::get_if<ChangeHeader>(&change)) {
      std::uint32_t seen = 0;
      auto found = h.fields.end();
      for (auto it = h.fields.begin(); it != h.fields.end(); ++it) {
        if (same_name(name_of(*it), edit->name) && ++seen == edit->index) {
          found = it;
          break;
        }
      }
      if (found == h.fields.end()) {
        if (!edit->value.empty()) h.fields.push_back(field_of(edit->name, edit->value));
      } else if (edit->value.empty()) {
        h.fields.erase(found);
      } else {
        *found = field_of(name_of(*found), edit->value);
      }
    }
  }
  std::string out;
  for (const auto& field : h.fields) out += field;
  return out + h.tail;
}

std::string crlf_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace mxgate::milter
