#include "content/mime.hpp"

#include <cstring>

namespace mxgate::content {
namespace {

// RFC 2045 §5.1: token characters are printable ASCII except SPACE and tspecials.
bool is_token_char(char c) {
  if (c <= ' ' || c >= 127) return false;
  return std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

// A cursor over a structured field value (RFC 5322 §3.2.2 CFWS between tokens).
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  void advance() { ++pos_; }

  // White space and (nested) comments; an unclosed comment runs to the end.
  void skip_cfws() {
    while (!done()) {
      const char c = text_[pos_];
      if (is_wsp(c) || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '(') {
        skip_comment();
      } else {
        return;
      }
    }
  }

  std::string_view token() {
    const std::size_t start = pos_;
    while (!done() && is_token_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // The content of a quoted string, with quoted pairs resolved; the cursor is on the '"'.
  std::string quoted() {
    std::string out;
    ++pos_;
    while (!done()) {
      const char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\\' && !done()) {
        out.push_back(text_[pos_++]);
      } else if (c != '\r' && c != '\n') {
        out.push_back(c);
      }
    }
    return out;
  }

  // Past the next ';' (or to the end): resynchronises after a malformed parameter.
  void skip_past_semicolon() {
    while (!done()) {
      const char c = text_[pos_];
      if (c == '"') {
        quoted();
      } else {
        ++pos_;
        if (c == ';') return;
      }
    }
  }

 private:
  void skip_comment() {
    int depth = 0;
    while (!done()) {
      const char c = text_[pos_++];
      if (c == '\\') {
        if (!done()) ++pos_;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        return;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

void apply_parameter(std::string_view name, std::string value, ContentType& ct) {
  if (ascii_iequals(name, "boundary")) {
    ct.boundary = value.size() <= kMaxBoundary ? std::move(value) : std::string();
  } else if (ascii_iequals(name, "charset")) {
    ct.charset = charset_from_name(trim_wsp(value));
  }
}

void parse_parameters(Cursor& cur, ContentType& ct) {
  while (true) {
    cur.skip_cfws();
    if (cur.done()) return;
    if (cur.peek() != ';') {
      cur.skip_past_semicolon();
      continue;
    }
    cur.advance();
    cur.skip_cfws();
    const std::string_view name = cur.token();
    cur.skip_cfws();
    if (name.empty() || cur.peek() != '=') continue;
    cur.advance();
    cur.skip_cfws();
    std::string value = cur.peek() == '"' ? cur.quoted() : std::string(cur.token());
    apply_parameter(name, std::move(value), ct);
  }
}

}  // namespace

ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  Cursor cur(value);
  cur.skip_cfws();
  const std::string_view type = cur.token();
  cur.skip_cfws();
  if (type.empty() || cur.peek() != '/') return ct;
  cur.advance();
  cur.skip_cfws();
  const std::string_view subtype = cur.token();
  if (subtype.empty()) return ct;
  ct.type = lower(type);
  ct.subtype = lower(subtype);
  parse_parameters(cur, ct);
  return ct;
}

Delimiter match_delimiter(std::string_view line, std::string_view boundary) {
  if (boundary.empty() || line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-' ||
      line.compare(2, boundary.size(), boundary) != 0) {
    return Delimiter::None;
  }
  std::string_view rest = line.substr(boundary.size() + 2);
  Delimiter kind = Delimiter::Open;
  if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-') {
    kind = Delimiter::Close;
    rest.remove_prefix(2);
  }
  for (const char c : rest) {
    if (!is_wsp(c)) return Delimiter::None;
  }
  return kind;
}

}  // namespace mxgate::content
