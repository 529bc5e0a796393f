#include "content/held_content.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mxgate::content {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed after it.
class SpillDir {
 public:
  SpillDir() {
    std::string name = (fs::temp_directory_path() / "held-test-XXXXXX").string();
    path_ = ::mkdtemp(name.data());
  }
  ~SpillDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string tmp() const { return (path_ / "tmp").string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string pattern(std::size_t size, unsigned seed = 1) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed * 7) % 251);
  return out;
}

std::string read_all(HeldContent& held, std::size_t max) {
  std::string out;
  auto cursor = held.read(max);
  while (auto piece = cursor.next()) {
    EXPECT_FALSE(piece->empty());
    EXPECT_LE(piece->size(), max);
    out.append(*piece);
  }
  return out;
}

HeldOptions options(const SpillDir& dir, std::uint64_t per_session, std::size_t step = 1024) {
  return HeldOptions{per_session, dir.tmp(), step};
}

TEST(ContentBudget, TakesOnlyWhatFitsAndGetsItBack) {
  ContentBudget budget(100);
  EXPECT_TRUE(budget.try_take(60));
  EXPECT_FALSE(budget.try_take(41));
  EXPECT_TRUE(budget.try_take(40));
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_FALSE(budget.try_start(1));
  budget.give_back(60);
  EXPECT_EQ(budget.used(), 40u);
  EXPECT_TRUE(budget.try_start(60));
}

TEST(HeldContent, SmallMessageStaysInMemoryWithOneStep) {
  SpillDir dir;
  ContentBudget budget(1 << 20);
  HeldContent held(budget, options(dir, 64 * 1024));
  ASSERT_TRUE(held.begin());
  EXPECT_EQ(budget.used(), 1024u);
  const auto message = pattern(700);
  ASSERT_TRUE(held.append(message));
  EXPECT_FALSE(held.spilled());
  EXPECT_EQ(budget.used(), 1024u);
  EXPECT_EQ(read_all(held, 4096), message);
  EXPECT_FALSE(fs::exists(dir.tmp()));  // no file I/O at all
}

TEST(HeldContent, SpillsPastItsShareAndReadsBackAcrossTheBoundary) {
  SpillDir dir;
  ContentBudget budget(1 << 20);
  HeldContent held(budget, options(dir, 4096));
  ASSERT_TRUE(held.begin());
  const auto message = pattern(20000, 3);
  // Odd piece sizes, so that pieces straddle blocks and the memory/file boundary.
  for (std::size_t at = 0; at < message.size(); at += 777) {
    ASSERT_TRUE(held.append(std::string_view(message).substr(at, 777)));
  }
  EXPECT_TRUE(held.spilled());
  EXPECT_EQ(held.memory_bytes(), 4096u);
  EXPECT_EQ(budget.used(), 4096u);
  EXPECT_EQ(held.spilled_bytes(), 20000u - 4096u);
  EXPECT_EQ(held.size(), 20000u);
  for (std::size_t max : {1u, 100u, 1000u, 4096u, 65536u}) {
    EXPECT_EQ(read_all(held, max), message) << "max " << max;
  }
  // The spill file has no name.
  EXPECT_TRUE(fs::is_empty(dir.tmp()));
}

TEST(HeldContent, ClearGivesMemoryBackAndClosesTheFile) {
  SpillDir dir;
  ContentBudget budget(1 << 20);
  {
    HeldContent held(budget, options(dir, 2048));
    ASSERT_TRUE(held.begin());
    ASSERT_TRUE(held.append(pattern(10000)));
    EXPECT_EQ(budget.used(), 2048u);
    held.clear();
    EXPECT_EQ(budget.used(), 0u);
    EXPECT_FALSE(held.spilled());
    EXPECT_EQ(held.size(), 0u);
    ASSERT_TRUE(held.begin());
    ASSERT_TRUE(held.append("second"));
    EXPECT_EQ(read_all(held, 100), "second");
  }
  EXPECT_EQ(budget.used(), 0u);  // the destructor gave it back
}

TEST(HeldContent, SeveralHoldersShareTheBudget) {
  SpillDir dir;
  ContentBudget budget(3 * 1024);
  HeldContent a(budget, options(dir, 8192));
  HeldContent b(budget, options(dir, 8192));
  HeldContent c(budget, options(dir, 8192));
  HeldContent d(budget, options(dir, 8192));
  ASSERT_TRUE(a.begin());
  ASSERT_TRUE(b.begin());
  ASSERT_TRUE(c.begin());
  EXPECT_FALSE(budget.try_start(1024));
  EXPECT_FALSE(d.begin());  // no room for a first step: the message must not begin
  EXPECT_EQ(budget.used(), 3u * 1024);
  b.clear();
  EXPECT_TRUE(d.begin());
}

TEST(HeldContent, BudgetExhaustedMidMessageSpills) {
  SpillDir dir;
  ContentBudget budget(4 * 1024);
  HeldContent a(budget, options(dir, 1 << 20));
  HeldContent b(budget, options(dir, 1 << 20));
  ASSERT_TRUE(a.begin());
  ASSERT_TRUE(b.begin());
  const auto first = pattern(3000, 1);
  ASSERT_TRUE(a.append(first));  // a grows to 3 steps, the budget is full
  EXPECT_EQ(budget.used(), 4u * 1024);
  const auto second = pattern(5000, 2);
  ASSERT_TRUE(b.append(second));  // b keeps its one step, the rest spills
  EXPECT_EQ(b.memory_bytes(), 1024u);
  EXPECT_TRUE(b.spilled());
  EXPECT_EQ(b.spilled_bytes(), 5000u - 1024u);
  ASSERT_TRUE(a.append(second));  // a cannot grow either now
  EXPECT_TRUE(a.spilled());
  EXPECT_EQ(budget.used(), 4u * 1024);
  EXPECT_EQ(read_all(a, 999), first + second);
  EXPECT_EQ(read_all(b, 999), second);
  // Memory freed later is not used by a message that already spills (its tail is the file).
  b.clear();
  ASSERT_TRUE(a.append("tail"));
  EXPECT_EQ(read_all(a, 999), first + second + "tail");
}

TEST(HeldContent, ZeroShareSpillsEverything) {
  SpillDir dir;
  ContentBudget budget(0);
  HeldContent held(budget, options(dir, 0));
  ASSERT_TRUE(held.begin());
  ASSERT_TRUE(held.append("all on disk"));
  EXPECT_TRUE(held.spilled());
  EXPECT_EQ(read_all(held, 3), "all on disk");
}

TEST(HeldContent, SpillDirectoryThatCannotBeMadeIsAnError) {
  SpillDir dir;
  const auto file = dir.path() / "a-file";
  std::ofstream(file) << "x";
  ContentBudget budget(1 << 20);
  HeldContent held(budget, HeldOptions{1024, (file / "tmp").string(), 1024});
  ASSERT_TRUE(held.begin());
  EXPECT_FALSE(held.append(pattern(4000)));
  EXPECT_TRUE(held.failed());
  EXPECT_EQ(held.error(), std::errc::not_a_directory);
  EXPECT_NE(held.error_context().find("create"), std::string::npos);
  EXPECT_FALSE(held.append("more"));  // keeps nothing more
  held.clear();
  EXPECT_FALSE(held.failed());
  EXPECT_EQ(budget.used(), 0u);
}

TEST(HeldContent, SpillDirectoryIsMadeWhenMissing) {
  SpillDir dir;
  ContentBudget budget(1 << 20);
  HeldContent held(budget, HeldOptions{1024, (dir.path() / "a" / "b").string(), 1024});
  ASSERT_TRUE(held.begin());
  ASSERT_TRUE(held.append(pattern(3000)));
  EXPECT_TRUE(fs::is_directory(dir.path() / "a" / "b"));
  EXPECT_EQ(read_all(held, 500), pattern(3000));
}

}  // namespace
}  // namespace mxgate::content
