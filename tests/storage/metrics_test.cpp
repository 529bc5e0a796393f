// StoreMetrics and SpoolMetrics: refresh() turns the store's totals since open into counters
// that grow by what happened since the last refresh (never counted twice), a hit ratio, and
// records per family; the spool's depth, oldest message and messages per fsync.
#include "storage/metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <random>

#include "storage/reputation_store.hpp"
#include "storage/spool.hpp"

namespace mxgate::storage {
namespace {

class StorageMetricsTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-metrics-test-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override {
    store_.reset();
    spool_.reset();
    std::filesystem::remove_all(dir_);
  }
  ReputationStore& open_store() {
    StoreOptions options;
    options.block_cache_bytes = 8 << 20;
    store_ = ReputationStore::open(dir_ / "store", options);
    return *store_;
  }
  std::filesystem::path dir_;
  prometheus::Registry registry_;
  std::unique_ptr<ReputationStore> store_;
  std::unique_ptr<Spool> spool_;
};

Envelope queued(std::string id, std::int64_t created_ms) {
  Envelope e;
  e.id = std::move(id);
  e.mail_from = "sender@example.org";
  e.recipients = {{"a@example.com", SpoolRecipient::State::Pending, ""}};
  e.created_ms = created_ms;
  e.due_ms = created_ms;
  return e;
}

TEST_F(StorageMetricsTest, StoreRefreshCountsOnlyWhatHappenedSinceTheLastRefresh) {
  auto& store = open_store();
  StoreMetrics metrics(registry_);
  for (const char* domain : {"a.example", "b.example", "c.example"}) {
    ASSERT_FALSE(store.add(Family::SenderDomain, domain_key(domain), 100,
                           reputation::Counters{.accepted = 1}, 8'640'000));
  }
  ASSERT_FALSE(store.set_listing(Family::LinkedDomain, "evil.example",
                                 {reputation::ListingAction::Block, "malware", "cli", 1, 0}));
  ASSERT_FALSE(store.flush());
  for (int i = 0; i < 3; ++i) store.get(Family::SenderDomain, "a.example");
  store.get(Family::SenderDomain, "absent.example");

  metrics.refresh(store);
  const auto hits = store.record_cache_hits(), misses = store.record_cache_misses();
  ASSERT_GT(hits, 0u);
  ASSERT_GT(misses, 0u);
  EXPECT_EQ(metrics.reputation_cache_hits_record.Value(), static_cast<double>(hits));
  EXPECT_EQ(metrics.reputation_cache_misses_record.Value(), static_cast<double>(misses));
  EXPECT_DOUBLE_EQ(metrics.reputation_cache_hit_ratio_record.Value(),
                   static_cast<double>(hits) / static_cast<double>(hits + misses));
  EXPECT_EQ(metrics.reputation_cache_hits_block.Value(), static_cast<double>(store.cache_hits()));
  EXPECT_EQ(metrics.reputation_cache_misses_block.Value(),
            static_cast<double>(store.cache_misses()));
  EXPECT_EQ(metrics.reputation_records_sender_domain.Value(),
            static_cast<double>(store.approximate_count(Family::SenderDomain)));
  EXPECT_GT(metrics.reputation_records_sender_domain.Value(), 0);
  EXPECT_EQ(metrics.reputation_records_ip.Value(), 0);
  EXPECT_EQ(metrics.reputation_records_network.Value(), 0);
  EXPECT_EQ(metrics.reputation_records_auth_domain.Value(), 0);
  EXPECT_EQ(metrics.reputation_records_linked_domain.Value(),
            static_cast<double>(store.approximate_count(Family::LinkedDomain)));
  EXPECT_GT(metrics.reputation_records_linked_domain.Value(), 0);

  metrics.refresh(store);  // nothing happened in between
  EXPECT_EQ(metrics.reputation_cache_hits_record.Value(), static_cast<double>(hits));
  EXPECT_EQ(metrics.reputation_cache_misses_record.Value(), static_cast<double>(misses));

  store.get(Family::SenderDomain, "b.example");
  store.get(Family::SenderDomain, "b.example");
  metrics.refresh(store);
  EXPECT_EQ(metrics.reputation_cache_hits_record.Value(),
            static_cast<double>(store.record_cache_hits()));
  EXPECT_EQ(metrics.reputation_cache_misses_record.Value(),
            static_cast<double>(store.record_cache_misses()));
  EXPECT_GT(store.record_cache_hits() + store.record_cache_misses(), hits + misses);
}

TEST_F(StorageMetricsTest, SpoolRefreshShowsDepthAgeAndMessagesPerSync) {
  spool_ = Spool::open(dir_ / "queue");
  SpoolMetrics metrics(registry_);
  metrics.refresh(*spool_, 50'000);
  EXPECT_EQ(metrics.queue_depth.Value(), 0);
  EXPECT_EQ(metrics.queue_oldest_seconds.Value(), 0);  // empty: no age
  EXPECT_EQ(metrics.queue_messages_per_fsync.Value(), 0);

  ASSERT_FALSE(spool_->commit(queued("0001", 20'000), "Subject: a\r\n\r\nbody\r\n"));
  ASSERT_FALSE(spool_->commit(queued("0002", 30'000), "Subject: b\r\n\r\nbody\r\n"));
  metrics.refresh(*spool_, 50'000);
  EXPECT_EQ(metrics.queue_depth.Value(), 2);
  EXPECT_EQ(metrics.queue_oldest_seconds.Value(), 30);  // the message created at 20 s
  const auto stats = spool_->stats();
  ASSERT_GT(stats.wal_syncs, 0u);
  EXPECT_DOUBLE_EQ(metrics.queue_messages_per_fsync.Value(),
                   static_cast<double>(stats.commits) / static_cast<double>(stats.wal_syncs));
}

}  // namespace
}  // namespace mxgate::storage
