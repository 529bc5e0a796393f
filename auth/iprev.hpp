// iprev (RFC 8601 §3): does the client's PTR name resolve back to the client's address?
// pass with the name; fail when there is no PTR or no name confirms; temperror when a lookup
// failed and none confirmed. At most `max_names` PTR names are tried (10, as SPF's ptr).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "common/cidr.hpp"
#include "dns/resolver.hpp"

namespace mxgate::auth {

enum class IprevResult { Pass, Fail, TempError, PermError };
std::string_view iprev_result_name(IprevResult result);

struct Iprev {
  IprevResult result = IprevResult::Fail;
  std::string name;  // the confirmed name (pass), or the first PTR name (fail), without dot
};

boost::asio::awaitable<Iprev> check_iprev(dns::Resolver& resolver, common::IpBytes ip,
                                          unsigned max_names = 10);

}  // namespace mxgate::auth
