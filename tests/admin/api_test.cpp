// The admin API on a real http::Server (loopback, port 0) over a real store in a temp folder,
// driven by http::Client, the client `mxgate rep` uses: what a script or the tool would see.
#include "admin/api.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "admin/rep_bulk.hpp"
#include "admin/token.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "postmaster/arf.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using reputation::ListingAction;
using storage::Family;

constexpr std::chrono::seconds kTimeout{10};
constexpr const char* kForm = "application/x-www-form-urlencoded";
constexpr const char* kToken = "0123456789abcdef0123456789abcdef";

class AdminApiTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("mxgate-admin-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir_);
    options_.block_cache_bytes = 8 << 20;
    store_ = storage::ReputationStore::open(dir_ / "store", options_);
  }

  void start(http::Limits limits = {}, bool admin = true) {
    server_ = std::make_unique<http::Server>(
        io_, conf::HostPort{"127.0.0.1", 0}, std::make_shared<prometheus::Registry>(),
        [] { return true; }, limits);
    if (admin) {
      auto api = std::make_shared<admin::Api>(*store_);
      api->set_token(kToken);
      server_->add(std::move(api));
    }
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] { server_->stop(); });
      thread_.join();
    }
    server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  http::ClientReply call(beast::http::verb method, const std::string& target,
                         const std::string& body = {}) {
    return http::Client({"127.0.0.1", server_->port()}, kToken)
        .request(method, target, body, kForm, kTimeout);
  }

  std::string key(const char* text) {
    std::string error;
    return postmaster::parse_target(text, options_, error)->key;
  }

  std::filesystem::path dir_;
  storage::StoreOptions options_;
  std::unique_ptr<storage::ReputationStore> store_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

TEST_F(AdminApiTest, PutGetAndDeleteARecord) {
  start();
  auto put = call(beast::http::verb::put, "/admin/rep/192.0.2.7",
                  "action=block&reason=spam+trap%2C+hits&expires=7d&source=ops");
  ASSERT_EQ(put.status, 200u) << put.body << put.error;
  EXPECT_EQ(put.body, "192.0.2.7 blocked\n");
  const auto record = store_->get(Family::Ip, key("192.0.2.7"));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->listing.reason, "spam trap, hits");
  EXPECT_EQ(record->listing.source, "ops");
  EXPECT_GT(record->listing.expires, record->listing.created);

  auto get = call(beast::http::verb::get, "/admin/rep/192.0.2.7");
  EXPECT_EQ(get.status, 200u);
  EXPECT_NE(get.body.find("listing    block reason=\"spam trap, hits\" source=ops"),
            std::string::npos)
      << get.body;

  EXPECT_EQ(call(beast::http::verb::delete_, "/admin/rep/192.0.2.7").body, "192.0.2.7 deleted\n");
  auto gone = call(beast::http::verb::get, "/admin/rep/192.0.2.7");
  EXPECT_EQ(gone.status, 404u);
  EXPECT_EQ(gone.body, "192.0.2.7\n  no record\n");
  auto again = call(beast::http::verb::delete_, "/admin/rep/192.0.2.7");
  EXPECT_EQ(again.status, 404u);
  EXPECT_EQ(again.body, "no record for 192.0.2.7, nothing deleted\n");
}

TEST_F(AdminApiTest, ALinkedDomainIsListedReadAndDeletedByItsUriTarget) {
  start();
  auto put = call(beast::http::verb::put, "/admin/rep/uri:Evil.Example",
                  "action=block&reason=malware+host");
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(put.body, "uri:evil.example blocked\n");
  EXPECT_EQ(store_->get(Family::LinkedDomain, "evil.example")->listing.reason, "malware host");
  auto get = call(beast::http::verb::get, "/admin/rep/uri:evil.example");
  EXPECT_EQ(get.status, 200u);
  EXPECT_TRUE(get.body.starts_with("uri:evil.example\n")) << get.body;
  EXPECT_NE(get.body.find("listing    block reason=\"malware host\" source=admin-api"),
            std::string::npos)
      << get.body;
  EXPECT_EQ(get.body.find("ramp"), std::string::npos) << get.body;
  EXPECT_EQ(call(beast::http::verb::delete_, "/admin/rep/uri:evil.example").body,
            "uri:evil.example deleted\n");
  EXPECT_EQ(call(beast::http::verb::get, "/admin/rep/uri:evil.example").status, 404u);
}

TEST_F(AdminApiTest, GetOfAnAddressShowsItsNetworksListing) {
  start();
  ASSERT_EQ(
      call(beast::http::verb::put, "/admin/rep/198.51.100.0/24", "action=block&reason=x").status,
      200u);
  auto get = call(beast::http::verb::get, "/admin/rep/198.51.100.9");
  EXPECT_EQ(get.status, 404u);  // no record of its own
  EXPECT_TRUE(
      get.body.starts_with("198.51.100.9\n  no record of its own\n  network    "
                           "198.51.100.0/24 block reason=\"x\" source=admin-api since "))
      << get.body;
  EXPECT_NE(get.body.find("(applies at connect)"), std::string::npos) << get.body;
}

TEST_F(AdminApiTest, NetworksMayBePercentEncodedAndActionNoneUnlists) {
  start();
  EXPECT_EQ(call(beast::http::verb::put, "/admin/rep/198.51.100.0%2F24", "action=allow").body,
            "198.51.100.0/24 allowed\n");
  EXPECT_EQ(call(beast::http::verb::put, "/admin/rep/198.51.100.0/24", "action=none").body,
            "198.51.100.0/24 no longer allowed; its counters and history are kept\n");
  const auto nothing = call(beast::http::verb::put, "/admin/rep/192.0.2.0/24", "action=none");
  EXPECT_EQ(nothing.status, 404u);
  EXPECT_EQ(nothing.body, "no record for 192.0.2.0/24, nothing to clear\n");
  EXPECT_EQ(store_->get(Family::Network, key("198.51.100.0/24"))->listing.action,
            ListingAction::None);
}

TEST_F(AdminApiTest, BadRequestsSayWhy) {
  start();
  struct Case {
    beast::http::verb method;
    const char* target;
    const char* body;
    unsigned status;
    const char* reply;
  };
  for (const Case& c : {
           Case{beast::http::verb::get, "/admin/rep/mail.example.com", "", 400,
                "'mail.example.com' is not an IP address or a network\n"},
           Case{beast::http::verb::put, "/admin/rep/10.0.0.0/8", "action=block", 400,
                "'10.0.0.0/8': networks are looked up as /24 (IPv4) and /48 or /64 (IPv6); list "
                "each of those instead\n"},
           Case{beast::http::verb::put, "/admin/rep/192.0.2.1", "reason=x", 400,
                "the form needs action=block, allow or none\n"},
           Case{beast::http::verb::put, "/admin/rep/192.0.2.1", "action=deny", 400,
                "action 'deny': expected block, allow or none\n"},
           Case{beast::http::verb::put, "/admin/rep/192.0.2.1", "action=block&expires=soon", 400,
                "expiry 'soon': expected empty (never), a duration (7d, 12h, 30m, 90s), an RFC "
                "3339 time (2026-12-31T00:00:00Z) or Unix seconds\n"},
           Case{beast::http::verb::put, "/admin/rep/192.0.2.1", "action=block&colour=red", 400,
                "unknown field 'colour' (action, reason, expires, source)\n"},
           Case{beast::http::verb::put, "/admin/rep/192.0.2.1", "action=block&reason=%zz", 400,
                "bad percent-encoding in the form\n"},
           Case{beast::http::verb::post, "/admin/rep/192.0.2.1", "", 405, "method not allowed\n"},
           Case{beast::http::verb::get, "/admin/rep/ingest", "", 405, "method not allowed\n"},
           Case{beast::http::verb::post, "/admin/rep/ingest", "ip relative.sst", 400,
                "line 1: expected \"ip|network|sender_domain|linked_domain "
                "/absolute/path.sst\"\n"},
           Case{beast::http::verb::post, "/admin/rep/ingest", "", 400, "no files to ingest\n"},
           Case{beast::http::verb::get, "/admin/rep/export?family=sender", "", 400,
                "expected ?family=ip, network, domain, uri or all\n"},
           Case{beast::http::verb::get, "/admin/rep/uri:www", "", 400,
                "'www' is not a domain name or an IP address\n"},
           Case{beast::http::verb::get, "/admin/other", "", 404, "not found\n"},
           Case{beast::http::verb::get, "/admin/rep/", "", 404, "not found\n"},
       }) {
    auto reply = call(c.method, c.target, c.body);
    EXPECT_EQ(reply.status, c.status) << c.target << " " << c.body;
    EXPECT_EQ(reply.body, c.reply) << c.target << " " << c.body;
  }
}

TEST_F(AdminApiTest, ExportStreamsTheActiveListings) {
  start();
  const std::int64_t now = postmaster::wall_seconds();
  ASSERT_FALSE(store_->set_listing(Family::Ip, key("192.0.2.1"),
                                   {ListingAction::Block, "a, b", "cli", now, 0}));
  ASSERT_FALSE(store_->set_listing(Family::Ip, key("192.0.2.2"),
                                   {ListingAction::Block, "old", "cli", now, now - 10}));
  ASSERT_FALSE(store_->set_listing(Family::Network, key("2001:db8::/48"),
                                   {ListingAction::Allow, "", "feed", now, 0}));
  const auto path = dir_ / "export.csv";
  std::FILE* out = std::fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  const auto reply = http::Client({"127.0.0.1", server_->port()}, kToken)
                         .fetch_to("/admin/rep/export?family=all", out, kTimeout);
  std::fclose(out);
  ASSERT_EQ(reply.status, 200u) << reply.error;
  EXPECT_EQ(reply.error, "");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.substr(text.find('\n', text.find('\n') + 1) + 1),
            "192.0.2.1,block,\"a, b\",,cli\n2001:db8::/48,allow,,,feed\n");
}

TEST_F(AdminApiTest, ExportOfDomainFamilies) {
  start();
  const std::int64_t now = postmaster::wall_seconds();
  ASSERT_FALSE(store_->set_listing(Family::Ip, key("192.0.2.1"),
                                   {ListingAction::Block, "ip", "cli", now, 0}));
  ASSERT_FALSE(store_->set_listing(Family::SenderDomain, "spam.example",
                                   {ListingAction::Block, "sender", "cli", now, 0}));
  ASSERT_FALSE(store_->set_listing(Family::LinkedDomain, "evil.example",
                                   {ListingAction::Block, "linked", "cli", now, 0}));
  auto body = [&](const std::string& family) {
    const auto path = dir_ / ("export-" + family + ".csv");
    std::FILE* out = std::fopen(path.c_str(), "w");
    EXPECT_NE(out, nullptr);
    const auto reply = http::Client({"127.0.0.1", server_->port()}, kToken)
                           .fetch_to("/admin/rep/export?family=" + family, out, kTimeout);
    std::fclose(out);
    EXPECT_EQ(reply.status, 200u) << reply.error;
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.substr(text.find('\n', text.find('\n') + 1) + 1);
  };
  EXPECT_EQ(body("uri"), "uri:evil.example,block,linked,,cli\n");
  EXPECT_EQ(body("domain"), "domain:spam.example,block,sender,,cli\n");
  EXPECT_EQ(body("all"),
            "192.0.2.1,block,ip,,cli\ndomain:spam.example,block,sender,,cli\n"
            "uri:evil.example,block,linked,,cli\n");
}

TEST_F(AdminApiTest, IngestCopiesTheFilesInOrder) {
  start();
  WorkDir work(dir_);
  std::ofstream(dir_ / "feed.csv") << "192.0.2.1,block,first\n192.0.2.1,block,second\n"
                                      "198.51.100.0/24,block,net\nuri:evil.example,block,uri\n";
  const auto report =
      read_feed((dir_ / "feed.csv").string(),
                FeedOptions{options_, postmaster::wall_seconds(), "import:feed", work.path(), 1});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report.files.size(), 4u);
  std::string body;
  for (const auto& file : report.files) {
    body += std::string(storage::family_name(file.family)) + " " + file.path.string() + "\n";
  }
  auto reply = call(beast::http::verb::post, "/admin/rep/ingest", body);
  EXPECT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.body, "ingested 4 files\n");
  EXPECT_TRUE(std::filesystem::exists(report.files[0].path));  // copied, not moved
  EXPECT_EQ(store_->get(Family::Ip, key("192.0.2.1"))->listing.reason, "second");
  EXPECT_EQ(store_->get(Family::Network, key("198.51.100.0/24"))->listing.reason, "net");
  EXPECT_EQ(store_->get(Family::LinkedDomain, "evil.example")->listing.reason, "uri");

  auto missing = call(beast::http::verb::post, "/admin/rep/ingest", "ip /nonexistent/x.sst\n");
  EXPECT_EQ(missing.status, 500u);
  EXPECT_EQ(missing.body.rfind("ingested 0 of 1 files, then: ", 0), 0u) << missing.body;
}

TEST_F(AdminApiTest, ABodyOverTheLimitIsRefused) {
  start();  // the admin API's own limit: room for a complaint report
  auto reply = call(beast::http::verb::put, "/admin/rep/192.0.2.1",
                    "action=block&reason=" + std::string(postmaster::kMaxArfBytes, 'x'));
  EXPECT_EQ(reply.status, 413u);
}

TEST_F(AdminApiTest, WithoutAnAdminApiTheRoutesAreUnknown) {
  start({}, false);
  EXPECT_EQ(call(beast::http::verb::get, "/admin/rep/192.0.2.1").status, 404u);
  EXPECT_EQ(call(beast::http::verb::delete_, "/admin/rep/192.0.2.1").status, 405u);
}

TEST_F(AdminApiTest, ARequestWithoutTheTokenOrWithAnotherGets401) {
  start();
  for (const std::string token : {"", "0123456789abcdef0123456789abcdeX", "short"}) {
    const auto reply =
        http::Client({"127.0.0.1", server_->port()}, token)
            .request(beast::http::verb::get, "/admin/rep/192.0.2.1", "", kForm, kTimeout);
    EXPECT_EQ(reply.status, 401u) << token;
    EXPECT_NE(reply.body.find("Authorization: Bearer"), std::string::npos);
  }
  EXPECT_EQ(call(beast::http::verb::get, "/admin/rep/192.0.2.1").status, 404u);  // no record
}

TEST(AdminToken, ComparesWholeTokens) {
  EXPECT_TRUE(same_token("abcdef", "abcdef"));
  EXPECT_FALSE(same_token("abcdef", "abcdeg"));
  EXPECT_FALSE(same_token("abcdef", "abcde"));
  EXPECT_FALSE(same_token("abcde", "abcdef"));
  EXPECT_FALSE(same_token("", "a"));
}

TEST(AdminApiPeers, OnlyLoopbackIsAllowed) {
  for (const char* peer : {"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(admin::Api::allowed_peer(asio::ip::make_address(peer))) << peer;
  }
  for (const char* peer :
       {"10.0.0.1", "192.0.2.1", "::ffff:10.0.0.1", "2001:db8::1", "::", "0.0.0.0"}) {
    EXPECT_FALSE(admin::Api::allowed_peer(asio::ip::make_address(peer))) << peer;
  }
}

}  // namespace
}  // namespace mxgate::admin
