#include "server/systemd_notify.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace mxgate::server {

namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

// Closes the descriptor on every return path.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::error_code notify_socket(std::string_view socket_name, std::string_view state) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // sd_notify(3) accepts an absolute path or '@' for the abstract namespace, nothing else.
  if (socket_name.empty() || (socket_name[0] != '/' && socket_name[0] != '@')) {
    return std::make_error_code(std::errc::address_family_not_supported);
  }
  if (socket_name.size() > sizeof(address.sun_path)) {
    return std::make_error_code(std::errc::filename_too_long);
  }
  std::memcpy(address.sun_path, socket_name.data(), socket_name.size());
  // An abstract name starts with a NUL byte and is exactly as long as the address says.
  if (socket_name[0] == '@') address.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_name.size());

  Descriptor socket{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (socket.fd < 0) return last_error();
  const auto sent = ::sendto(socket.fd, state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0) return last_error();
  if (static_cast<std::size_t>(sent) != state.size()) {
    return std::make_error_code(std::errc::message_size);
  }
  return {};
}

std::error_code notify_service_manager(std::string_view state) {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (socket_name == nullptr || *socket_name == '\0') return {};
  return notify_socket(socket_name, state);
}

std::string reloading_state() {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC, the clock systemd compares with.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", now.count());
}

}  // namespace mxgate::server
