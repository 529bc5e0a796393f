#include "reputation/record.hpp"

#include <limits>

namespace mxgate::reputation {
namespace {

// Counters saturate instead of wrapping: a wrapped counter would make a heavy sender look new.
std::uint32_t saturating_add(std::uint32_t a, std::uint32_t b) {
  const std::uint32_t sum = a + b;
  return sum < a ? std::numeric_limits<std::uint32_t>::max() : sum;
}

}  // namespace

Counters& Counters::operator+=(const Counters& other) {
  accepted = saturating_add(accepted, other.accepted);
  rejected = saturating_add(rejected, other.rejected);
  deferred = saturating_add(deferred, other.deferred);
  invalid_recipients = saturating_add(invalid_recipients, other.invalid_recipients);
  auth_failures = saturating_add(auth_failures, other.auth_failures);
  complaints = saturating_add(complaints, other.complaints);
  return *this;
}

}  // namespace mxgate::reputation
