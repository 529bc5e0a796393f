// libFuzzer target of the admin API's request path (admin/api.hpp on http/server.hpp): the bytes
// of one HTTP/1.1 request, read by Boost.Beast's parser under the server's limits
// (http::Limits, the API's body limit), then answered by admin::Api::answer() over a real
// reputation store in a scratch directory (records, delisting requests, ARF complaints, the
// queue's and the control paths). The bearer token and the loopback check sit in serve(),
// which needs a socket; they are left to tests/admin/api_test.cpp.
// Checked (fuzz_http.hpp): a documented status, header values that cannot split the response,
// Allow on 405; a GET asked twice gets the same answer (it changes nothing).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "admin/api.hpp"
#include "tests/fuzz/fuzz_http.hpp"

namespace {

namespace beast = boost::beast;
using mxgate::fuzz::check;

constexpr std::int64_t kNow = 1'750'000'000;  // a fixed clock: answers must not depend on it

mxgate::admin::Api& api() {
  static const auto instance = [] {
    auto a = std::make_unique<mxgate::admin::Api>(mxgate::fuzz::scratch_store());
    a->set_control({[] { return std::string(); }, [] {}});
    return a;
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& handler = api();
  const auto request = mxgate::fuzz::read_request(mxgate::fuzz::text(data, size), handler);
  if (!request) return 0;
  const mxgate::http::Response res = handler.answer(*request, kNow);
  mxgate::fuzz::check_response(res);
  if (request->method() == beast::http::verb::get) {
    const mxgate::http::Response again = handler.answer(*request, kNow);
    check(again.result() == res.result() && again.body() == res.body());
  }
  return 0;
}
