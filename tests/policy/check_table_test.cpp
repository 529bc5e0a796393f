// The registration table: every row names a known check at its stage, every known check is
// wired, and each stage's rows are in phase order.
#include "policy/check_table.hpp"

#include <gtest/gtest.h>

#include <set>

#include "reputation/checks.hpp"

namespace mxgate::policy {
namespace {

TEST(CheckTable, RowsNameKnownChecksAtTheirStage) {
  for (const auto& entry : check_table()) {
    SCOPED_TRACE(std::string(entry.name));
    const auto* known = reputation::find_check(entry.name);
    ASSERT_NE(known, nullptr) << "not in reputation/checks.cpp";
    // The throttle runs at several stages; known_checks() lists it at the first.
    if (entry.name != "throttle") {
      EXPECT_EQ(entry.stage, known->stage);
    }
  }
}

TEST(CheckTable, EveryKnownCheckIsWired) {
  std::set<std::string_view> wired;
  for (const auto& entry : check_table()) wired.insert(entry.name);
  for (const auto& known : reputation::known_checks()) {
    EXPECT_TRUE(wired.contains(known.name)) << known.name;
  }
}

TEST(CheckTable, EachStageListsItsPhasesInOrder) {
  const auto table = check_table();
  for (std::size_t i = 1; i < table.size(); ++i) {
    if (table[i].stage != table[i - 1].stage) {
      EXPECT_GT(table[i].stage, table[i - 1].stage) << "stages in protocol order";
      continue;
    }
    EXPECT_GE(table[i].phase, table[i - 1].phase) << table[i].name;
  }
}

TEST(CheckTable, OnlyThePregreetCheckIsProvidedByTheSession) {
  for (const auto& entry : check_table()) {
    EXPECT_EQ(entry.add == nullptr && entry.decide == nullptr, entry.name == "pregreet")
        << entry.name;
    EXPECT_FALSE(entry.add != nullptr && entry.decide != nullptr) << entry.name;
  }
}

}  // namespace
}  // namespace mxgate::policy
