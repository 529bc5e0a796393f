// libFuzzer target of the postmaster portal's request path (postmaster/portal.hpp on
// http/server.hpp): the bytes of one HTTP/1.1 request from anyone on the Internet, read by
// Boost.Beast's parser under the server's limits (http::Limits), then answered by
// postmaster::Portal::answer() over a real reputation store in a scratch directory: lookups
// (HTML and JSON), delisting requests (which write to the store), the static pages. No
// resolver (no live DNS checks) and no per-IP rate limit, so that every input reaches the pages.
// Checked (fuzz_http.hpp, and here): a documented status; header values that cannot split the
// response; the security headers on every response; JSON that is one object with no raw
// control character (every string escaped); HTML with no <script> (everything echoed escaped).
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "policy/rules.hpp"
#include "postmaster/metrics.hpp"
#include "postmaster/portal.hpp"
#include "tests/fuzz/fuzz_http.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using mxgate::fuzz::check;

struct PortalWorld {
  asio::io_context io;
  prometheus::Registry registry;
  mxgate::postmaster::PostmasterMetrics metrics{registry};
  std::shared_ptr<const mxgate::policy::Rules> rules;
  std::unique_ptr<mxgate::postmaster::Portal> portal;

  PortalWorld() {
    auto config = std::make_shared<mxgate::conf::Config>();
    config->portal.requests_per_minute = 0;      // no rate limit: every input is answered
    config->portal.delist_requests_per_day = 0;  // no quota
    auto r = std::make_shared<mxgate::policy::Rules>();
    r->config = std::move(config);
    rules = std::move(r);
    portal = std::make_unique<mxgate::postmaster::Portal>(
        mxgate::fuzz::scratch_store(), io.get_executor(), nullptr, [this] { return rules; },
        nullptr, metrics);
  }
};

PortalWorld& world() {
  static PortalWorld instance;
  return instance;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void check_body(const mxgate::http::Response& res) {
  const std::string_view type = res[beast::http::field::content_type];
  const std::string& body = res.body();
  if (type.starts_with("application/json")) {
    check(body.starts_with("{") && body.ends_with("}\n"));
    check(std::none_of(body.begin(), body.end() - 1,
                       [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
  } else if (type.starts_with("text/html")) {
    check(lower(body).find("<script") == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& w = world();
  const auto request = mxgate::fuzz::read_request(mxgate::fuzz::text(data, size), *w.portal);
  if (!request) return 0;
  const auto peer = asio::ip::make_address("192.0.2.1");
  std::optional<mxgate::http::Response> res;
  std::exception_ptr error;
  asio::co_spawn(w.io, w.portal->answer(*request, peer),
                 [&](std::exception_ptr e, mxgate::http::Response r) {
                   error = e;
                   res = std::move(r);
                 });
  w.io.restart();
  w.io.run();
  check(!error && res.has_value());  // a handler never throws
  mxgate::fuzz::check_response(*res);
  check(res->find("Content-Security-Policy") != res->end());
  check_body(*res);
  return 0;
}
