#include "relay/router.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace mxgate::relay {
namespace {

conf::Route route(std::vector<std::string> domains, std::uint16_t port) {
  return conf::Route{std::move(domains), {{"127.0.0.1", port}}, false};
}

smtp::Path path(std::string local, std::string domain) {
  return smtp::Path{std::move(local), std::move(domain)};
}

Router sample() {
  return Router({route({"example.com", ".example.com"}, 1),
                 route({"Example.NET.", ".deep.example.com"}, 2),
                 route({"mail.example.com", "example.com"}, 3)});
}

struct Case {
  const char* name;
  smtp::Path recipient;
  std::optional<std::size_t> expected;
};

TEST(Router, RoutesRecipientsByDomain) {
  const Router router = sample();
  const Case cases[] = {
      {"exact", path("alice", "example.com"), 0},
      {"subdomain suffix", path("bob", "eu.example.com"), 0},
      {"longer suffix wins", path("bob", "a.deep.example.com"), 1},
      {"suffix is not the domain itself", path("bob", "deep.example.com"), 0},
      {"exact beats suffix", path("carol", "mail.example.com"), 2},
      {"first route wins a duplicate", path("dave", "EXAMPLE.com"), 0},
      {"case-insensitive", path("Erin", "EXAMPLE.NET"), 1},
      {"trailing dot ignored", path("frank", "example.net."), 1},
      {"config trailing dot ignored", path("frank", "example.net"), 1},
      {"postmaster at a domain", path("postmaster", "example.net"), 1},
      {"bare Postmaster goes to the first route", path("Postmaster", ""), 0},
      {"bare postmaster any case", path("POSTMASTER", ""), 0},
      {"unknown domain", path("x", "example.org"), std::nullopt},
      {"lookalike is not a subdomain", path("x", "badexample.com"), std::nullopt},
      {"parent of a suffix only", path("x", "com"), std::nullopt},
      {"address literal denied", path("x", "[127.0.0.1]"), std::nullopt},
      {"IPv6 literal denied", path("x", "[IPv6:::1]"), std::nullopt},
      {"local part without domain", path("alice", ""), std::nullopt},
      {"too long", path("x", std::string(300, 'a') + ".example.com"), std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(router.route_for(c.recipient), c.expected) << c.name;
  }
}

TEST(Router, DeniesEverythingWithoutRoutes) {
  const Router router({});
  EXPECT_EQ(router.route_for(path("Postmaster", "")), std::nullopt);
  EXPECT_EQ(router.route_for(path("a", "example.com")), std::nullopt);
  EXPECT_EQ(router.size(), 0u);
}

TEST(Router, ExposesRoutesByIndex) {
  const Router router = sample();
  ASSERT_EQ(router.size(), 3u);
  EXPECT_EQ(router.route(1).downstream.at(0).port, 2);
  EXPECT_THROW((void)router.route(3), std::out_of_range);
}

}  // namespace
}  // namespace mxgate::relay
