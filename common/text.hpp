// Small text helpers shared by the HTTP handlers and the commands: ASCII lower case, and the
// percent-encoding of URLs and application/x-www-form-urlencoded bodies (RFC 3986 §2.1, the
// WHATWG form encoding: '+' is a space).
// Pure; never throw on input: a broken escape comes back as nullopt.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxgate::common {

std::string ascii_lower(std::string_view text);

// %XX escapes (and '+' as a space when `form`). nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view in, bool form);
// Every byte but unreserved ones (RFC 3986 §2.3) as %XX.
std::string form_encode(std::string_view text);

using FormFields = std::vector<std::pair<std::string, std::string>>;
// "a=1&b=x%20y" as (name, value) pairs, in order; nullopt for a broken escape.
std::optional<FormFields> parse_form(std::string_view in);
// The first value of `name` in a form or query string; nullopt when absent or badly escaped.
std::optional<std::string> form_value(std::string_view in, std::string_view name);

}  // namespace mxgate::common
