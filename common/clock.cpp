#include "common/clock.hpp"

namespace mxgate::common {

Clock& system_clock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace mxgate::common
