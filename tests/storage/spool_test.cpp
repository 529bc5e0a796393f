// Spool: a message committed in one batch comes back after a reopen; the schedule orders by
// due time; reschedule, finish and bury keep the three families consistent; the schema
// version and the lock are refused with a clear error; envelopes round-trip and bad bytes do
// not decode. A full disk (a file system that fails every write) refuses the commit without
// leaving part of it, and the spool takes messages again once the disk has room.
#include "storage/spool.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

namespace mxgate::storage {
namespace {

Envelope sample(std::string id, std::int64_t due_ms, std::int64_t created_ms = 1000) {
  Envelope e;
  e.id = std::move(id);
  e.mail_from = "sender@example.org";
  e.recipients = {{"a@example.com", SpoolRecipient::State::Pending, ""},
                  {"b@example.com", SpoolRecipient::State::Delivered, "250 2.0.0 Ok"}};
  e.created_ms = created_ms;
  e.due_ms = due_ms;
  e.attempts = 2;
  e.client_ip = "192.0.2.7";
  e.client_name = "mail.example.org";
  e.client_helo = "mail.example.org";
  e.client_esmtp = true;
  e.size = 11;
  e.eight_bit = true;
  return e;
}

// Opens the spool's database as it is, without the Spool, for `work`.
template <typename Work>
void raw(const std::filesystem::path& dir, Work work) {
  rocksdb::DBOptions options;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : {"default", "envelope", "body", "schedule", "dead", "meta"}) {
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.string(), cfs, &handles, &db).ok());
  work(*db, handles);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

class SpoolTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-spool-test-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override {
    spool_.reset();
    std::filesystem::remove_all(dir_);
  }
  Spool& open() {
    spool_.reset();
    spool_ = Spool::open(dir_);
    return *spool_;
  }
  std::filesystem::path dir_;
  std::unique_ptr<Spool> spool_;
};

TEST(SpoolEnvelope, RoundTripsAndRefusesDamage) {
  const auto e = sample("0001", 5);
  const auto bytes = encode_envelope(e);
  EXPECT_EQ(decode_envelope(bytes), e);
  // An envelope of schema 2 ends before the client's name and HELO.
  const std::size_t schema2 = bytes.size() - 2 * (8 + e.client_name.size());
  auto older = e;
  older.client_name.clear();
  older.client_helo.clear();
  EXPECT_EQ(decode_envelope(bytes.substr(0, schema2)), older);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    if (cut != schema2) {
      EXPECT_FALSE(decode_envelope(bytes.substr(0, cut))) << cut;
    }
  }
  EXPECT_FALSE(decode_envelope(bytes + "x"));
  Envelope one;
  one.id = "i";
  one.recipients = {{"a@b", {}, ""}};
  std::string bad_state = encode_envelope(one);
  // The recipient's state (then 8 octets of reply, and 16 of the client's empty name and HELO).
  bad_state[bad_state.size() - 32] = 7;
  EXPECT_FALSE(decode_envelope(bad_state));
}

TEST(SpoolOpen, WithoutCreateIfMissingAMissingSpoolIsRefusedAndNothingIsMade) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("mxgate-spool-open-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  SpoolOptions existing;
  existing.create_if_missing = false;
  EXPECT_THROW(Spool::open(dir, existing), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir));
  Spool::open(dir);  // as the server's first start in queue mode
  EXPECT_NE(Spool::open(dir, existing), nullptr);
  std::filesystem::remove_all(dir);
}

TEST_F(SpoolTest, ACommittedMessageSurvivesAReopen) {
  auto& spool = open();
  const auto id = spool.make_id();
  ASSERT_FALSE(spool.commit(sample(id, 500), "hello world"));
  open();
  EXPECT_EQ(spool_->envelope(id), sample(id, 500));
  EXPECT_EQ(spool_->body(id), "hello world");
  const auto stats = spool_->stats();
  EXPECT_EQ(stats.depth, 1u);
  EXPECT_EQ(stats.oldest_created_ms, 1000);
}

TEST_F(SpoolTest, DueInTimeOrderThenRescheduleFinishAndBury) {
  auto& spool = open();
  ASSERT_FALSE(spool.commit(sample("B", 200, 10), "b"));
  ASSERT_FALSE(spool.commit(sample("A", 100, 20), "a"));
  ASSERT_FALSE(spool.commit(sample("C", 300, 30), "c"));
  auto due = spool.due(250, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, "A");
  EXPECT_EQ(due[0].due_ms, 100);
  EXPECT_EQ(due[1].id, "B");
  EXPECT_EQ(spool.due(250, 1).size(), 1u);

  auto a = *spool.envelope("A");
  a.due_ms = 1000;
  a.attempts = 3;
  ASSERT_FALSE(spool.reschedule(a, 100));
  due = spool.due(999, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, "B");
  EXPECT_EQ(spool.envelope("A")->attempts, 3u);

  ASSERT_FALSE(spool.finish(*spool.envelope("B")));
  EXPECT_FALSE(spool.envelope("B"));
  EXPECT_FALSE(spool.body("B"));
  ASSERT_FALSE(spool.bury(*spool.envelope("C"), 300, "bounce undeliverable"));
  EXPECT_FALSE(spool.envelope("C"));
  const auto stats = spool.stats();
  EXPECT_EQ(stats.depth, 1u);
  EXPECT_EQ(stats.dead, 1u);
  EXPECT_EQ(stats.oldest_created_ms, 20);
  std::vector<std::string> listed;
  ASSERT_FALSE(spool.for_each([&](const Envelope& e) {
    listed.push_back(e.id);
    return true;
  }));
  EXPECT_EQ(listed, std::vector<std::string>{"A"});
  open();
  EXPECT_EQ(spool_->stats().depth, 1u);
  EXPECT_EQ(spool_->stats().dead, 1u);
}

TEST_F(SpoolTest, IdsAreUniqueAndOrderedAcrossThreads) {
  auto& spool = open();
  std::vector<std::string> a, b;
  std::thread t1([&] {
    for (int i = 0; i < 10000; ++i) a.push_back(spool.make_id());
  });
  std::thread t2([&] {
    for (int i = 0; i < 10000; ++i) b.push_back(spool.make_id());
  });
  t1.join();
  t2.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 20000u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(a.front().size(), 16u);
}

TEST_F(SpoolTest, ConcurrentCommitsAllLand) {
  auto& spool = open();
  auto work = [&](int base) {
    for (int i = 0; i < 200; ++i) {
      const auto id = spool.make_id();
      ASSERT_FALSE(spool.commit(sample(id, base + i), std::string(4096, 'x')));
    }
  };
  std::thread t1(work, 0), t2(work, 1000);
  t1.join();
  t2.join();
  EXPECT_EQ(spool.stats().depth, 400u);
  EXPECT_EQ(spool.due(1'000'000, 1000).size(), 400u);
}

TEST_F(SpoolTest, ALockedOrNewerQueueIsRefusedClearly) {
  open();
  try {
    auto second = Spool::open(dir_);
    FAIL() << "opened twice";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is in use by another process"), std::string::npos)
        << e.what();
  }
  spool_.reset();
  raw(dir_, [](rocksdb::DB& db, auto& families) {  // as a later mxgate would
    ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), families[5], "schema", "99").ok());
  });
  try {
    Spool::open(dir_);
    FAIL() << "opened a newer queue";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("was written by a newer mxgate (schema 99"),
              std::string::npos)
        << e.what();
  }
}

// A file system whose writes fail with "no space" while `full` is set, like a full disk (new
// files can still be created, as on a real one).
class FullDisk final : public rocksdb::FileSystemWrapper {
 public:
  explicit FullDisk(std::atomic<bool>& full)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), full_(full) {}
  const char* Name() const override { return "FullDisk"; }

  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 std::uint64_t* free, rocksdb::IODebugContext* dbg) override {
    if (!full_) return target()->GetFreeSpace(path, options, free, dbg);
    *free = 0;
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> inner;
    auto status = target()->NewWritableFile(name, options, &inner, dbg);
    if (status.ok()) *file = std::make_unique<File>(std::move(inner), full_);
    return status;
  }

 private:
  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> inner, std::atomic<bool>& full)
        : FSWritableFileOwnerWrapper(std::move(inner)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("disk full (test)");
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("disk full (test)");
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("disk full (test)");
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }

   private:
    std::atomic<bool>& full_;
  };
  std::atomic<bool>& full_;
};

TEST_F(SpoolTest, AFullDiskRefusesTheCommitWholeAndTheSpoolRecovers) {
  std::atomic<bool> full{false};
  SpoolOptions options;
  options.env = rocksdb::NewCompositeEnv(std::make_shared<FullDisk>(full));
  spool_ = Spool::open(dir_, options);
  auto& spool = *spool_;
  auto before = sample(spool.make_id(), 10);
  ASSERT_FALSE(spool.commit(before, "accepted before"));

  full = true;
  auto refused = sample(spool.make_id(), 20);
  EXPECT_TRUE(spool.commit(refused, "refused"));
  EXPECT_TRUE(spool.commit(sample(spool.make_id(), 21), "refused too"));
  EXPECT_FALSE(spool.envelope(refused.id));
  EXPECT_FALSE(spool.body(refused.id));

  full = false;
  auto after = sample(spool.make_id(), 30);
  ASSERT_FALSE(spool.commit(after, "accepted after"));
  const auto due = spool.due(100, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, before.id);
  EXPECT_EQ(due[1].id, after.id);

  spool_.reset();  // and nothing of the refused message after a reopen either
  spool_ = Spool::open(dir_);
  EXPECT_EQ(spool_->envelope(before.id), before);
  EXPECT_EQ(spool_->body(after.id), "accepted after");
  EXPECT_FALSE(spool_->envelope(refused.id));
  EXPECT_EQ(spool_->due(100, 10).size(), 2u);
}

TEST_F(SpoolTest, DueSkipsDeliveredEntriesAndSeesEarlierInsertions) {
  auto& spool = open();
  std::vector<Envelope> done;
  for (int i = 0; i < 200; ++i) {
    done.push_back(sample(spool.make_id(), 100 + i));
    ASSERT_FALSE(spool.commit(done.back(), "x"));
  }
  for (const auto& e : done) ASSERT_FALSE(spool.finish(e));
  EXPECT_TRUE(spool.due(1000, 10).empty());       // raises the floor past the delivered ones
  const auto late = sample(spool.make_id(), 50);  // due before all of them
  ASSERT_FALSE(spool.commit(late, "late"));
  const auto due = spool.due(1000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, late.id);
}

// A body over one piece: staged piece by piece, committed with its last piece, read back whole
// and piece by piece after a reopen, and gone with the message.
TEST_F(SpoolTest, StagedPiecesCommitAsOneBodyAndLeaveWithTheMessage) {
  auto& spool = open();
  const std::string a(kBodyPiece, 'a'), b(kBodyPiece, 'b'), tail = "tail\r\n";
  auto e = sample(spool.make_id(), 500);
  e.size = a.size() + b.size() + tail.size();
  ASSERT_FALSE(spool.stage(e.id, 0, a));
  ASSERT_FALSE(spool.stage(e.id, 1, b));
  ASSERT_FALSE(spool.commit(e, tail, 2));
  open();
  EXPECT_EQ(spool_->body(e.id), a + b + tail);
  EXPECT_EQ(spool_->body_piece(e.id, 1), b);
  EXPECT_EQ(spool_->body_piece(e.id, 2), tail);
  EXPECT_FALSE(spool_->body_piece(e.id, 3));
  ASSERT_FALSE(spool_->finish(e));
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_FALSE(spool_->body_piece(e.id, i)) << i;
  EXPECT_FALSE(spool_->body(e.id));
}

// Pieces of a body never committed: gone after discard(), and after a crash at the next open
// (a committed body staged alike stays).
TEST_F(SpoolTest, PiecesNeverCommittedAreDiscarded) {
  auto& spool = open();
  const std::string piece(kBodyPiece, 'x');
  const auto dropped = spool.make_id();
  ASSERT_FALSE(spool.stage(dropped, 0, piece));
  ASSERT_FALSE(spool.stage(dropped, 1, piece));
  ASSERT_FALSE(spool.discard(dropped, 2));
  EXPECT_FALSE(spool.body_piece(dropped, 0));
  EXPECT_FALSE(spool.body_piece(dropped, 1));

  const auto crashed = spool.make_id();
  ASSERT_FALSE(spool.stage(crashed, 0, piece));
  ASSERT_FALSE(spool.stage(crashed, 1, piece));
  auto kept = sample(spool.make_id(), 500);
  kept.size = 2 * piece.size() + 1;
  ASSERT_FALSE(spool.stage(kept.id, 0, piece));
  ASSERT_FALSE(spool.stage(kept.id, 1, piece));
  ASSERT_FALSE(spool.commit(kept, "!", 2));
  open();  // the spool went away with `crashed` staged
  EXPECT_FALSE(spool_->body_piece(crashed, 0));
  EXPECT_FALSE(spool_->body_piece(crashed, 1));
  EXPECT_EQ(spool_->body(kept.id), piece + piece + "!");
}

// A spool written by the first schema (bodies whole, however large) is read and emptied alike,
// and is marked with the schema that an older mxgate refuses.
TEST_F(SpoolTest, ASpoolOfSchemaOneIsReadAndUpgraded) {
  auto& spool = open();
  auto e = sample(spool.make_id(), 500);
  const std::string whole(2 * kBodyPiece + 7, 'w');  // as schema 1 stored it: one value
  e.size = whole.size();
  ASSERT_FALSE(spool.commit(e, whole));
  spool_.reset();
  raw(dir_, [](rocksdb::DB& db, auto& families) {
    ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), families[5], "schema", "1").ok());
  });
  open();
  EXPECT_EQ(spool_->body_piece(e.id, 0), whole);
  EXPECT_EQ(spool_->body(e.id), whole);
  ASSERT_FALSE(spool_->finish(e));
  EXPECT_FALSE(spool_->body(e.id));
  spool_.reset();
  raw(dir_, [](rocksdb::DB& db, auto& families) {
    std::string schema;
    ASSERT_TRUE(db.Get(rocksdb::ReadOptions(), families[5], "schema", &schema).ok());
    EXPECT_EQ(schema, std::to_string(kSpoolSchema));
  });
}

}  // namespace
}  // namespace mxgate::storage
