#include "smtp/reply.hpp"

#include <fmt/format.h>

namespace mxgate::smtp {

Reply Reply::make(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), {std::string(text)}};
}

std::string Reply::text() const {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

std::string Reply::wire() const {
  std::string out;
  append_wire(out);
  return out;
}

void Reply::append_wire(std::string& out) const {
  const std::size_t n = lines.empty() ? 1 : lines.size();
  for (std::size_t i = 0; i < n; ++i) {
    const bool last = i + 1 == n;
    fmt::format_to(std::back_inserter(out), "{}{}", code, last ? ' ' : '-');
    if (!enhanced.empty()) {
      out += enhanced;
      if (!lines.empty() && !lines[i].empty()) out.push_back(' ');
    }
    if (!lines.empty()) out += lines[i];
    out += "\r\n";
  }
}

}  // namespace mxgate::smtp
