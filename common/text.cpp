#include "common/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace mxgate::common {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::string> percent_decode(std::string_view in, bool form) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
      if (lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(form && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

std::string form_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::optional<FormFields> parse_form(std::string_view in) {
  FormFields fields;
  std::size_t start = 0;
  while (start < in.size()) {
    const std::size_t end = std::min(in.find('&', start), in.size());
    const std::string_view field = in.substr(start, end - start);
    if (!field.empty()) {
      const std::size_t eq = std::min(field.find('='), field.size());
      auto name = percent_decode(field.substr(0, eq), true);
      auto value = percent_decode(field.substr(std::min(eq + 1, field.size())), true);
      if (!name || !value) return std::nullopt;
      fields.emplace_back(std::move(*name), std::move(*value));
    }
    start = end + 1;
  }
  return fields;
}

std::optional<std::string> form_value(std::string_view in, std::string_view name) {
  auto fields = parse_form(in);
  if (!fields) return std::nullopt;
  for (auto& [field, value] : *fields) {
    if (field == name) return std::move(value);
  }
  return std::nullopt;
}

}  // namespace mxgate::common
