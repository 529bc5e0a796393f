#include "auth/iprev.hpp"

namespace mxgate::auth {

std::string_view iprev_result_name(IprevResult result) {
  switch (result) {
    case IprevResult::Pass: return "pass";
    case IprevResult::Fail: return "fail";
    case IprevResult::TempError: return "temperror";
    case IprevResult::PermError: return "permerror";
  }
  return "permerror";
}

boost::asio::awaitable<Iprev> check_iprev(dns::Resolver& resolver, common::IpBytes ip,
                                          unsigned max_names) {
  Iprev out;
  const auto ptr = co_await resolver.ptr(ip);
  if (dns::is_failure(ptr.outcome)) {
    out.result = IprevResult::TempError;
    co_return out;
  }
  bool failed = false;
  unsigned tried = 0;
  for (const auto& record : ptr.records) {
    if (++tried > max_names) break;
    std::string name = record.name;
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (out.name.empty()) out.name = name;
    const auto forward = co_await resolver.addresses(name, ip.family);
    failed = failed || dns::is_failure(forward.outcome);
    if (dns::has_address(forward, ip)) {
      out.result = IprevResult::Pass;
      out.name = name;
      co_return out;
    }
  }
  out.result = failed ? IprevResult::TempError : IprevResult::Fail;
  co_return out;
}

}  // namespace mxgate::auth
