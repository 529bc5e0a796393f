// Internationalized domain names (RFC 5890) as DNS asks for them: the A-label form.
// Pure; libidn2.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mxgate::common {

// A host name in UTF-8 in its A-label form ("b\xc3\xbccher.example" -> "xn--bcher-kva.example"):
// IDNA2008 with the UTS #46 mapping (full-width letters and dots, case), as browsers resolve
// it, and the form blocklists list. An ASCII name comes back as it is. nullopt for a name
// IDNA refuses.
std::optional<std::string> a_label(std::string_view host);

}  // namespace mxgate::common
