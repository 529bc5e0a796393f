#include "milter/pool.hpp"

#include <algorithm>

namespace mxgate::milter {

std::unique_ptr<Client> Pool::take(const ClientSettings& settings) {
  for (auto at = idle_.size(); at-- > 0;) {
    if (idle_[at]->settings() != settings) continue;
    auto client = std::move(idle_[at]);
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(at));
    if (client->resume()) return client;
  }
  return nullptr;
}

void Pool::park(std::unique_ptr<Client> client, std::chrono::milliseconds idle_timeout) {
  if (shut_) return;  // `client` closes
  std::erase_if(idle_, [](const auto& c) { return !c->usable(); });  // expired or closed
  const auto same = [&](const auto& c) { return c->settings() == client->settings(); };
  if (static_cast<std::size_t>(std::count_if(idle_.begin(), idle_.end(), same)) >= max_idle_) {
    idle_.erase(std::find_if(idle_.begin(), idle_.end(), same));
  }
  client->park(idle_timeout);
  idle_.push_back(std::move(client));
}

}  // namespace mxgate::milter
