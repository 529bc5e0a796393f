// The admin API's bearer token (RFC 6750): every /admin/ request carries
// "Authorization: Bearer <token>" or gets 401. The token is the content of admin.token_file
// (one line; surrounding white space ignored). With token_file empty, mxgate keeps its own in
// <storage.path>/admin.token, made at the first start (32 random bytes as hex, mode 0600), so
// that whoever can read the store's directory can use the API, and nobody else.
// Failure: load_admin_token() throws std::runtime_error naming the file (start-up);
// read_admin_token() returns nullopt with `error` set (the CLI).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace mxgate::admin {

std::string admin_token_path(const conf::Config& config);

// At start: reads the token, or makes the default one when token_file is empty.
std::string load_admin_token(const conf::Config& config);

// For the CLI: the token of the server that `config` describes.
std::optional<std::string> read_admin_token(const conf::Config& config, std::string& error);

// Compares in time independent of where the strings differ.
bool same_token(std::string_view a, std::string_view b);

}  // namespace mxgate::admin
