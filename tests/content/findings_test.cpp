#include "content/findings.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mxgate::content {
namespace {

TEST(Findings, NamesAreDistinctSnakeCase) {
  std::set<std::string> names;
  for (const Finding finding : all_findings()) {
    const std::string name(finding_name(finding));
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string::npos);
    EXPECT_FALSE(finding_description(finding).empty()) << name;
  }
  EXPECT_EQ(names.size(), kFindingCount);
}

}  // namespace
}  // namespace mxgate::content
