// DkimKeyCache: a record seen again is not parsed again; changes and failures; the bound.
#include "auth/dkim_key_cache.hpp"

#include <gtest/gtest.h>

#include "tests/auth/dkim_vectors.hpp"

namespace mxgate::auth {
namespace {

TEST(DkimKeyCache, ParsesEachRecordOnce) {
  DkimKeyCache cache(2);
  const auto first = cache.get(vectors::kRsaRecord);
  ASSERT_TRUE(first->key) << first->error;
  EXPECT_EQ(cache.get(vectors::kRsaRecord), first) << "the same parsed key";
  EXPECT_EQ(cache.hits(), 1u);
  const auto ed = cache.get(vectors::kEdRecord);
  ASSERT_TRUE(ed->key);
  EXPECT_EQ(ed->key->type, DkimKeyType::Ed25519);
  const auto revoked = cache.get("v=DKIM1; p=");
  EXPECT_TRUE(revoked->revoked);
  EXPECT_EQ(cache.size(), 2u) << "bounded: the least recently used went";
  EXPECT_EQ(cache.get("v=DKIM1; p="), revoked);
  EXPECT_NE(cache.get(vectors::kRsaRecord), first) << "evicted, parsed anew";
  EXPECT_EQ(cache.misses(), 4u);
}

TEST(DkimKeyCache, ZeroEntriesParsesEveryTime) {
  DkimKeyCache cache(0);
  EXPECT_NE(cache.get(vectors::kEdRecord), cache.get(vectors::kEdRecord));
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace mxgate::auth
