// Where a local service listens, as Postfix and Sendmail name milters: "inet:HOST:PORT" (also
// "inet:PORT@HOST", "inet6:[ADDRESS]:PORT") or "unix:/path" ("local:/path"). HOST is an IP
// address: nothing here resolves names. Pure. Used by [[milter]] address (conf) and the milter
// client (milter/client).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::common {

struct SocketEndpoint {
  bool unix_socket = false;
  std::string host;  // canonical IP text (common::ip_text)
  std::uint16_t port = 0;
  std::string path;
  std::string text() const;  // "inet:192.0.2.1:11332", "inet:[::1]:9000", "unix:/run/x.sock"
  bool operator==(const SocketEndpoint&) const = default;
};

// nullopt with `why` (a sentence to show after the value) when `text` is none of the forms.
std::optional<SocketEndpoint> parse_socket_endpoint(std::string_view text, std::string& why);

}  // namespace mxgate::common
