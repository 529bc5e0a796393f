#include "auth/iprev.hpp"

#include <algorithm>

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
    dns::Lookup<dns::AddressRecord> forward;
    if (ip.family == 4) {
      forward = co_await resolver.a(name);
    } else {
      forward = co_await resolver.aaaa(name);
    }
    failed = failed || dns::is_failure(forward.outcome);
    const bool confirms = std::any_of(forward.records.begin(), forward.records.end(),
                                      [&](const dns::AddressRecord& a) {
                                        return a.address.family == ip.family &&
                                               a.address.bytes == ip.bytes;
                                      });
    if (confirms) {
      out.result = IprevResult::Pass;
      out.name = name;
      co_return out;
    }
  }
  out.result = failed ? IprevResult::TempError : IprevResult::Fail;
  co_return out;
}

}  // namespace mxgate::auth
