#include "admin/token.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mxgate::admin {
namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kMinTokenLength = 16;
constexpr std::string_view kDefaultName = "admin.token";

// Without the white space around it.
void trim(std::string& text) {
  text.erase(0, std::min(text.find_first_not_of(" \t\r\n"), text.size()));
  const auto last = text.find_last_not_of(" \t\r\n");
  text.erase(last == std::string::npos ? 0 : last + 1);
}

std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = fmt::format("cannot read the admin token {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::optional<std::string> token(text.str());
  trim(*token);
  if (token->size() < kMinTokenLength || token->find_first_of(" \t\r\n") != std::string::npos) {
    error = fmt::format("the admin token in {} must be one word of at least {} characters", path,
                        kMinTokenLength);
    return std::nullopt;
  }
  return token;
}

std::string make_token() {
  std::array<unsigned char, kTokenBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("cannot make an admin token: no random bytes");
  }
  std::string out;
  for (const auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

std::string admin_token_path(const conf::Config& config) {
  if (!config.admin.token_file.empty()) return config.admin.token_file;
  return (std::filesystem::path(config.storage.path) / kDefaultName).string();
}

std::string load_admin_token(const conf::Config& config) {
  const auto path = admin_token_path(config);
  std::string error;
  if (config.admin.token_file.empty() && !std::filesystem::exists(path)) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      throw std::runtime_error(
          fmt::format("cannot create the admin token {}: {}", path, std::strerror(errno)));
    }
    if (fd >= 0) {
      std::string token = make_token();
      token.push_back('\n');
      const bool written =
          ::write(fd, token.data(), token.size()) == static_cast<ssize_t>(token.size());
      ::close(fd);
      if (!written) throw std::runtime_error("cannot write the admin token " + path);
    }
  }
  auto token = read_token_file(path, error);
  if (!token) throw std::runtime_error(error + " (admin.token_file)");
  return *token;
}

std::optional<std::string> read_admin_token(const conf::Config& config, std::string& error) {
  return read_token_file(admin_token_path(config), error);
}

bool same_token(std::string_view a, std::string_view b) {
  unsigned char differ = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    differ |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return differ == 0;
}

}  // namespace mxgate::admin
