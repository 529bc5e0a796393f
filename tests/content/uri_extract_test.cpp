#include "content/uri_extract.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxgate::content {
namespace {

std::vector<std::string> domains(std::string_view line, bool html, std::size_t max = 20) {
  UriCollector c(max);
  c.scan(line, html);
  std::vector<std::string> out;
  for (const LinkedDomain& d : c.domains()) out.push_back(d.domain);
  return out;
}

using List = std::vector<std::string>;

TEST(UriExtract, HrefWithEntities) {
  EXPECT_EQ(domains(R"(<a href="http://evil&#46;example/?a=1&amp;b=2">x</a>)", true),
            List{"evil.example"});
  EXPECT_EQ(domains(R"(<a HREF = 'https&#x3A;//Mixed.Example.COM/'>)", true), List{"example.com"});
  EXPECT_EQ(domains(R"(<a href="ht&#116;p&colon;&sol;&sol;c.example">)", true), List{"c.example"});
  EXPECT_EQ(domains("<a href=\"h\ttt\np://tab.example/\">", true), List{"tab.example"});
  EXPECT_EQ(domains("<img src=http://img.example/p.gif>", true), List{"img.example"});
  EXPECT_EQ(domains(R"(<a href="//proto.example/x">)", true), List{"proto.example"});
}

TEST(UriExtract, AttributesOnlyInHtml) {
  EXPECT_EQ(domains(R"(href="https&#58;//x.example/")", false), List{});
  EXPECT_EQ(domains(R"(<img data-src="http&#58;//lazy.example/">)", true), List{});
}

TEST(UriExtract, SkippedSchemesAndRelative) {
  EXPECT_EQ(domains(R"(<a href="mailto:a@mail.example">)", true), List{});
  EXPECT_EQ(domains(R"(<img src="cid:part1@x.example">)", true), List{});
  EXPECT_EQ(domains(R"(<img src="data:image/png;base64,AAAA">)", true), List{});
  EXPECT_EQ(domains(R"(<a href="/relative/path.html">)", true), List{});
  EXPECT_EQ(domains(R"x(<a href="javascript:go('http:x')">)x", true), List{});
  EXPECT_EQ(domains("ftp://files.example/ gopher://g.example/", false), List{});
}

TEST(UriExtract, BareUrlsWithTrailingPunctuation) {
  EXPECT_EQ(domains("See http://a.example/x. And (https://b.example/y), or "
                    "<http://c.example:8080/>! \"http://user:pw@d.example/\"",
                    false),
            (List{"a.example", "b.example", "c.example", "d.example"}));
  UriCollector c(20);
  c.scan("go to http://a.example/page).", false);
  ASSERT_EQ(c.domains().size(), 1U);
  EXPECT_EQ(c.domains()[0].url, "http://a.example/page");
}

TEST(UriExtract, WwwWithoutScheme) {
  EXPECT_EQ(domains("visit www.shop.example.co.uk, or WWW.Upper.Example.", false),
            (List{"example.co.uk", "upper.example"}));
  EXPECT_EQ(domains("mail me at info@www.mail.example or see xwww.not.example", false), List{});
}

TEST(UriExtract, IpLiterals) {
  UriCollector c(20);
  c.scan("http://192.0.2.7/x https://[2001:DB8:0::1]:443/y http://999.1.1.1/ http://10.1/", false);
  ASSERT_EQ(c.domains().size(), 2U);
  EXPECT_EQ(c.domains()[0].domain, "192.0.2.7");
  EXPECT_TRUE(c.domains()[0].ip);
  EXPECT_EQ(c.domains()[1].domain, "2001:db8::1");
  EXPECT_TRUE(c.domains()[1].ip);
}

TEST(UriExtract, SubdomainsReducedToRegistrableDomain) {
  EXPECT_EQ(
      domains("http://a.b.c.example.com/ http://news.bbc.co.uk/ http://x.y.blogspot.com/", false),
      (List{"example.com", "bbc.co.uk", "y.blogspot.com"}));
}

TEST(UriExtract, PublicSuffixOnlyAndBadHostsSkipped) {
  EXPECT_EQ(domains("http://co.uk/ http://com/ http://localhost/ http://bad..example/ "
                    "http://bad\xff.example/ http://under_score.example/",
                    false),
            List{"under_score.example"});
}

// Internationalized names are followed in their A-label form, the one blocklists list:
// UTF-8 text, HTML entities, full-width letters and dots (UTS #46 mapping), upper case.
TEST(UriExtract, InternationalizedNamesAsALabels) {
  EXPECT_EQ(domains("http://www.b\xc3\xbc"
                    "cher.example/ https://\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.com/x",
                    false),
            (List{"xn--bcher-kva.example", "xn--e1afmkfd.com"}));
  EXPECT_EQ(domains(R"(<a href="https://www.B&#xFC;CHER.co.uk/">)", true),
            List{"xn--bcher-kva.co.uk"});
  EXPECT_EQ(domains("http://\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x90"
                    "\xef\xbd\x8c\xef\xbd\x85\xe3\x80\x82"
                    "com/",
                    false),
            List{"example.com"});
  EXPECT_EQ(domain_of_host("xn--bcher-kva.example")->domain, "xn--bcher-kva.example");
}

TEST(UriExtract, DuplicatesCountedOnce) {
  UriCollector c(20);
  c.scan("http://a.example/1 http://www.a.example/2 HTTP://A.EXAMPLE/3 www.a.example", false);
  ASSERT_EQ(c.domains().size(), 1U);
  EXPECT_EQ(c.domains()[0].url, "http://a.example/1");
  EXPECT_EQ(c.dropped(), 0U);
}

TEST(UriExtract, MaxDomainsAndDropped) {
  UriCollector c(2);
  c.scan(
      "http://a.example/ http://b.example/ http://c.example/ http://d.example/ "
      "http://c.example/ http://a.example/",
      false);
  EXPECT_EQ(c.domains().size(), 2U);
  EXPECT_EQ(c.dropped(), 2U);
}

TEST(UriExtract, RegistrableDomain) {
  EXPECT_EQ(registrable_domain("www.news.example.co.uk"), "example.co.uk");
  EXPECT_EQ(registrable_domain("WWW.Example.COM."), "example.com");
  EXPECT_EQ(registrable_domain("co.uk"), "");
  EXPECT_EQ(registrable_domain(""), "");
}

TEST(UriExtract, HtmlEntities) {
  std::string out;
  decode_html_entities("a&amp;b&#65;&#x42;&lt;&unknown;&amp", out);
  EXPECT_EQ(out, "a&bAB<&unknown;&amp");
}

}  // namespace
}  // namespace mxgate::content
