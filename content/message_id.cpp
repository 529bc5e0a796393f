#include "content/message_id.hpp"

#include "content/charset.hpp"

namespace mxgate::content {

void MessageIdReader::feed(std::string_view content) {
  while (!done_ && !content.empty()) {
    const auto end = content.find('\n');
    const std::string_view piece = content.substr(0, end);
    line_.append(piece.substr(0, kMaxMessageId - std::min(kMaxMessageId, line_.size())));
    if (end == std::string_view::npos) return;
    content.remove_prefix(end + 1);
    std::string_view text = line_;
    if (text.ends_with('\r')) text.remove_suffix(1);
    line(text);
    line_.clear();
  }
}

void MessageIdReader::line(std::string_view text) {
  if (!text.empty() && (text[0] == ' ' || text[0] == '\t')) {
    if (in_id_) {
      value_.append(text.substr(0, kMaxMessageId - std::min(kMaxMessageId, value_.size())));
      id_.assign(trim_wsp(value_));
    }
    return;
  }
  in_id_ = false;
  const auto colon = text.find(':');
  if (text.empty() || colon == std::string_view::npos) {
    done_ = true;  // the end of the header section
    return;
  }
  // §4.5.3 (obsolete syntax): white space may come before the colon.
  // The id is complete at every line, so that a header without its empty line still has it.
  in_id_ = !found_ && ascii_iequals(trim_wsp(text.substr(0, colon)), "Message-ID");
  if (!in_id_) return;
  found_ = true;
  value_.assign(text.substr(colon + 1, kMaxMessageId));
  id_.assign(trim_wsp(value_));
}

}  // namespace mxgate::content
