#include "server/systemd_notify.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

namespace mxgate::server {
namespace {

// A datagram socket the test binds, playing systemd's notification socket.
class Listener {
 public:
  // `name`: a path, or "@name" for the abstract namespace.
  explicit Listener(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0;
  }
  ~Listener() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  // The next datagram, or "" when none is queued (a unix datagram is queued by sendto itself).
  std::string receive() {
    char buffer[512];
    const auto n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string temp_socket_path() {
  return (std::filesystem::temp_directory_path() /
          ("mxgate-notify-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

std::string abstract_name() { return "@mxgate-notify-test-" + std::to_string(::getpid()); }

TEST(SystemdNotify, SendsTheStateToASocketPath) {
  Listener listener(temp_socket_path());
  ASSERT_TRUE(listener.bound());
  EXPECT_FALSE(notify_socket(temp_socket_path(), "READY=1"));
  EXPECT_EQ(listener.receive(), "READY=1");
}

TEST(SystemdNotify, SendsTheStateToAnAbstractSocket) {
  Listener listener(abstract_name());
  ASSERT_TRUE(listener.bound());
  EXPECT_FALSE(notify_socket(abstract_name(), "STOPPING=1"));
  EXPECT_EQ(listener.receive(), "STOPPING=1");
}

TEST(SystemdNotify, ReadsTheSocketFromNotifySocket) {
  Listener listener(abstract_name());
  ASSERT_TRUE(listener.bound());
  ::setenv("NOTIFY_SOCKET", abstract_name().c_str(), 1);
  const auto ec = notify_service_manager("READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(listener.receive(), "READY=1");
}

TEST(SystemdNotify, DoesNothingWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notify_service_manager("READY=1"));
}

TEST(SystemdNotify, RefusesARelativeOrOverlongName) {
  EXPECT_EQ(notify_socket("run/notify", "READY=1"), std::errc::address_family_not_supported);
  EXPECT_EQ(notify_socket("", "READY=1"), std::errc::address_family_not_supported);
  EXPECT_EQ(notify_socket("/" + std::string(200, 'x'), "READY=1"), std::errc::filename_too_long);
}

TEST(SystemdNotify, ReportsASocketNobodyListensOn) {
  EXPECT_TRUE(notify_socket("/nonexistent/mxgate/notify.sock", "READY=1"));
  EXPECT_TRUE(notify_socket(abstract_name() + "-nobody", "READY=1"));
}

TEST(SystemdNotify, ReloadingCarriesTheMonotonicTime) {
  const auto state = reloading_state();
  EXPECT_EQ(state.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << state;
  EXPECT_GT(std::stoll(state.substr(state.find('=', 12) + 1)), 0);
}

}  // namespace
}  // namespace mxgate::server
