// MessageScanner: the streaming scan of a message (header held to its end, our
// Authentication-Results removed, body hashed once per canonicalization), verification against
// keys from a scripted DNS (fetched, or answered from the cache), and DMARC on top.
#include "auth/message_auth.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "common/clock.hpp"
#include "dns/caching_resolver.hpp"
#include "tests/auth/dkim_vectors.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth {
namespace {

namespace asio = boost::asio;
using namespace vectors;

const std::string kFourSignatures =
    std::string(kRsa2048RelaxedSignature) + std::string(kRsa2048SimpleSignature) +
    std::string(kEdRelaxedSignature) + std::string(kEdSimpleSignature) +
    std::string(kUnsignedMessage);

class MessageAuth : public ::testing::Test {
 protected:
  MessageAuth() {
    txt("rsa2048._domainkey.example.org", kRsaRecord);
    txt("ed._domainkey.example.org", kEdRecord);
  }
  void txt(const std::string& name, std::string_view text) {
    dns::Response r = dns::make_response(dns::Outcome::Answer);
    r.ttl = 300;
    r.records.push_back(dns::Record{name, dns::RecordType::TXT, 300,
                                    dns::TxtData{{std::string(text)}}});
    dns_.set(name, dns::RecordType::TXT, r);
  }
  // Feeds `message` in pieces of `piece` octets; returns what the scanner passed on.
  static std::string scan(MessageScanner& scanner, std::string_view message, std::size_t piece) {
    std::string out;
    for (std::size_t i = 0; i < message.size(); i += piece) {
      scanner.feed(message.substr(i, piece), out);
    }
    scanner.finish(out);
    return out;
  }
  template <typename T>
  T run(asio::awaitable<T> work) {
    T out{};
    asio::co_spawn(io_, std::move(work), [&](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      out = std::move(value);
    });
    io_.run();
    io_.restart();
    return out;
  }
  std::vector<DkimCheck> verify(const MessageScanner& scanner) {
    return run(scanner.verify_signatures(cache_, keys_, {}));
  }
  static std::vector<std::string> statuses(const std::vector<DkimCheck>& checks) {
    std::vector<std::string> out;
    for (const auto& check : checks) out.emplace_back(to_string(check.verdict.status));
    return out;
  }

  asio::io_context io_;
  dns::testing::FakeResolver dns_{io_.get_executor()};
  common::ManualClock clock_;
  dns::CachingResolver cache_{dns_, clock_, dns::CacheSettings{}};
  DkimKeyCache keys_;
};

TEST_F(MessageAuth, PiecesSplitAnywhereGiveTheSameVerdictsAndContent) {
  const std::vector<std::string> all_pass(4, "pass");
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                            std::size_t{64}, std::size_t{1000}, kFourSignatures.size()}) {
    MessageScanner scanner("mx.example.net");
    EXPECT_EQ(scan(scanner, kFourSignatures, piece), kFourSignatures) << piece;
    ASSERT_TRUE(scanner.header_done());
    EXPECT_EQ(scanner.from().domain, "example.org");
    EXPECT_EQ(scanner.key_names(), (std::vector<std::string>{"rsa2048._domainkey.example.org",
                                                             "ed._domainkey.example.org"}));
    const auto checks = verify(scanner);
    EXPECT_EQ(statuses(checks), all_pass) << "pieces of " << piece;
    EXPECT_EQ(checks[0].domain, "example.org");
    EXPECT_EQ(checks[2].selector, "ed");
    EXPECT_EQ(checks[0].b.size(), 8u);
  }
}

TEST_F(MessageAuth, TheCachedPathAgreesWithTheFetchingOne) {
  MessageScanner scanner("mx.example.net");
  scan(scanner, kFourSignatures, 100);
  EXPECT_FALSE(scanner.verify_signatures_now(cache_, keys_, {})) << "nothing cached yet";
  const auto fetched = verify(scanner);
  const int calls = dns_.calls();
  const auto cached = scanner.verify_signatures_now(cache_, keys_, {});
  ASSERT_TRUE(cached);
  EXPECT_EQ(statuses(*cached), statuses(fetched));
  EXPECT_EQ(dns_.calls(), calls);
  EXPECT_EQ(keys_.misses(), 2u) << "each key record parsed once";
}

TEST_F(MessageAuth, TamperingFailsAndKeysThatCannotBeHadAreErrors) {
  std::string tampered = kFourSignatures;
  tampered.replace(tampered.find("Hello Bob"), 9, "Hello Eve");
  MessageScanner scanner("mx.example.net");
  scan(scanner, tampered, 512);
  EXPECT_EQ(statuses(verify(scanner)), std::vector<std::string>(4, "fail"));

  dns_.set("rsa2048._domainkey.example.org", dns::RecordType::TXT,
           dns::testing::negative(dns::Outcome::ServFail));
  dns_.set("ed._domainkey.example.org", dns::RecordType::TXT,
           dns::testing::negative(dns::Outcome::NxDomain, 60));
  cache_.clear();
  MessageScanner missing("mx.example.net");
  scan(missing, kFourSignatures, 512);
  EXPECT_EQ(statuses(verify(missing)),
            (std::vector<std::string>{"temperror", "temperror", "permerror", "permerror"}));
}

TEST_F(MessageAuth, OnlyMaxSignaturesAreVerified) {
  MessageScanner scanner("mx.example.net", ScanLimits{1});
  scan(scanner, kFourSignatures, 4096);
  const auto checks = verify(scanner);
  EXPECT_EQ(statuses(checks), (std::vector<std::string>{"pass", "neutral", "neutral", "neutral"}));
  EXPECT_EQ(checks[1].verdict.reason, "not verified: more than 1 signatures");
  EXPECT_EQ(checks[3].selector, "ed") << "an unverified signature is still named";
  EXPECT_EQ(scanner.key_names().size(), 1u);
}

TEST_F(MessageAuth, UnsignedContentAfterLIsCounted) {
  const std::string message = std::string(kEdRelaxedLSignature) + std::string(kUnsignedMessage) +
                              std::string(kFooter);
  MessageScanner scanner("mx.example.net");
  scan(scanner, message, 33);
  const auto checks = verify(scanner);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].verdict.status, DkimStatus::Pass);
  EXPECT_GT(checks[0].verdict.unsigned_body_octets, 0u);
}

TEST_F(MessageAuth, OurResultsAreRemovedOthersKept) {
  const std::string ours1 = "Authentication-Results: mx.example.net; dkim=pass\r\n";
  const std::string ours2 =
      "authentication-results:\r\n (forged) \"MX.Example.NET\" 1; spf=pass\r\n";
  const std::string theirs = "Authentication-Results: relay.example.org; spf=fail\r\n";
  const std::string message =
      ours1 + theirs + ours2 + std::string(kRsa2048RelaxedSignature) + std::string(kUnsignedMessage);
  MessageScanner scanner("mx.example.net");
  const std::string out = scan(scanner, message, 10);
  EXPECT_EQ(scanner.removed_results(), 2u);
  EXPECT_EQ(out, theirs + std::string(kRsa2048RelaxedSignature) + std::string(kUnsignedMessage));
  EXPECT_EQ(statuses(verify(scanner)), std::vector<std::string>{"pass"});
}

TEST(ClaimsAuthservId, FirstWordCaseInsensitive) {
  EXPECT_TRUE(claims_authserv_id(" mx.example.net; spf=pass", "mx.example.net"));
  EXPECT_TRUE(claims_authserv_id("MX.EXAMPLE.NET 1; none", "mx.example.net"));
  EXPECT_TRUE(claims_authserv_id("\r\n\t(c (nested)) \"mx.example.net\";", "mx.example.net"));
  EXPECT_TRUE(claims_authserv_id("mx.example.net(comment);", "mx.example.net"));
  EXPECT_FALSE(claims_authserv_id(" mx.example.net.evil; spf=pass", "mx.example.net"));
  EXPECT_FALSE(claims_authserv_id(" ; spf=pass", "mx.example.net"));
  EXPECT_FALSE(claims_authserv_id("mx.example.net;", ""));
}

TEST(MessageScannerEdges, NoBodyNoHeaderAndOversizedHeaders) {
  {
    MessageScanner scanner("mx");
    std::string out;
    scanner.feed("Subject: no body\r\nFrom: a@b.example\r\n", out);
    EXPECT_TRUE(out.empty()) << "held until the header ends";
    scanner.finish(out);
    EXPECT_EQ(out, "Subject: no body\r\nFrom: a@b.example\r\n");
    EXPECT_EQ(scanner.from().domain, "b.example");
  }
  {
    MessageScanner scanner("mx");
    std::string out;
    scanner.feed("\r\nbody only\r\n", out);
    scanner.finish(out);
    EXPECT_EQ(out, "\r\nbody only\r\n");
    EXPECT_FALSE(scanner.from().domain);
  }
  {
    MessageScanner scanner("mx", ScanLimits{5, 100});
    std::string message = "X-Long: " + std::string(200, 'x') + "\r\n\r\nbody\r\n";
    std::string out;
    for (char c : message) scanner.feed(std::string_view(&c, 1), out);
    scanner.finish(out);
    EXPECT_EQ(out, message);
    EXPECT_EQ(scanner.from().problem, "header section too large");
    EXPECT_EQ(scanner.signature_count(), 0u);
  }
}

TEST_F(MessageAuth, DmarcOnTopOfTheResults) {
  txt("_dmarc.example.org", "v=DMARC1; p=reject; pct=50");
  MessageScanner scanner("mx.example.net");
  scan(scanner, kFourSignatures, 4096);
  const auto dkim = verify(scanner);
  auto check = run(check_dmarc(cache_, scanner.from(), dmarc_inputs(nullptr, dkim),
                               dmarc::PolicyLookup::PublicSuffixList));
  EXPECT_EQ(check.result, dmarc::Result::Pass);
  EXPECT_TRUE(check.record_found);
  EXPECT_EQ(check.pct, 50);
  EXPECT_EQ(format_results(AuthResults{"mx", {}, {}, dmarc_entry(check), {}}, false),
            "mx; dkim=none; dmarc=pass (p=reject) header.from=example.org");

  spf::Evaluation spf_fail;
  spf_fail.result = spf::Result::Fail;
  spf_fail.domain = "example.org";
  check = run(check_dmarc(cache_, scanner.from(), dmarc_inputs(&spf_fail, {}),
                          dmarc::PolicyLookup::PublicSuffixList));
  EXPECT_EQ(check.result, dmarc::Result::Fail);
  EXPECT_EQ(check.policy, dmarc::Policy::Reject);

  check = run(check_dmarc(cache_, FromDomain{std::nullopt, "no From field"}, {},
                          dmarc::PolicyLookup::PublicSuffixList));
  EXPECT_EQ(check.result, dmarc::Result::Fail);
  EXPECT_FALSE(check.record_found);
  EXPECT_EQ(check.reason, "no From field");
}

}  // namespace
}  // namespace mxgate::auth
