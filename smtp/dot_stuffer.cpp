// Dot-stuffing for relaying content after DATA (RFC 5321 §4.5.2). See data_decoder.hpp.
#include "smtp/data_decoder.hpp"
#include "smtp/eol_scanner.hpp"

namespace mxgate::smtp {

void DotStuffer::feed(std::string_view content, std::string& out) {
  if (content.empty()) return;
  const std::size_t size = content.size();
  const bool crlf_across = last_was_cr_ && content.front() == '\n';
  ends_with_crlf_ = size >= 2 ? content.substr(size - 2) == "\r\n" : crlf_across;
  empty_ = false;
  detail::EolScanner scanner(content);
  std::size_t pos = 0;
  std::size_t span = 0;  // [span, pos) goes out unchanged
  if (last_was_cr_) {
    // Whether or not <LF> follows, the previous line has ended.
    last_was_cr_ = false;
    at_line_start_ = true;
    if (crlf_across) pos = 1;
  }
  while (pos < size) {
    if (at_line_start_) {
      at_line_start_ = false;
      if (content[pos] == '.') {
        out.append(content.substr(span, pos - span));
        out.push_back('.');
        span = pos;
      }
    }
    const std::size_t end = scanner.next(pos);
    if (end == size) break;
    at_line_start_ = true;
    if (content[end] == '\r' && end + 1 == size) {
      at_line_start_ = false;  // decided by the next call
      last_was_cr_ = true;
    }
    pos = end + (content[end] == '\r' && end + 1 < size && content[end + 1] == '\n' ? 2 : 1);
  }
  out.append(content.substr(span));
}

void DotStuffer::end(std::string& out) {
  if (!empty_ && !ends_with_crlf_) out.append("\r\n");
  out.append(".\r\n");
  *this = DotStuffer{};
}

}  // namespace mxgate::smtp
