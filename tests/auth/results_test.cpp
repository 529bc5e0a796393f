// Authentication-Results (RFC 8601): layout, property values and reasons, and iprev.
#include "auth/results.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "auth/iprev.hpp"
#include "tests/dns/fake_resolver.hpp"

namespace mxgate::auth {
namespace {

TEST(AuthResults, Layout) {
  AuthResults r;
  r.authserv_id = "mx.example.net";
  r.spf = AuthResults::Spf{"pass", "smtp.mailfrom", "jane@example.org", ""};
  r.dkim = {{"pass", "example.org", "sel1", "abcdefgh", ""},
            {"fail", "example.net", "k2", "12345678", "body hash mismatch"}};
  r.dmarc = AuthResults::Dmarc{"pass", "example.org", "p=reject", ""};
  r.iprev = AuthResults::Iprev{"pass", "192.0.2.1", "mail.example.org"};
  EXPECT_EQ(format_results(r, false),
            "mx.example.net; spf=pass smtp.mailfrom=jane@example.org; "
            "dkim=pass header.d=example.org header.s=sel1 header.b=abcdefgh; "
            "dkim=fail reason=\"body hash mismatch\" header.d=example.net header.s=k2 "
            "header.b=12345678; dmarc=pass (p=reject) header.from=example.org; "
            "iprev=pass policy.iprev=192.0.2.1 (mail.example.org)");
  const std::string folded = format_results(r, true);
  EXPECT_TRUE(folded.starts_with(
      "mx.example.net;\r\n\tspf=pass smtp.mailfrom=jane@example.org;\r\n\tdkim=pass"))
      << folded;
  EXPECT_EQ(std::count(folded.begin(), folded.end(), '\t'), 5) << "one line per result";
  AuthResults bare;
  bare.authserv_id = "mx.example.net";
  EXPECT_EQ(format_results(bare, false), "mx.example.net; dkim=none");
}

// RFC 8617 §10.1 registers the method "arc" (pass, fail, none) with the properties
// header.oldest-pass and smtp.remote-ip.
TEST(AuthResults, ArcResults) {
  AuthResults r;
  r.authserv_id = "mx.example.net";
  r.dmarc = AuthResults::Dmarc{"fail", "example.org", "p=reject", ""};
  r.arc = AuthResults::Arc{"pass", "", "i=2 d=list.example", 1, "192.0.2.1"};
  EXPECT_EQ(format_results(r, false),
            "mx.example.net; dkim=none; dmarc=fail (p=reject) header.from=example.org; "
            "arc=pass (i=2 d=list.example) header.oldest-pass=1 smtp.remote-ip=192.0.2.1");
  r.dmarc.reset();
  r.arc =
      AuthResults::Arc{"fail", "ARC-Seal i=1: signature mismatch", "", std::nullopt, "2001:db8::1"};
  EXPECT_EQ(format_results(r, false),
            "mx.example.net; dkim=none; arc=fail reason=\"ARC-Seal i=1: signature mismatch\" "
            "smtp.remote-ip=\"2001:db8::1\"");
  r.arc = AuthResults::Arc{"none", "", "", std::nullopt, ""};
  EXPECT_EQ(format_results(r, false), "mx.example.net; dkim=none; arc=none");
}

// RFC 8601 §2.2: resinfo = [CFWS] ";" methodspec [CFWS reasonspec] [CFWS 1*propspec]; CFWS
// (comments included) anywhere between tokens, values quoted or not.
TEST(ReadResults, ReadsWhatOtherAdmdsWrite) {
  const auto results = read_results(
      " spf=pass (sender SPF authorized) smtp.mailfrom=list@lists.example.org;\r\n"
      "\tdkim = pass header.d=Example.COM header.s=sel header.b=\"ab/cd\";"
      " dkim/1=fail reason=\"body hash; changed\" header.d=example.net;"
      " dmarc=pass (p=reject dis=none) header.from=example.com; none; x; =y;"
      " arc=pass (i=1) smtp.remote-ip=192.0.2.1");
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].method, "spf");
  EXPECT_EQ(results[0].result, "pass");
  EXPECT_EQ(*results[0].property("smtp.mailfrom"), "list@lists.example.org");
  EXPECT_EQ(results[1].method, "dkim");
  EXPECT_EQ(*results[1].property("header.d"), "Example.COM");
  EXPECT_EQ(*results[1].property("header.b"), "ab/cd");
  EXPECT_EQ(results[2].method, "dkim") << "the method's version is dropped";
  EXPECT_EQ(results[2].result, "fail");
  EXPECT_EQ(*results[2].property("reason"), "body hash; changed");
  EXPECT_EQ(*results[2].property("header.d"), "example.net");
  EXPECT_EQ(results[3].method, "dmarc");
  EXPECT_EQ(*results[3].property("header.from"), "example.com");
  EXPECT_EQ(results[4].method, "arc");
  EXPECT_EQ(results[4].property("header.oldest-pass"), nullptr);
  EXPECT_TRUE(read_results("").empty());
  EXPECT_TRUE(read_results(" (dkim=pass); spf (x) = (y) pass").size() == 1);
}

// Found by the auth_results fuzz target: a quoted value ending in "=" took the property after
// it as the rest of its value (the "=" inside the quotes was read as CFWS before a value).
TEST(ReadResults, AQuotedValueEndingInEqualsEndsThere) {
  const auto results =
      read_results(" dkim=pass header.b=\"ab/c=\" header.s=sel; dkim=fail header.d = example.org");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(*results[0].property("header.b"), "ab/c=");
  ASSERT_NE(results[0].property("header.s"), nullptr);
  EXPECT_EQ(*results[0].property("header.s"), "sel");
  EXPECT_EQ(*results[1].property("header.d"), "example.org") << "CFWS around \"=\" still joins";
  AuthResults r;
  r.authserv_id = "mx.example.net";
  r.dkim = {{"pass", "example.org=", "sel", "", ""}};
  const std::string field = format_results(r, false);
  const auto read = read_results(std::string_view(field).substr(field.find(';') + 1));
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(*read[0].property("header.d"), "example.org=");
  EXPECT_EQ(*read[0].property("header.s"), "sel");
}

// Found by the auth_results fuzz target: comments were written raw, so a PTR name (the client's
// to choose: any printable octet but "." and "\\" may be in a label) could close the comment and
// add results of its own, or a CR LF could end the field.
TEST(AuthResults, ACommentCannotAddResults) {
  AuthResults r;
  r.authserv_id = "mx.example.net";
  r.dmarc = AuthResults::Dmarc{"fail", "example.org", "p=reject\r\nX-Injected: 1", ""};
  r.iprev = AuthResults::Iprev{"fail", "192.0.2.1", "x);dmarc=pass;dkim=pass(\\"};
  const std::string field = format_results(r, false);
  EXPECT_EQ(
      field,
      "mx.example.net; dkim=none; dmarc=fail (p=rejectX-Injected: 1) header.from=example.org; "
      "iprev=fail policy.iprev=192.0.2.1 (x\\);dmarc=pass;dkim=pass\\(\\\\)");
  const auto read = read_results(std::string_view(field).substr(field.find(';') + 1));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].method, "dkim");
  EXPECT_EQ(read[1].method, "dmarc");
  EXPECT_EQ(read[1].result, "fail");
  EXPECT_EQ(read[2].method, "iprev");
  EXPECT_EQ(read[2].properties.size(), 1u);
}

// Found by the auth_results fuzz target: a quoted value ending in white space lost the whole
// property (the space inside the quotes was trimmed as if it ended the result, leaving its
// marker behind).
TEST(ReadResults, AQuotedValueEndingInASpaceIsKept) {
  const auto results = read_results(" dkim=fail reason=\"bad \" header.b=\"ab c \"; spf=pass");
  ASSERT_EQ(results.size(), 2u);
  ASSERT_NE(results[0].property("header.b"), nullptr);
  EXPECT_EQ(*results[0].property("reason"), "bad ");
  EXPECT_EQ(*results[0].property("header.b"), "ab c ");
  EXPECT_EQ(results[1].method, "spf");
}

// Found by the auth_results fuzz target: an empty quoted string vanished, so the property after
// it became its value (reason="" header.d=x gave reason "header.d=x"); the gateway writes one
// for a reason that is nothing but CR LF.
TEST(ReadResults, AnEmptyQuotedStringIsAnEmptyValue) {
  const auto results = read_results(" dkim=fail reason=\"\" header.d=example.org; spf=pass");
  ASSERT_EQ(results.size(), 2u);
  ASSERT_NE(results[0].property("reason"), nullptr);
  EXPECT_EQ(*results[0].property("reason"), "");
  ASSERT_NE(results[0].property("header.d"), nullptr);
  EXPECT_EQ(*results[0].property("header.d"), "example.org");
  EXPECT_TRUE(read_results(" dkim=\"\"").empty()) << "no result";
}

// The marks that keep quoted separators together must not be forged by the text: an octet 0x01
// is read as itself (it neither hides a separator nor drops the octet after it), and a
// separator escaped inside quotes stays inside the value.
TEST(ReadResults, MarkersInTheTextAreReadAsThemselves) {
  auto results = read_results(
      " dmarc=p\x01"
      "ass; dkim=fail\x01; dmarc=pass");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].result,
            "p\x01"
            "ass");
  EXPECT_EQ(results[1].result, "fail\x01");
  EXPECT_EQ(results[2].result, "pass");
  results = read_results(" dkim=fail reason=\"a\\;b\\ c\" header.d=example.org");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(*results[0].property("reason"), "a;b c");
  EXPECT_EQ(*results[0].property("header.d"), "example.org");
}

TEST(AuthResults, ValuesAreQuotedWhenTheyMustBe) {
  EXPECT_EQ(results_value("example.org"), "example.org");
  EXPECT_EQ(results_value("jane@example.org"), "jane@example.org");
  EXPECT_EQ(results_value("@example.org"), "@example.org");
  EXPECT_EQ(results_value("2001:db8::1"), "\"2001:db8::1\"");
  EXPECT_EQ(results_value("x+5TJ1Na"), "x+5TJ1Na") << "header.b without a tspecial";
  EXPECT_EQ(results_value("x/5TJ1Na"), "\"x/5TJ1Na\"") << "\"/\" is a tspecial";
  EXPECT_EQ(results_value("a b"), "\"a b\"");
  EXPECT_EQ(results_value("say \"hi\"\r\n"), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(results_value(""), "\"\"");
}

class IprevTest : public ::testing::Test {
 protected:
  Iprev check(const char* ip) {
    Iprev out;
    boost::asio::co_spawn(io_, check_iprev(dns_, *common::parse_ip(ip)),
                          [&](std::exception_ptr e, Iprev r) {
                            if (e) std::rethrow_exception(e);
                            out = r;
                          });
    io_.run();
    io_.restart();
    return out;
  }
  void ptr(const char* ip, const char* name) {
    dns::Response r = dns::make_response(dns::Outcome::Answer);
    r.records.push_back(dns::Record{"x", dns::RecordType::PTR, 60, dns::NameData{name}});
    dns_.set(dns::reverse_name(*common::parse_ip(ip)), dns::RecordType::PTR, r);
  }
  boost::asio::io_context io_;
  dns::testing::FakeResolver dns_{io_.get_executor()};
};

TEST_F(IprevTest, PassFailTemperror) {
  ptr("192.0.2.1", "mail.example.org.");
  dns_.set("mail.example.org", dns::RecordType::A, dns::testing::a_answer(60, {"192.0.2.1"}));
  auto r = check("192.0.2.1");
  EXPECT_EQ(r.result, IprevResult::Pass);
  EXPECT_EQ(r.name, "mail.example.org");
  ptr("192.0.2.2", "mail.example.org");
  EXPECT_EQ(check("192.0.2.2").result, IprevResult::Fail) << "not forward-confirmed";
  EXPECT_EQ(check("192.0.2.3").result, IprevResult::Fail) << "no PTR";
  dns_.set(dns::reverse_name(*common::parse_ip("192.0.2.4")), dns::RecordType::PTR,
           dns::testing::negative(dns::Outcome::ServFail));
  EXPECT_EQ(check("192.0.2.4").result, IprevResult::TempError);
  ptr("192.0.2.5", "slow.example.org");
  dns_.set("slow.example.org", dns::RecordType::A, dns::testing::negative(dns::Outcome::Timeout));
  EXPECT_EQ(check("192.0.2.5").result, IprevResult::TempError);
}

}  // namespace
}  // namespace mxgate::auth
