// Value parsers of the configuration: durations, sizes, host:port.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "conf/config.hpp"

namespace mxgate::conf {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string error_of(auto parse, std::string_view text) {
  try {
    parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Duration, ParsesEveryUnit) {
  struct Case {
    std::string_view text;
    Duration expected;
  };
  const Case cases[] = {
      {"250ms", 250ms}, {"30s", 30s}, {"5m", 5min}, {"1h", 1h},         {"2d", 48h},
      {"0s", 0ms},      {"-5s", -5s}, {"90s", 90s}, {"1500ms", 1500ms}, {"10 s", 10s},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_duration(c.text), c.expected) << c.text;
}

TEST(Duration, RejectsOtherFormsAndSaysWhatIsExpected) {
  for (std::string_view text : {"5 minutes", "", "s", "30", "1.5s", "5M", "1h30m", "ms5",
                                "99999999999999999999s", "9999999999999999d"}) {
    EXPECT_THAT(error_of(parse_duration, text),
                HasSubstr("expected a duration such as \"30s\" or \"5m\", got"))
        << text;
  }
  EXPECT_EQ(error_of(parse_duration, "5 minutes"),
            "expected a duration such as \"30s\" or \"5m\", got \"5 minutes\" "
            "(units: ms, s, m, h, d)");
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_duration(5min), "5m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(-3s), "-3s");
  for (Duration d : {Duration(1), Duration(61'000), Duration(86'400'000), Duration(3'601'000)}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d);
  }
}

TEST(Size, ParsesBytesAndUnits) {
  struct Case {
    std::string_view text;
    std::uint64_t expected;
  };
  const Case cases[] = {
      {"1048576", 1048576},         {"512KiB", 512 * 1024},      {"10MiB", 10 * 1024 * 1024},
      {"1GiB", 1ull << 30},         {"10MB", 10'000'000},        {"1KB", 1000},
      {"2TiB", 2ull << 40},         {"10mib", 10 * 1024 * 1024}, {"100B", 100},
      {"10 MiB", 10 * 1024 * 1024},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_size(c.text), c.expected) << c.text;
}

TEST(Size, RejectsOtherFormsAndListsUnits) {
  for (std::string_view text : {"", "MiB", "10 parsecs", "1.5MiB", "-1", "10K", "10000000TiB"}) {
    EXPECT_THAT(error_of(parse_size, text),
                HasSubstr("expected a size in bytes such as 10485760 or \"10MiB\", got"))
        << text;
  }
  EXPECT_THAT(error_of(parse_size, "10K"), HasSubstr("KiB"));
}

TEST(Size, FormatsWithBinaryUnitsWhenExact) {
  EXPECT_EQ(format_size(50ull * 1024 * 1024), "50MiB");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(1ull << 30), "1GiB");
  EXPECT_EQ(format_size(10'000'000), "10000000");
  EXPECT_EQ(format_size(1500), "1500");
  EXPECT_EQ(parse_size(format_size(10'000'000)), 10'000'000u);
}

TEST(HostPort, ParsesAddressesAndNames) {
  struct Case {
    std::string_view text;
    std::string host;
    std::uint16_t port;
    std::string round_trip;
  };
  const Case cases[] = {
      {"127.0.0.1:25", "127.0.0.1", 25, "127.0.0.1:25"},
      {"[::1]:2525", "::1", 2525, "[::1]:2525"},
      {"[::]:25", "::", 25, "[::]:25"},
      {"0.0.0.0:65535", "0.0.0.0", 65535, "0.0.0.0:65535"},
      {"mx.example:25", "mx.example", 25, "mx.example:25"},
      {"localhost:1", "localhost", 1, "localhost:1"},
      {"[2001:db8::5]:587", "2001:db8::5", 587, "[2001:db8::5]:587"},
  };
  for (const auto& c : cases) {
    HostPort hp = parse_host_port(c.text);
    EXPECT_EQ(hp.host, c.host) << c.text;
    EXPECT_EQ(hp.port, c.port) << c.text;
    EXPECT_EQ(hp.text(), c.round_trip) << c.text;
  }
}

TEST(HostPort, RejectsGarbageWithAReadableReason) {
  struct Case {
    std::string_view text;
    std::string reason;
  };
  const Case cases[] = {
      {"127.0.0.1", "missing port"},
      {"127.0.0.1:", "missing port after ':'"},
      {"[::1]", "missing port"},
      {"::1:25", "an IPv6 address needs brackets, e.g. \"[::1]:25\""},
      {"127.0.0.1:0", "the port must be 1..65535"},
      {"127.0.0.1:65536", "the port must be 1..65535"},
      {"127.0.0.1:smtp", "the port must be a number"},
      {"127.0.0.1:-1", "the port must be a number"},
      {"127.0.0.1:25x", "the port must be a number"},
      {":25", "missing host"},
      {"", "missing host"},
      {"300.1.1.1:25", "not a valid IPv4 address"},
      {"[::g]:25", "not a valid IPv6 address"},
      {"[::1:25", "missing ']'"},
      {"[::1]25", "expected ':' after ']'"},
      {"mx_1.example:25", "host name may hold only letters, digits"},
      {"-mx.example:25", "starts or ends with '-'"},
      {"mx..example:25", "empty label"},
  };
  for (const auto& c : cases) {
    std::string error = error_of(parse_host_port, c.text);
    EXPECT_THAT(error, HasSubstr(c.reason)) << c.text;
    EXPECT_THAT(error, HasSubstr("expected host:port such as \"127.0.0.1:25\" or \"[::1]:25\""))
        << c.text;
  }
}

TEST(LineEndings, HasTheNamesUsedInTheFile) {
  EXPECT_EQ(to_string(LineEndings::Reject), "reject");
  EXPECT_EQ(to_string(LineEndings::Normalize), "normalize");
}

}  // namespace
}  // namespace mxgate::conf
