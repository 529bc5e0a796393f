#include "storage/reputation_store.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <random>
#include <thread>

#include "storage/record_codec.hpp"

namespace mxgate::storage {
namespace {

using reputation::Counters;
using reputation::Listing;
using reputation::ListingAction;
using reputation::Record;

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

class StoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-storage-test-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  ReputationStore& open(StoreOptions options = small_options()) {
    store_.reset();
    store_ = ReputationStore::open(dir_, options);
    return *store_;
  }
  static StoreOptions small_options() {
    StoreOptions options;
    options.block_cache_bytes = 8 << 20;
    return options;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ReputationStore> store_;
};

TEST_F(StoreTest, DataSurvivesRestart) {
  auto& store = open();
  const std::string key = ip_key(ip("192.0.2.7"));
  ASSERT_FALSE(store.add(Family::Ip, key, 100, Counters{.accepted = 2}, 8'640'000));
  ASSERT_FALSE(store.set_listing(Family::Ip, key, {ListingAction::Block, "spam", "manual", 1, 0}));
  ASSERT_FALSE(store.add(Family::SenderDomain, domain_key("Example.COM"), 100,
                         Counters{.rejected = 1}, 8'640'001));
  open();  // the destructor flushes the pending adds
  const auto record = store_->get(Family::Ip, key);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->days.at(0).counters.accepted, 2u);
  EXPECT_EQ(record->listing.reason, "spam");
  EXPECT_TRUE(store_->get(Family::SenderDomain, "example.com"));
  EXPECT_FALSE(store_->get(Family::AuthDomain, "example.com"));
}

TEST_F(StoreTest, ConcurrentAddsSumExactly) {
  auto& store = open();
  constexpr int kThreads = 4;
  constexpr int kAddsPerThread = 5000;
  constexpr int kKeys = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kAddsPerThread; ++i) {
        const std::string key = "d" + std::to_string(i % kKeys) + ".example";
        ASSERT_FALSE(store.add(Family::SenderDomain, key, 200 + (i / kKeys) % 2,
                               Counters{.accepted = 1, .complaints = 2}, 1000 + t));
        if (i % 700 == 0) {
          ASSERT_FALSE(store.flush());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_FALSE(store.flush());
  for (int k = 0; k < kKeys; ++k) {
    const auto record = store.get(Family::SenderDomain, "d" + std::to_string(k) + ".example");
    ASSERT_TRUE(record);
    ASSERT_EQ(record->days.size(), 2u);
    const std::uint32_t total =
        record->days[0].counters.accepted + record->days[1].counters.accepted;
    EXPECT_EQ(total, std::uint32_t{kThreads * kAddsPerThread / kKeys});
    EXPECT_EQ(record->days[0].counters.complaints, 2 * record->days[0].counters.accepted);
    EXPECT_EQ(record->first_seen, 1000);
    EXPECT_EQ(record->last_seen, 1000 + kThreads - 1);
  }
}

TEST_F(StoreTest, ListingSurvivesConcurrentCounterMerges) {
  auto& store = open();
  const std::string key = network_key(ip("198.51.100.9"), 24);
  std::atomic<bool> listed = false;
  std::thread counters([&] {
    for (int i = 0; i < 3000; ++i) {
      ASSERT_FALSE(store.add(Family::Network, key, 300, Counters{.deferred = 1}, 5));
      if (i % 100 == 0) {
        ASSERT_FALSE(store.flush());
      }
    }
  });
  std::thread listing([&] {
    for (int i = 0; i < 20; ++i) {
      ASSERT_FALSE(store.set_listing(Family::Network, key,
                                     {ListingAction::Allow, "r" + std::to_string(i), "t", i, 0}));
    }
    listed = true;
  });
  counters.join();
  listing.join();
  ASSERT_TRUE(listed);
  ASSERT_FALSE(store.flush());
  const auto record = store.get(Family::Network, key);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->days.at(0).counters.deferred, 3000u);
  EXPECT_EQ(record->listing.action, ListingAction::Allow);
  EXPECT_EQ(record->listing.reason, "r19");
  ASSERT_FALSE(store.clear_listing(Family::Network, key));
  EXPECT_EQ(store.get(Family::Network, key)->listing.action, ListingAction::None);
  EXPECT_EQ(store.get(Family::Network, key)->days.at(0).counters.deferred, 3000u);
}

TEST_F(StoreTest, DayWindowAndSeenTimes) {
  StoreOptions options = small_options();
  options.history_days = 3;
  auto& store = open(options);
  const std::string key = ip_key(ip("2001:db8::5"));
  for (std::uint32_t day : {6u, 8u}) {
    ASSERT_FALSE(store.add(Family::Ip, key, day, Counters{.accepted = 1}, day * 86400));
  }
  ASSERT_FALSE(store.flush());
  ASSERT_EQ(store.get(Family::Ip, key)->days.size(), 2u);
  ASSERT_FALSE(store.add(Family::Ip, key, 10, Counters{.accepted = 1}, 10 * 86400));
  ASSERT_FALSE(store.flush());
  const auto record = store.get(Family::Ip, key);
  ASSERT_EQ(record->days.size(), 2u);
  EXPECT_EQ(record->days[0].day, 8u);
  EXPECT_EQ(record->days[1].day, 10u);
  EXPECT_EQ(record->first_seen, 6 * 86400);
  EXPECT_EQ(record->last_seen, 10 * 86400);
}

TEST_F(StoreTest, ScoreEraseAndPendingLimit) {
  StoreOptions options = small_options();
  options.max_pending_adds = 2;
  auto& store = open(options);
  ASSERT_FALSE(store.set_score(Family::AuthDomain, "example.net", 4.5, 77));
  EXPECT_EQ(store.get(Family::AuthDomain, "example.net")->score, 4.5);
  EXPECT_FALSE(store.add(Family::AuthDomain, "a", 1, Counters{.accepted = 1}, 1));
  EXPECT_FALSE(store.add(Family::AuthDomain, "b", 1, Counters{.accepted = 1}, 1));
  EXPECT_EQ(store.add(Family::AuthDomain, "c", 1, Counters{.accepted = 1}, 1), Error::full);
  EXPECT_EQ(store.pending_adds(), 2u);
  EXPECT_EQ(store.dropped_adds(), 1u);
  ASSERT_FALSE(store.flush());
  EXPECT_EQ(store.pending_adds(), 0u);
  ASSERT_FALSE(store.erase(Family::AuthDomain, "example.net"));
  EXPECT_FALSE(store.get(Family::AuthDomain, "example.net"));
  EXPECT_TRUE(store.get(Family::AuthDomain, "a"));
}

std::vector<std::pair<std::string, Record>> ip_records(std::uint32_t count) {
  std::vector<std::pair<std::string, Record>> sorted;
  for (std::uint32_t i = 0; i < count; ++i) {
    const boost::asio::ip::address_v4 address(0x0a000000u + i * 2);  // 10.x, even addresses
    Record record;
    record.first_seen = i;
    record.days = {{500, Counters{.accepted = i}}};
    sorted.emplace_back(ip_key(address), record);
  }
  return sorted;
}

Record record_with_listing(std::string reason) {
  Record record;
  record.listing = {ListingAction::Allow, std::move(reason), "import:test", 1, 0};
  return record;
}

TEST_F(StoreTest, SstIngestThenLookupsAndMergesOnTop) {
  auto& store = open();
  constexpr std::uint32_t kCount = 100'000;
  ASSERT_FALSE(store.ingest(Family::Ip, ip_records(kCount)));
  EXPECT_NEAR(static_cast<double>(store.approximate_count(Family::Ip)), kCount, kCount * 0.1);
  for (std::uint32_t i = 0; i < kCount; i += 997) {
    const auto record =
        store.get(Family::Ip, ip_key(boost::asio::ip::address_v4(0x0a000000u + i * 2)));
    ASSERT_TRUE(record) << i;
    EXPECT_EQ(record->days.at(0).counters.accepted, i);
  }
  EXPECT_FALSE(store.get(Family::Ip, ip_key(boost::asio::ip::address_v4(0x0a000001u))));
  const std::string key = ip_key(boost::asio::ip::address_v4(0x0a000000u + 20));
  ASSERT_FALSE(store.add(Family::Ip, key, 500, Counters{.accepted = 5}, 1));
  ASSERT_FALSE(store.flush());
  EXPECT_EQ(store.get(Family::Ip, key)->days.at(0).counters.accepted, 15u);
  EXPECT_EQ(store.get(Family::Ip, key)->first_seen, 1);

  std::uint64_t visited = 0;
  std::string previous;
  ASSERT_FALSE(store.for_each(Family::Ip, [&](std::string_view k, const Record&) {
    EXPECT_LT(previous, k);
    previous = k;
    return ++visited < kCount + 1;
  }));
  EXPECT_EQ(visited, kCount);
  EXPECT_EQ(key_to_text(Family::Ip, previous), "10.3.13.62");  // 10.0.0.0 + 2 * 99'999
}

TEST_F(StoreTest, SstBuilderRejectsUnorderedKeys) {
  auto& store = open();
  auto builder = store.make_sst_builder(Family::Ip, dir_ / "x.sst");
  ASSERT_TRUE(builder);
  EXPECT_FALSE((*builder)->add("b", Record{}));
  EXPECT_TRUE((*builder)->add("a", Record{}));
  EXPECT_EQ((*builder)->count(), 1u);
}

TEST_F(StoreTest, TryGetNeverNeedsDiskForAbsentKeysAndHitsAfterWarming) {
  auto& store = open();
  ASSERT_FALSE(store.ingest(Family::Ip, ip_records(20'000)));
  auto block_cache_only = small_options();
  block_cache_only.record_cache_bytes = 0;
  open(block_cache_only);  // a fresh block cache
  const std::string present = ip_key(boost::asio::ip::address_v4(0x0a000000u + 4000));
  Record record;
  const Lookup cold = store_->try_get(Family::Ip, present, record);
  EXPECT_TRUE(cold == Lookup::NotCached || cold == Lookup::Found);
  const std::uint64_t misses = store_->cache_misses();
  EXPECT_EQ(store_->read(Family::Ip, present, record), Lookup::Found);
  EXPECT_GT(store_->cache_misses(), misses);
  EXPECT_EQ(store_->try_get(Family::Ip, present, record), Lookup::Found);
  EXPECT_EQ(record.days.at(0).counters.accepted, 2000u);
  EXPECT_GT(store_->cache_hits(), 0u);

  int missing = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) {  // absent: 192.168.x.y; the bloom filter answers
    const std::string absent = ip_key(boost::asio::ip::address_v4(0xc0a80000u + i));
    const Lookup state = store_->try_get(Family::Ip, absent, record);
    EXPECT_NE(state, Lookup::Found);
    missing += state == Lookup::Missing;
  }
  EXPECT_GE(missing, 950);
}

// Every kind of write reaches the next read although the first read cached the record.
TEST_F(StoreTest, RecordCacheStaysExactAcrossWrites) {
  auto& store = open();
  const auto address = ip("198.51.100.9");
  const std::string key = ip_key(address);
  Record record;
  EXPECT_EQ(store.try_get(Family::Ip, key, record), Lookup::Missing);
  EXPECT_EQ(store.get_connect(address).ip.state, Lookup::Missing);

  ASSERT_FALSE(store.add(Family::Ip, key, 7, Counters{.accepted = 1}, 1));
  EXPECT_EQ(store.try_get(Family::Ip, key, record), Lookup::Missing) << "not flushed yet";
  ASSERT_FALSE(store.flush());
  ASSERT_EQ(store.try_get(Family::Ip, key, record), Lookup::Found);
  EXPECT_EQ(record.days.at(0).counters.accepted, 1u);

  ASSERT_FALSE(store.set_listing(Family::Ip, key, {ListingAction::Block, "spam", "manual", 1, 0}));
  EXPECT_EQ(store.try_get_connect(address).ip.record.listing.action, ListingAction::Block);
  ASSERT_FALSE(store.clear_listing(Family::Ip, key));
  EXPECT_EQ(store.get_connect(address).ip.record.listing.action, ListingAction::None);
  ASSERT_FALSE(store.set_score(Family::Ip, key, 4.5, 2));
  ASSERT_EQ(store.read(Family::Ip, key, record), Lookup::Found);
  EXPECT_EQ(record.score, 4.5);

  ASSERT_FALSE(store.erase(Family::Ip, key));
  EXPECT_EQ(store.try_get(Family::Ip, key, record), Lookup::Missing);

  Record imported = record_with_listing("imported");
  ASSERT_FALSE(store.ingest(Family::Ip, {{key, imported}}));
  ASSERT_EQ(store.read(Family::Ip, key, record), Lookup::Found);
  EXPECT_EQ(record.listing.reason, "imported");
  EXPECT_GT(store.record_cache_hits(), 0u);
  EXPECT_GT(store.record_cache_misses(), 0u);
}

TEST_F(StoreTest, ConnectLookupReturnsIpAndNetworks) {
  auto& store = open();
  const auto v4 = ip("192.0.2.7");
  ASSERT_FALSE(store.add(Family::Ip, ip_key(v4), 1, Counters{.accepted = 1}, 1));
  ASSERT_FALSE(store.add(Family::Network, network_key(v4, 24), 1, Counters{.rejected = 3}, 1));
  const auto v6 = ip("2001:db8:1:2:3::9");
  ASSERT_FALSE(store.set_listing(Family::Network, network_key(v6, 48),
                                 {ListingAction::Block, "hoster", "manual", 1, 0}));
  ASSERT_FALSE(store.flush());

  const ConnectLookup a = store.get_connect(v4);
  EXPECT_EQ(a.ip.state, Lookup::Found);
  ASSERT_EQ(a.networks.size(), 1u);
  EXPECT_EQ(a.networks[0].record.days.at(0).counters.rejected, 3u);
  const ConnectLookup b = store.try_get_connect(v6);
  EXPECT_TRUE(b.complete());
  EXPECT_EQ(b.ip.state, Lookup::Missing);
  ASSERT_EQ(b.networks.size(), 2u);
  EXPECT_EQ(b.networks[0].state, Lookup::Found);
  EXPECT_EQ(b.networks[0].record.listing.reason, "hoster");
  EXPECT_EQ(b.networks[1].state, Lookup::Missing);
  EXPECT_EQ(key_to_text(Family::Network, b.networks[1].key), "2001:db8:1:2::/64");
}

TEST_F(StoreTest, ReadOnlyOpen) {
  open();
  ASSERT_FALSE(store_->set_listing(Family::SenderDomain, "bad.example",
                                   {ListingAction::Block, "x", "manual", 1, 0}));
  store_.reset();
  StoreOptions options = small_options();
  options.read_only = true;
  auto& store = open(options);
  EXPECT_EQ(store.get(Family::SenderDomain, "bad.example")->listing.reason, "x");
  EXPECT_EQ(store.add(Family::SenderDomain, "bad.example", 1, {}, 1), Error::read_only);
  EXPECT_EQ(store.set_score(Family::SenderDomain, "bad.example", 1, 1), Error::read_only);
  EXPECT_EQ(store.flush(), Error::read_only);
}

TEST_F(StoreTest, OpenFailureNamesThePath) {
  StoreOptions options = small_options();
  options.read_only = true;
  try {
    ReputationStore::open(dir_ / "missing", options);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  options.read_only = false;
  options.v4_network_prefixes = {33};
  EXPECT_THROW(ReputationStore::open(dir_, options), std::runtime_error);
}

TEST_F(StoreTest, WithoutCreateIfMissingAMissingStoreIsRefusedAndNothingIsMade) {
  StoreOptions options = small_options();
  options.create_if_missing = false;
  EXPECT_FALSE(database_exists(dir_ / "missing"));
  EXPECT_THROW(ReputationStore::open(dir_ / "missing", options), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing"));
  std::filesystem::create_directories(dir_ / "empty");  // a folder, but no store in it
  EXPECT_THROW(ReputationStore::open(dir_ / "empty", options), std::runtime_error);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "empty"));

  ReputationStore::open(dir_ / "made", small_options());  // as the server's first start
  EXPECT_TRUE(database_exists(dir_ / "made"));
  EXPECT_NE(ReputationStore::open(dir_ / "made", options), nullptr);
}

// A store made before issue 17 has four record families (and "state", "docs"): it opens, keeps
// its data, and gains the linked-domain families; read-only, it opens without them.
TEST_F(StoreTest, AStoreWithFourFamiliesOpensAndKeepsItsData) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors{
        {rocksdb::kDefaultColumnFamilyName, options}};
    for (const char* name : {"ip", "network", "sender_domain", "auth_domain", "state", "docs"}) {
      descriptors.emplace_back(name, options);
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.string(), descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    Record record;
    record.listing = {ListingAction::Block, "old", "cli", 5, 0};
    ASSERT_TRUE(db->Put({}, handles[1], ip_key(ip("192.0.2.7")), encode_record(record)).ok());
    ASSERT_TRUE(db->Put({}, handles[6], "delist:192.0.2.7", "doc").ok());
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    ASSERT_TRUE(db->Close().ok());
  }
  StoreOptions read_only = small_options();
  read_only.read_only = true;
  {
    auto& store = open(read_only);
    EXPECT_EQ(store.get(Family::Ip, ip_key(ip("192.0.2.7")))->listing.reason, "old");
    EXPECT_FALSE(store.get(Family::LinkedDomain, "evil.example"));
    EXPECT_EQ(store.approximate_count(Family::LinkedDomain), 0u);
    EXPECT_FALSE(store.for_each(Family::LinkedDomain, [](auto, const auto&) { return true; }));
    EXPECT_FALSE(store.linked_domain_note(ip_key(ip("192.0.2.7"))));
  }
  auto& store = open();
  EXPECT_EQ(store.get(Family::Ip, ip_key(ip("192.0.2.7")))->listing.reason, "old");
  EXPECT_EQ(store.get_doc("delist:192.0.2.7"), "doc");
  ASSERT_FALSE(store.set_listing(Family::LinkedDomain, "evil.example",
                                 {ListingAction::Block, "malware", "cli", 6, 0}));
  ASSERT_FALSE(store.note_linked_domain(ip_key(ip("192.0.2.7")),
                                        {"evil.example", "uri:evil.example", "malware", 7}));
  open(read_only);
  EXPECT_EQ(store_->get(Family::LinkedDomain, "evil.example")->listing.reason, "malware");
  EXPECT_EQ(store_->linked_domain_note(ip_key(ip("192.0.2.7")))->listed_by, "uri:evil.example");
}

TEST_F(StoreTest, LinkedDomainNotesAreQueuedUntilFlushAndTheLatestWins) {
  auto& store = open();
  const std::string key = ip_key(ip("198.51.100.9"));
  EXPECT_FALSE(store.linked_domain_note(key));
  ASSERT_FALSE(store.note_linked_domain(key, {"evil.example", "uri:evil.example", "m", 100}));
  EXPECT_EQ(store.pending_adds(), 1u);
  EXPECT_FALSE(store.linked_domain_note(key));  // queued: no I/O until the flush
  ASSERT_FALSE(store.flush());
  auto note = store.linked_domain_note(key);
  ASSERT_TRUE(note);
  EXPECT_EQ(note->domain, "evil.example");
  EXPECT_EQ(note->at, 100);
  ASSERT_FALSE(store.note_linked_domain(key, {"bad.example", "dbl.example.net", "127.0.1.2", 200}));
  // Counters queued in the same batch after a note still reach the record cache's invalidation.
  ASSERT_FALSE(store.add(Family::Ip, key, 1, Counters{.rejected = 1}, 200));
  ASSERT_FALSE(store.flush());
  note = store.linked_domain_note(key);
  EXPECT_EQ(note->domain, "bad.example");
  EXPECT_EQ(note->listed_by, "dbl.example.net");
  EXPECT_EQ(note->reason, "127.0.1.2");
  EXPECT_EQ(store.get(Family::Ip, key)->days.at(0).counters.rejected, 1u);
  open();  // survives a restart
  EXPECT_EQ(store_->linked_domain_note(key)->at, 200);
}

TEST_F(StoreTest, NoteQueueSharesThePendingLimit) {
  StoreOptions options = small_options();
  options.max_pending_adds = 1;
  auto& store = open(options);
  EXPECT_FALSE(store.note_linked_domain("a", {"x.example", "uri:x.example", "", 1}));
  EXPECT_EQ(store.note_linked_domain("b", {"x.example", "uri:x.example", "", 1}), Error::full);
  EXPECT_EQ(store.dropped_adds(), 1u);
}

TEST(LinkedNote, CodecCapsTextsAndRefusesGarbage) {
  LinkedDomainNote note{std::string(300, 'd'), std::string(600, 'b'), "caf\xc3\xa9", 1234};
  note.reason = std::string(kMaxNoteText - 1, 'r') + "\xc3\xa9";  // a 2-byte char across the cap
  const auto decoded = decode_note(encode_note(note));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->domain.size(), kMaxNoteDomain);
  EXPECT_EQ(decoded->listed_by.size(), kMaxNoteText);
  EXPECT_EQ(decoded->reason, std::string(kMaxNoteText - 1, 'r'));
  EXPECT_EQ(decoded->at, 1234);
  const std::string bytes = encode_note({"a.example", "uri:a.example", "why", -5});
  EXPECT_EQ(decode_note(bytes)->at, -5);
  EXPECT_FALSE(decode_note(""));
  EXPECT_FALSE(decode_note(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(decode_note(bytes + "x"));
  EXPECT_FALSE(decode_note("\x02" + bytes.substr(1)));
}

TEST(LinkedNote, ShownForAWeek) {
  const std::int64_t now = 1'800'000'000;
  EXPECT_TRUE(linked_domain_note_shown({"a", "b", "c", now}, now));
  EXPECT_TRUE(linked_domain_note_shown({"a", "b", "c", now - kLinkedDomainNoteSeconds}, now));
  EXPECT_FALSE(linked_domain_note_shown({"a", "b", "c", now - kLinkedDomainNoteSeconds - 1}, now));
  EXPECT_FALSE(linked_domain_note_shown({"a", "b", "c", now + 2 * 86400}, now));
  EXPECT_FALSE(linked_domain_note_shown({"a", "b", "c", 0}, now));
}

// --- DMARC aggregate report rows (dmarc_rows.hpp) -------------------------------------------

TEST(DmarcRows, KeysSortByPeriodThenDomainAndParseBack) {
  const std::string policy = dmarc_key(86'400, "example.com", DmarcEntry::Policy);
  const std::string row = dmarc_key(86'400, "example.com", DmarcEntry::Row, "row\x1f" "bytes");
  EXPECT_LT(policy, row);  // a domain's policy comes before its rows
  EXPECT_LT(dmarc_key(86'400, "z.example", DmarcEntry::Row, "r"),
            dmarc_key(2 * 86'400, "a.example", DmarcEntry::Policy));
  EXPECT_TRUE(row.starts_with(dmarc_period_prefix(86'400)));
  const auto parsed = parse_dmarc_key(row);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->begin, 86'400);
  EXPECT_EQ(parsed->domain, "example.com");
  EXPECT_EQ(parsed->entry, DmarcEntry::Row);
  EXPECT_EQ(parsed->row, "row\x1f" "bytes");
  EXPECT_EQ(parse_dmarc_key(policy)->entry, DmarcEntry::Policy);
  for (std::size_t n = 0; n < row.size(); ++n) {
    const auto cut = parse_dmarc_key(row.substr(0, n));  // every prefix: nothing or a key
    if (cut) {
      EXPECT_EQ(cut->entry, DmarcEntry::Row);
    }
  }
  EXPECT_FALSE(parse_dmarc_key(policy + "x"));                       // a policy has no row
  EXPECT_FALSE(parse_dmarc_key(dmarc_period_prefix(1) + std::string("\0P", 2)));  // no domain
  EXPECT_EQ(decode_count(encode_count(123456789012345)), 123456789012345u);
  EXPECT_EQ(decode_count("short"), 0u);
}

TEST_F(StoreTest, DmarcRowsAddUpThePolicyIsReplacedAndPeriodsAreErased) {
  auto& store = open();
  const std::string row = dmarc_key(100, "example.com", DmarcEntry::Row, "r1");
  const std::string policy = dmarc_key(100, "example.com", DmarcEntry::Policy);
  ASSERT_FALSE(store.add_dmarc(policy, "p=none", DmarcEntry::Policy));
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(store.add_dmarc(row, encode_count(2), DmarcEntry::Row));
  ASSERT_FALSE(store.add_dmarc(policy, "p=reject", DmarcEntry::Policy));
  ASSERT_FALSE(store.add_dmarc(dmarc_key(200, "example.com", DmarcEntry::Row, "r1"),
                               encode_count(1), DmarcEntry::Row));
  std::vector<std::pair<std::string, std::string>> seen;
  auto collect = [&](std::string_view key, std::string_view value) {
    seen.emplace_back(key, value);
    return true;
  };
  ASSERT_FALSE(store.for_each_dmarc(dmarc_period_prefix(100), collect));
  EXPECT_TRUE(seen.empty()) << "queued until the flush";
  ASSERT_FALSE(store.flush());
  ASSERT_FALSE(store.add_dmarc(row, encode_count(4), DmarcEntry::Row));  // merges across flushes
  ASSERT_FALSE(store.flush());
  ASSERT_FALSE(store.for_each_dmarc(dmarc_period_prefix(100), collect));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(policy, std::string("p=reject")));
  EXPECT_EQ(seen[1].first, row);
  EXPECT_EQ(decode_count(seen[1].second), 10u);
  ASSERT_FALSE(store.erase_dmarc_before(101));
  open();  // and survives a restart
  seen.clear();
  ASSERT_FALSE(store_->for_each_dmarc({}, collect));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(parse_dmarc_key(seen[0].first)->begin, 200);
}

TEST_F(StoreTest, DmarcRowsShareThePendingLimit) {
  StoreOptions options = small_options();
  options.max_pending_adds = 1;
  auto& store = open(options);
  EXPECT_FALSE(store.add_dmarc(dmarc_key(1, "a.example", DmarcEntry::Row, "r"), encode_count(1),
                               DmarcEntry::Row));
  EXPECT_EQ(store.add_dmarc(dmarc_key(1, "a.example", DmarcEntry::Row, "r"), encode_count(1),
                            DmarcEntry::Row),
            Error::full);
}

}  // namespace
}  // namespace mxgate::storage
