// AresResolver against the in-test DNS server on 127.0.0.1: answers with TTLs and CNAME
// chains, NXDOMAIN, NODATA, SERVFAIL, REFUSED, malformed replies, TCP after a truncated UDP
// reply, a silent server (Timeout within the configured time while another query answers),
// the bound on queries in flight, and destruction with queries pending. Each run is bounded.
#include "dns/ares_resolver.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>

#include "dns/metrics.hpp"
#include "tests/dns/fake_dns_server.hpp"

namespace mxgate::dns {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace testing;
using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kA = 1, kCname = 5, kSoa = 6, kTxt = 16, kMx = 15;

std::string big_text() { return std::string(200, 'x'); }

// The zone the fake server knows; names outside it are NXDOMAIN.
std::optional<Bytes> script(const Message& query, Transport transport) {
  const Question& q = query.questions.front();
  const auto type = static_cast<std::uint16_t>(q.type);
  const Rr soa{"test", kSoa, 3600, soa_rdata(300)};
  if (q.name == "a.test" && type == kA) {
    return answer_query(
        query, 0,
        {{"a.test", kA, 300, a_rdata(192, 0, 2, 1)}, {"a.test", kA, 200, a_rdata(192, 0, 2, 2)}});
  }
  if (q.name == "a.test") return answer_query(query, 0, {}, {soa});  // NODATA
  if (q.name == "www.test" && type == kA) {
    return answer_query(query, 0,
                        {{"www.test", kCname, 60, name_rdata("a.test")},
                         {"a.test", kA, 300, a_rdata(192, 0, 2, 1)}});
  }
  if (q.name == "mx.test" && type == kMx) {
    return answer_query(query, 0,
                        {{"mx.test", kMx, 300, mx_rdata(20, "b.mx.test")},
                         {"mx.test", kMx, 300, mx_rdata(10, "a.mx.test")}});
  }
  if (q.name == "spf.test" && type == kTxt) {
    return answer_query(query, 0, {{"spf.test", kTxt, 300, txt_rdata({"v=spf1 ", "-all"})}});
  }
  if (q.name == "big.test" && type == kTxt) {
    if (transport == Transport::Udp) return answer_query(query, 0, {}, {}, true);  // TC
    std::vector<Rr> answers;
    for (int i = 0; i < 10; ++i) {
      answers.push_back({"big.test", kTxt, 300, txt_rdata({big_text(), big_text()})});
    }
    return answer_query(query, 0, std::move(answers));
  }
  if (q.name == "7.2.0.192.in-addr.arpa") {
    return answer_query(query, 0, {{q.name, 12, 300, name_rdata("mail.example.test")}});
  }
  if (q.name == "fail.test") return answer_query(query, 2);
  if (q.name == "refused.test") return answer_query(query, 5);
  if (q.name == "bad.test") {  // an A record of 3 octets
    return answer_query(query, 0, {{"bad.test", kA, 300, {1, 2, 3}}});
  }
  if (q.name == "silent.test") return std::nullopt;
  if (q.name == "old.test") {  // a server from before EDNS (RFC 6891 §7): FORMERR, no OPT
    if (query.header.arcount > 0) return answer_query(query, 1);
    return answer_query(query, 0, {{"old.test", kA, 60, a_rdata(192, 0, 2, 60)}});
  }
  return answer_query(query, 3, {}, {soa});
}

asio::awaitable<Response> ask(Resolver& resolver, std::string name, RecordType type) {
  Response response = co_await resolver.query(std::move(name), type);
  co_return response;
}

struct Harness {
  explicit Harness(AresSettings settings = {}) : server(context, script) {
    settings.servers = {server.address()};
    if (settings.timeout == AresSettings{}.timeout) settings.timeout = 1000ms;
    resolver.emplace(context.get_executor(), settings, &metrics);
  }
  ~Harness() { resolver.reset(); }

  struct Done {
    Response response;
    Clock::duration elapsed{};
  };

  // Starts a lookup; its result lands in `done` under `name`.
  void spawn(const std::string& name, RecordType type = RecordType::A) {
    const Clock::time_point start = Clock::now();
    asio::co_spawn(context, ask(*resolver, name, type),
                   [this, name, start](std::exception_ptr e, Response r) {
                     if (e) std::rethrow_exception(e);
                     order.push_back(name);
                     done[name] = Done{std::move(r), Clock::now() - start};
                   });
  }
  // Runs until `count` lookups are done, for at most 5 s.
  void run_until(std::size_t count) {
    const Clock::time_point limit = Clock::now() + 5s;
    context.restart();
    while (done.size() < count && Clock::now() < limit) context.run_one_for(20ms);
    ASSERT_EQ(done.size(), count) << "lookups did not finish within 5 s";
  }
  Response lookup(const std::string& name, RecordType type = RecordType::A) {
    done.clear();
    order.clear();
    spawn(name, type);
    run_until(1);
    return done.count(name) != 0 ? done[name].response : make_response(Outcome::Error);
  }

  asio::io_context context;
  prometheus::Registry registry;
  DnsMetrics metrics{registry};
  FakeDnsServer server;
  std::optional<AresResolver> resolver;
  std::map<std::string, Done> done;
  std::vector<std::string> order;
};

TEST(AresResolver, AnswerWithRecordsAndTtl) {
  Harness h;
  const Response r = h.lookup("A.Test.");
  ASSERT_EQ(r.outcome, Outcome::Answer);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.ttl, 200u);
  const auto addresses = addresses_of(r);
  EXPECT_EQ(addresses.records[0].address.bytes[3], 1);
  EXPECT_EQ(addresses.records[1].address.bytes[3], 2);
  EXPECT_EQ(h.metrics.queries(RecordType::A, Outcome::Answer).Value(), 1);
  EXPECT_EQ(h.resolver->outstanding(), 0u);
}

asio::awaitable<void> typed_lookups(Resolver& resolver, std::vector<std::string>& out) {
  const auto mx = co_await resolver.mx("mx.test");
  for (const MxRecord& r : mx.records) out.push_back(r.exchange);
  const auto txt = co_await resolver.txt("spf.test");
  for (const TxtRecord& r : txt.records) out.push_back(r.text);
  const auto ptr = co_await resolver.ptr(*common::parse_ip("192.0.2.7"));
  for (const NameRecord& r : ptr.records) out.push_back(r.name);
  const auto cname = co_await resolver.a("www.test");
  for (const std::string& name : cname.cname_chain) out.push_back("via " + name);
}

TEST(AresResolver, TypedLookupsThroughTheRealChannel) {
  Harness h;
  std::vector<std::string> out;
  bool finished = false;
  asio::co_spawn(h.context, typed_lookups(*h.resolver, out), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    finished = true;
  });
  const Clock::time_point limit = Clock::now() + 5s;
  while (!finished && Clock::now() < limit) h.context.run_one_for(20ms);
  ASSERT_TRUE(finished);
  EXPECT_EQ(out, (std::vector<std::string>{"a.mx.test", "b.mx.test", "v=spf1 -all",
                                           "mail.example.test", "via a.test"}));
}

TEST(AresResolver, NegativeAnswersAndServerFailures) {
  Harness h;
  const Response nx = h.lookup("nx.test");
  EXPECT_EQ(nx.outcome, Outcome::NxDomain);
  EXPECT_EQ(nx.ttl, 300u);  // min(SOA TTL 3600, MINIMUM 300)
  const Response nodata = h.lookup("a.test", RecordType::MX);
  EXPECT_EQ(nodata.outcome, Outcome::NoData);
  EXPECT_EQ(nodata.ttl, 300u);
  EXPECT_EQ(h.lookup("fail.test").outcome, Outcome::ServFail);
  EXPECT_EQ(h.lookup("refused.test").outcome, Outcome::Refused);
  EXPECT_EQ(h.lookup("bad.test").outcome, Outcome::Error);
  EXPECT_EQ(h.lookup("not a name").outcome, Outcome::Error);
  EXPECT_EQ(h.metrics.queries(RecordType::A, Outcome::NxDomain).Value(), 1);
  EXPECT_EQ(h.metrics.queries(RecordType::MX, Outcome::NoData).Value(), 1);
  EXPECT_EQ(h.metrics.queries(RecordType::A, Outcome::ServFail).Value(), 1);
  EXPECT_EQ(h.metrics.queries(RecordType::A, Outcome::Error).Value(), 2);
}

TEST(AresResolver, TruncatedUdpReplyIsRetriedOverTcp) {
  Harness h;
  const auto txt = texts_of(h.lookup("big.test", RecordType::TXT));
  ASSERT_EQ(txt.outcome, Outcome::Answer);
  ASSERT_EQ(txt.records.size(), 10u);
  EXPECT_EQ(txt.records[0].text, big_text() + big_text());
  EXPECT_EQ(h.server.tcp_queries(), 1);
}

TEST(AresResolver, SendsEdnsAndFallsBackWhenTheServerAnswersFormErr) {
  Harness h;
  const Response r = h.lookup("old.test");
  EXPECT_EQ(r.outcome, Outcome::Answer);
  EXPECT_EQ(h.server.udp_queries(), 2);  // with EDNS, then without
}

TEST(AresResolver, SilentServerTimesOutWhileOtherQueriesAnswer) {
  AresSettings settings;
  settings.timeout = 300ms;
  settings.tries = 1;
  Harness h(settings);
  h.spawn("silent.test");
  h.spawn("a.test");
  h.spawn("nx.test");
  h.run_until(3);
  EXPECT_EQ(h.done["silent.test"].response.outcome, Outcome::Timeout);
  // c-ares keeps its own time (no manual clock): only a lower bound, which load cannot break.
  EXPECT_GE(h.done["silent.test"].elapsed, 250ms);
  EXPECT_EQ(h.done["a.test"].response.outcome, Outcome::Answer);
  EXPECT_EQ(h.order.back(), "silent.test");  // the others did not wait for it
  EXPECT_EQ(h.metrics.queries(RecordType::A, Outcome::Timeout).Value(), 1);
}

TEST(AresResolver, TriesDoubleTheTimeoutEachRound) {
  AresSettings settings;
  settings.timeout = 100ms;
  settings.tries = 2;  // 100 ms + 200 ms
  Harness h(settings);
  h.spawn("silent.test");
  h.run_until(1);
  EXPECT_EQ(h.done["silent.test"].response.outcome, Outcome::Timeout);
  EXPECT_GE(h.done["silent.test"].elapsed, 250ms);  // a lower bound, which load cannot break
  EXPECT_EQ(h.server.udp_queries(), 2);
}

TEST(AresResolver, QueriesBeyondTheBoundFailAtOnce) {
  AresSettings settings;
  settings.timeout = 200ms;
  settings.tries = 1;
  settings.max_outstanding = 1;
  Harness h(settings);
  h.spawn("silent.test");
  h.spawn("a.test");
  h.run_until(2);
  EXPECT_EQ(h.order.front(), "a.test");
  EXPECT_EQ(h.done["a.test"].response.outcome, Outcome::Error);
  EXPECT_EQ(h.done["silent.test"].response.outcome, Outcome::Timeout);
}

TEST(AresResolver, DestroyedWithQueriesInFlightCompletesThemWithError) {
  Harness h;
  h.spawn("silent.test");
  h.context.run_for(50ms);
  EXPECT_EQ(h.resolver->outstanding(), 1u);
  EXPECT_GE(h.resolver->sockets(), 1u);
  h.resolver.reset();
  h.run_until(1);
  EXPECT_EQ(h.done["silent.test"].response.outcome, Outcome::Error);
}

TEST(AresResolver, RefusesServersItCannotParse) {
  asio::io_context context;
  AresSettings settings;
  settings.servers = {"not-an-address:53"};
  EXPECT_THROW(AresResolver(context.get_executor(), settings), std::invalid_argument);
  settings.servers = {"127.0.0.1:53"};
  settings.tries = 0;
  EXPECT_THROW(AresResolver(context.get_executor(), settings), std::invalid_argument);
}

TEST(AresResolver, ReadsResolvConfWhenNoServersAreGiven) {
  asio::io_context context;
  EXPECT_NO_THROW(AresResolver(context.get_executor(), AresSettings{}));
}

}  // namespace
}  // namespace mxgate::dns
