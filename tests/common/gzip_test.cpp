// gzip files in memory (common/gzip.hpp): round trips, what is not a gzip file, the size bound.
#include "common/gzip.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace mxgate::common {
namespace {

// Octets that do not compress: a linear congruential sequence's high bytes.
std::string noise(std::size_t size) {
  std::string out(size, '\0');
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  for (char& c : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(state >> 56);
  }
  return out;
}

std::string repeated(std::string_view text, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += text;
  return out;
}

TEST(Gzip, RoundTripsWhatever) {
  const std::string cases[] = {
      "",
      "a",
      "<feedback><version>1.0</version></feedback>\n",
      repeated("<record><row><source_ip>192.0.2.1</source_ip></row></record>\n", 20000),
      noise(200000),
      std::string("\0\x1f\x8b\xff", 4),
  };
  for (const std::string& data : cases) {
    const std::string file = gzip(data);
    const auto back = gunzip(file, data.size());
    ASSERT_TRUE(back) << "size " << data.size();
    EXPECT_EQ(*back, data);
  }
}

TEST(Gzip, WritesAGzipFileThatCompresses) {
  const std::string data = repeated("the same row again\n", 5000);
  const std::string file = gzip(data);
  ASSERT_GE(file.size(), 18u);  // RFC 1952 §2.3: a 10-octet header and an 8-octet trailer
  EXPECT_EQ(file.substr(0, 3), std::string("\x1f\x8b\x08", 3)) << "ID1 ID2 CM=deflate";
  EXPECT_LT(file.size(), data.size() / 50);
}

TEST(Gzip, GunzipRejectsWhatIsNotAGzipFile) {
  const std::string file = gzip("some report text");
  std::string bad_crc = file;
  bad_crc[bad_crc.size() - 8] ^= 0x01;  // the CRC32 of the trailer
  std::string bad_magic = file;
  bad_magic[0] = 'x';
  const std::string cases[] = {
      "", "some report text", "\x1f\x8b", bad_crc, bad_magic, file + "trailing garbage",
  };
  for (const std::string& input : cases) EXPECT_FALSE(gunzip(input, 1 << 20)) << input;
  for (std::size_t n = 0; n < file.size(); ++n) {
    EXPECT_FALSE(gunzip(file.substr(0, n), 1 << 20)) << "cut to " << n << " octets";
  }
}

TEST(Gzip, GunzipStopsPastMaxBytes) {
  const std::string data = repeated("x", 100000);  // a small file that inflates a lot
  const std::string file = gzip(data);
  EXPECT_TRUE(gunzip(file, data.size()));
  EXPECT_TRUE(gunzip(file, data.size() + 1));
  EXPECT_FALSE(gunzip(file, data.size() - 1));
  EXPECT_FALSE(gunzip(file, 0));
  EXPECT_TRUE(gunzip(gzip(""), 0));
}

TEST(Gzip, GunzipReadsEveryMemberOfTheFile) {
  // RFC 1952 §2.2: a gzip file is a series of members (what `cat a.gz b.gz` gives).
  const auto both = gunzip(gzip("first ") + gzip("second"), 100);
  ASSERT_TRUE(both);
  EXPECT_EQ(*both, "first second");
  EXPECT_FALSE(gunzip(gzip("first ") + gzip("second"), 11)) << "the bound counts all members";
}

}  // namespace
}  // namespace mxgate::common
