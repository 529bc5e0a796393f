// milter::Pool: a worker's filter connections kept between SMTP sessions (issue 18).
//   - Chain::quit() parks a connection whose filter was told QUIT_NC ("this session is over, a
//     new one follows on this connection", milter protocol 6); it closes itself after the
//     filter's idle_timeout.
//   - take() hands out the newest parked connection negotiated with the same settings (address,
//     offer, limits: a reload that changes a filter never reuses an old connection) that is
//     still sound; the others it meets on the way are dropped.
//   - At most max_idle connections per settings; parking one more closes the oldest.
// Threading: one Pool per worker, on its thread; it must outlive no one (parked connections
// close with it).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "milter/client.hpp"

namespace mxgate::milter {

class Pool {
 public:
  static constexpr std::size_t kMaxIdle = 64;
  explicit Pool(std::size_t max_idle = kMaxIdle) : max_idle_(max_idle) {}

  std::unique_ptr<Client> take(const ClientSettings& settings);
  void park(std::unique_ptr<Client> client, std::chrono::milliseconds idle_timeout);
  // Draining: every parked connection closes, and those parked later too.
  void shutdown() {
    shut_ = true;
    idle_.clear();
  }
  std::size_t idle() const { return idle_.size(); }

 private:
  std::size_t max_idle_;
  bool shut_ = false;
  std::vector<std::unique_ptr<Client>> idle_;  // oldest first
};

}  // namespace mxgate::milter
