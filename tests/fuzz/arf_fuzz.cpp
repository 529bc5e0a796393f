// libFuzzer target of complaint reports (postmaster/arf.hpp; RFC 5965, the Abuse Reporting
// Format), which arrive by mail to the feedback address and by POST /admin/arf. The input is
// the whole report message. Checked: a report comes with no error and an error with no report;
// a report has a lower-case Feedback-Type; its domains are non-empty, lower case, without a
// trailing dot and each listed once; an oversized message is refused without being read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "postmaster/arf.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

namespace postmaster = mxgate::postmaster;
using mxgate::fuzz::check;

bool lower_case(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message = mxgate::fuzz::text(data, size);
  std::string error;
  const auto report = postmaster::parse_arf(message, error);
  check(report.has_value() == error.empty());
  if (!report) return 0;
  check(size <= postmaster::kMaxArfBytes);
  check(!report->feedback_type.empty() && lower_case(report->feedback_type));
  for (std::size_t i = 0; i < report->domains.size(); ++i) {
    const std::string& d = report->domains[i];
    check(!d.empty() && d.back() != '.' && lower_case(d));
    check(std::count(report->domains.begin(), report->domains.end(), d) == 1);
  }
  return 0;
}
