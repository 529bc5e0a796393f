#include "storage/record_codec.hpp"

#include <gtest/gtest.h>

#include <random>

namespace mxgate::storage {
namespace {

using reputation::ListingAction;
using reputation::Record;

Record sample() {
  Record r;
  r.first_seen = 1'700'000'000;
  r.last_seen = 1'700'086'400;
  r.days = {{19675, {1, 2, 3, 4, 5, 6}}, {19676, {7, 0, 0, 0, 0, 4'000'000'000u}}};
  r.listing = {ListingAction::Block, "spam run", "manual", 1'700'000'100, 1'800'000'000};
  r.score = -3.25;
  r.score_at = 1'700'086'000;
  return r;
}

TEST(RecordCodec, RoundTrips) {
  EXPECT_EQ(decode_record(encode_record(sample())), sample());
  EXPECT_EQ(decode_record(encode_record(Record{})), Record{});
}

TEST(RecordCodec, VersionByteFirstAndLittleEndian) {
  const std::string bytes = encode_record(sample());
  EXPECT_EQ(bytes[0], kRecordVersion);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 1'700'000'000 & 0xff);
}

TEST(RecordCodec, LongListingTextIsTruncated) {
  Record r;
  r.listing.reason = std::string(5000, 'x');
  const auto decoded = decode_record(encode_record(r));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->listing.reason.size(), kMaxListingText);
}

TEST(RecordCodec, EveryTruncationIsRejected) {
  const std::string bytes = encode_record(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_record(std::string_view(bytes).substr(0, n))) << n;
  }
  EXPECT_FALSE(decode_record(bytes + "x"));
}

TEST(RecordCodec, StructuralGarbageIsRejected) {
  std::string bytes = encode_record(sample());
  std::string wrong_version = bytes;
  wrong_version[0] = 9;
  EXPECT_FALSE(decode_record(wrong_version));
  std::string wrong_action = bytes;
  wrong_action[33] = 7;  // listing action after version + 4 x 8 bytes
  EXPECT_FALSE(decode_record(wrong_action));
  Record unordered = sample();
  std::swap(unordered.days[0], unordered.days[1]);
  EXPECT_FALSE(decode_record(encode_record(unordered)));
}

TEST(RecordCodec, RandomBytesNeverCrash) {
  std::mt19937 random(42);
  const std::string valid = encode_record(sample());
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    if (i % 2 == 0) bytes.resize(random() % 200);
    for (char& c : bytes) {
      if (i % 2 == 0 || random() % 16 == 0) c = static_cast<char>(random());
    }
    (void)decode_record(bytes);  // must not crash, throw or over-read (run under ASan too)
  }
}

}  // namespace
}  // namespace mxgate::storage
