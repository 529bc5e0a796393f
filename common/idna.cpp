#include "common/idna.hpp"

#include <idn2.h>

#include <algorithm>

namespace mxgate::common {

std::optional<std::string> a_label(std::string_view host) {
  if (std::all_of(host.begin(), host.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(host);
  }
  const std::string in(host);
  char* out = nullptr;
  if (idn2_to_ascii_8z(in.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK) {
    return std::nullopt;
  }
  std::string ascii(out);
  idn2_free(out);
  return ascii;
}

}  // namespace mxgate::common
