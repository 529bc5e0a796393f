// The authentication parsers against hostile input: random bytes and mutations of valid
// records (fixed seeds, bounded counts) must give an answer or an error, never a crash or a
// hang. A quick check that runs in every unit-test build, GCC and sanitizers included; the
// coverage-guided fuzzing of the same parsers is done by the libFuzzer targets in tests/fuzz
// (spf_record, spf_macro, dkim_tags, dkim_signature, dkim_key, dmarc_record, from_domain; clang
// only, tests/fuzz/README.md), whose corpora the fuzz-regress tests replay.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <random>
#include <string>
#include <vector>

#include "auth/dkim_key.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dkim_tags.hpp"
#include "auth/dmarc.hpp"
#include "auth/from_domain.hpp"
#include "auth/message_auth.hpp"
#include "auth/spf_macro.hpp"
#include "auth/spf_record.hpp"
#include "tests/auth/dkim_vectors.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth {
namespace {

namespace asio = boost::asio;
constexpr int kRounds = 20000;

// Mutations of `seeds`: flipped, inserted, deleted and duplicated bytes, and random strings.
class Mutator {
 public:
  explicit Mutator(std::vector<std::string> seeds) : seeds_(std::move(seeds)) {}
  std::string next() {
    std::string s = seeds_[random_() % seeds_.size()];
    const int edits = static_cast<int>(random_() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = s.empty() ? 0 : random_() % s.size();
      switch (random_() % 5) {
        case 0: if (!s.empty()) s[at] = static_cast<char>(random_() % 256); break;
        case 1: s.insert(at, 1, kSpecial[random_() % kSpecial.size()]); break;
        case 2: if (!s.empty()) s.erase(at, 1 + random_() % 4); break;
        case 3: s.insert(at, s.substr(at, random_() % 16)); break;
        default: s = random_string(); break;
      }
    }
    return s;
  }

 private:
  std::string random_string() {
    std::string s(random_() % 64, ' ');
    for (char& c : s) c = kSpecial[random_() % kSpecial.size()];
    return s;
  }
  static constexpr std::string_view kSpecial = "%{}:/=;.,@<>()\"\\ -_+~?aZ09\r\n\t\x80\xff";
  std::vector<std::string> seeds_;
  std::mt19937 random_{20261128};
};

TEST(AuthRobustness, SpfRecordsAndMacros) {
  Mutator m({"v=spf1 ip4:192.0.2.0/24 include:_spf.example.com a:%{d}/24//64 mx ptr -all",
             "v=spf1 exists:%{ir}.%{l1r-}.%{d2}._spf.example.com redirect=%{o} exp=x.%{d}",
             "v=spf1 ip6:2001:db8::/32 ?all foo=%{h}"});
  spf::MacroContext context;
  context.sender = "a@b.example";
  context.local_part = "a";
  context.sender_domain = context.domain = "b.example";
  context.ip = *common::parse_ip("192.0.2.1");
  int parsed = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string text = m.next();
    const auto record = spf::parse_record(text);
    parsed += record.record.has_value();
    EXPECT_TRUE(record.record || !record.error.empty()) << text;
    const auto expanded = spf::expand_macros(text, context, spf::MacroUse::Explanation);
    if (expanded) {
      EXPECT_LE(expanded->size(), 64u * text.size() + 64) << text;
    }
  }
  EXPECT_GT(parsed, 0) << "some mutations stay valid records";
}

TEST(AuthRobustness, DkimTagsSignaturesAndKeys) {
  Mutator m({"v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=sel; t=1; x=2; l=10;"
             " h=from:to:subject; bh=AAAA; b=AAAA",
             "v=DKIM1; k=ed25519; h=sha256; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
             "v=DKIM1; k=rsa; p="});
  for (int i = 0; i < kRounds; ++i) {
    const std::string text = m.next();
    const auto tags = parse_tag_list(text);
    EXPECT_TRUE(tags.list || !tags.error.empty()) << text;
    const auto signature = parse_dkim_signature(text);
    EXPECT_TRUE(signature.signature || !signature.error.empty()) << text;
    const auto key = parse_dkim_key(text);
    EXPECT_TRUE(key.key || !key.error.empty()) << text;
    (void)remove_b_value(text);
  }
}

TEST(AuthRobustness, DmarcRecordsAndFromFields) {
  Mutator m({"v=DMARC1; p=reject; sp=none; adkim=s; aspf=r; pct=50; rua=mailto:a@example.org",
             " \"Doe, Jane\" (comment (nested)) <jane@example.org>, <@route:x@y.example>",
             " Pete(A \\) chap) <pete(his account)@silly.test(his host)>"});
  for (int i = 0; i < kRounds; ++i) {
    const std::string text = m.next();
    const auto record = dmarc::parse_record(text);
    EXPECT_TRUE(record.record || !record.error.empty()) << text;
    const auto from = from_domain_of_value(text);
    EXPECT_TRUE(from.domain || !from.problem.empty()) << text;
    (void)dmarc::organizational_domain(text);
  }
}

// Whole messages: mutated signed messages, fed to the scanner in random pieces, verified against
// the real keys. Every signature gets a verdict; what the scanner passes on is the message
// minus the Authentication-Results fields it removed.
TEST(AuthRobustness, MessagesThroughTheScanner) {
  using namespace vectors;
  const std::string signed_message = std::string(kRsa2048RelaxedSignature) +
                                     std::string(kEdSimpleSignature) +
                                     std::string(kUnsignedMessage);
  Mutator m({signed_message, "Authentication-Results: mx; spf=pass\r\n" + signed_message,
             std::string(kEdRelaxedLSignature) + std::string(kUnsignedMessage)});
  asio::io_context io;
  dns::testing::FakeResolver dns(io.get_executor());
  for (const auto& [name, text] : {std::pair{"rsa2048._domainkey.example.org", kRsaRecord},
                                   std::pair{"ed._domainkey.example.org", kEdRecord}}) {
    dns::Response r = dns::make_response(dns::Outcome::Answer);
    r.records.push_back(
        dns::Record{name, dns::RecordType::TXT, 300, dns::TxtData{{std::string(text)}}});
    dns.set(name, dns::RecordType::TXT, r);
  }
  DkimKeyCache keys;
  std::mt19937 pieces{7};
  for (int i = 0; i < kRounds / 10; ++i) {
    const std::string message = m.next();
    MessageScanner scanner("mx", ScanLimits{3, 4096});
    std::string out;
    for (std::size_t at = 0; at < message.size();) {
      const std::size_t n = 1 + pieces() % 300;
      scanner.feed(std::string_view(message).substr(at, n), out);
      at += n;
    }
    scanner.finish(out);
    EXPECT_LE(out.size(), message.size()) << message;
    std::vector<DkimCheck> checks;
    asio::co_spawn(io, scanner.verify_signatures(dns, keys, {}),
                   [&](std::exception_ptr e, std::vector<DkimCheck> result) {
                     ASSERT_FALSE(e) << message;
                     checks = std::move(result);
                   });
    io.run();
    io.restart();
    EXPECT_EQ(checks.size(), scanner.signature_count()) << message;
  }
}

}  // namespace
}  // namespace mxgate::auth
