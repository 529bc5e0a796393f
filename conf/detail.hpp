// Internal to mxgate_conf: value parsers shared by the loader (schema.cpp) and the public
// parse_* functions (values.cpp). Pure; every failure is a std::invalid_argument whose message
// says what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace mxgate::conf::detail {

// How a "host:port" is checked: what port 0 means where it is accepted (empty: it is not; e.g.
// "disables", "picks a free port"), and the port used when the text has none (no default: the
// port is required).
struct PortRule {
  std::string_view zero;
  std::optional<std::uint16_t> default_port;
};

HostPort parse_host_port(std::string_view text, const PortRule& rule);

// Why `name` is not a valid DNS host name (LDH labels of 1..63 bytes, 253 in all, a single
// label allowed), or nullopt when it is.
std::optional<std::string> domain_problem(std::string_view name);

// The line where the innermost '[' or '{' (`open`) still open at `line`:`column` of the TOML
// `text` was opened, skipping strings and comments; nullopt when none is (syntax.cpp).
std::optional<std::uint32_t> unclosed_bracket(std::string_view text, std::uint32_t line,
                                              std::uint32_t column, char open);

// `text` as a TOML basic string, quotes included.
std::string quote(std::string_view text);

}  // namespace mxgate::conf::detail
