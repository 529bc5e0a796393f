#include "common/socket_endpoint.hpp"

#include <charconv>

#include "common/cidr.hpp"

namespace mxgate::common {

namespace {

std::optional<std::uint16_t> port_of(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string SocketEndpoint::text() const {
  if (unix_socket) return "unix:" + path;
  return "inet:" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

std::optional<SocketEndpoint> parse_socket_endpoint(std::string_view text, std::string& why) {
  SocketEndpoint endpoint;
  const auto colon = text.find(':');
  const std::string_view scheme = text.substr(0, colon);
  const std::string_view rest = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (scheme == "unix" || scheme == "local") {
    if (rest.empty() || rest.front() != '/') {
      why = "a unix socket needs an absolute path (unix:/run/filter.sock)";
      return std::nullopt;
    }
    endpoint.unix_socket = true;
    endpoint.path = std::string(rest);
    return endpoint;
  }
  if (scheme != "inet" && scheme != "inet6") {
    why = "expected inet:HOST:PORT or unix:/PATH";
    return std::nullopt;
  }
  std::string_view host, port;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {  // Sendmail: PORT@HOST
    port = rest.substr(0, at);
    host = rest.substr(at + 1);
  } else if (!rest.empty() && rest.front() == '[') {  // [v6]:PORT
    const auto close = rest.find("]:");
    if (close == std::string_view::npos) {
      why = "expected inet:[ADDRESS]:PORT";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto last = rest.rfind(':');
    if (last == std::string_view::npos) {
      why = "expected inet:HOST:PORT";
      return std::nullopt;
    }
    host = rest.substr(0, last);
    port = rest.substr(last + 1);
  }
  const auto address = parse_ip(host);
  if (!address) {
    why = "the host must be an IP address, not \"" + std::string(host) + "\"";
    return std::nullopt;
  }
  const auto number = port_of(port);
  if (!number) {
    why = "the port must be 1 to 65535, not \"" + std::string(port) + "\"";
    return std::nullopt;
  }
  endpoint.host = ip_text(*address);
  endpoint.port = *number;
  return endpoint;
}

}  // namespace mxgate::common
