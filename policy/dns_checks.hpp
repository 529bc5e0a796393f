// The DNS checks (issue 4) as PendingChecks for policy/pipeline: what the sender's DNS says.
//   rdns           connect  PTR exists (rdns_missing), a PTR name resolves back to the client
//                           (forward-confirmed; rdns_mismatch), the name is not generic
//                           (rdns_generic). Fills DnsFacts (policy/facts.hpp) for the HELO
//                           check and Authentication-Results.
//   dnsbl / rhsbl  connect / MAIL  one PendingCheck per zone, so zones are asked concurrently;
//                           a listing scores the zone's weight or acts (reject/defer); a zone
//                           error (127.255.255.x, an answer outside 127/8) is counted, never a
//                           listing; a zone failing its probe is skipped (DnsblMonitor).
//   uri zones      end of data  the zones of type "uri" are asked about the message's linked
//                           domains by the linked_domains check (policy/content_checks.hpp)
//                           through judge_zone_answer(): signal uri_dnsbl_listed, the same
//                           filters, hygiene (plus the URI lists' own error codes), probes
//                           ("test" listed, "invalid" not) and metrics.
//   helo           HELO     judge_helo() rules, then the name must resolve and match the
//                           forward-confirmed PTR name or its domain (a mismatch only scores,
//                           RFC 5321 §4.1.4)
//   sender_domain  MAIL     MX (or A/AAAA, RFC 5321 §5.1); NXDOMAIN or nothing → reject
//                           (550 5.1.8), null MX → reject (550 5.7.27, RFC 7505 §4), a failed
//                           lookup → defer (451 4.4.3)
// The DNS checks run only for a client with an address, outside trusted_networks, with a
// resolver; rdns, dnsbl and helo not for a client an allow listing already accepted.
// A DNS failure (SERVFAIL, timeout) is a check error (on_error decides) or a defer, never a
// listing and never a 5xx. Checks hold the worker's Resolver by reference (it outlives them),
// the facts they write or read by shared_ptr, and everything else by value.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "conf/config.hpp"
#include "dns/resolver.hpp"
#include "policy/check_context.hpp"
#include "policy/facts.hpp"
#include "policy/pipeline.hpp"
#include "reputation/dnsbl.hpp"

namespace mxgate::policy {

// Per-zone state shared by all workers across reloads: up/down from the probes, and metrics
// labelled with zone names from the config (never from client data).
class DnsblMonitor {
 public:
  explicit DnsblMonitor(prometheus::Registry& registry);

  struct Zone {
    std::atomic<bool> up{true};
    prometheus::Counter* listed = nullptr;  // mxgate_dnsbl_hits_total{zone}
    prometheus::Counter* errors = nullptr;  // mxgate_dnsbl_zone_errors_total{zone}
    prometheus::Gauge* up_gauge = nullptr;  // mxgate_dnsbl_zone_up{zone}
  };
  // The zone's state, created on first use. Stable address.
  Zone& zone(const std::string& name);

 private:
  prometheus::Family<prometheus::Counter>& hits_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Gauge>& up_;
  std::mutex mutex_;  // guards zones_ (insertions)
  std::map<std::string, std::unique_ptr<Zone>> zones_;
};

// A [[dnsbl]] entry ready to query. Shared, not copied, by the checks of every session.
struct DnsblZone {
  conf::DnsblConfig config;
  std::vector<reputation::ReturnFilter> filters;
  DnsblMonitor::Zone* state = nullptr;
};
std::vector<std::shared_ptr<const DnsblZone>> make_dnsbl_zones(
    const std::vector<conf::DnsblConfig>& configs, DnsblMonitor& monitor);

PendingCheck rdns_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        common::IpBytes client, std::shared_ptr<DnsFacts> facts);

// What one zone's answer means: nothing (result empty), a failure (result.error: SERVFAIL or a
// timeout; on_error decides), or a listing (one verdict from the zone's weight or action;
// `zone` its name, `answer` the A record that listed, e.g. "127.0.0.2"). An error code answer is
// counted in the zone's errors, a listing in its hits. `linked`: for a zone of type "uri", the
// linked domain asked about (it names the listing: signal uri_dnsbl_listed, "links to <domain>,
// ...").
struct ZoneAnswer {
  CheckResult result;
  std::string zone;
  std::string answer;
};
ZoneAnswer judge_zone_answer(const DnsblZone& zone, const dns::Lookup<dns::AddressRecord>& lookup,
                             std::string_view linked = {});

// `target`: the name to look up under the zone (dnsbl_query_name / rhsbl_query_name applied).
PendingCheck dnsbl_zone_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                              std::shared_ptr<const DnsblZone> zone, std::string query_name);

PendingCheck helo_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                        std::string helo, common::IpBytes client, std::string our_hostname,
                        std::shared_ptr<const DnsFacts> facts);

PendingCheck sender_domain_dns_check(dns::Resolver& resolver, reputation::CheckSettings settings,
                                     std::string domain);

// For the registration table (policy/check_table.hpp). add_dnsbl: one check per [[dnsbl]] zone
// of type "ip" that is up; add_rhsbl: the zones of type "sender_domain", then "helo" (a HELO
// name that is a domain).
void add_rdns(const CheckContext& context, const reputation::CheckSettings& settings,
              std::vector<PendingCheck>& out);
void add_dnsbl(const CheckContext& context, const reputation::CheckSettings& settings,
               std::vector<PendingCheck>& out);
void add_helo(const CheckContext& context, const reputation::CheckSettings& settings,
              std::vector<PendingCheck>& out);
void add_sender_domain(const CheckContext& context, const reputation::CheckSettings& settings,
                       std::vector<PendingCheck>& out);
void add_rhsbl(const CheckContext& context, const reputation::CheckSettings& settings,
               std::vector<PendingCheck>& out);

// Probes a zone with its test entries (RFC 5782 §5: 127.0.0.2 listed, 127.0.0.1 not; for
// RHSBL "test" listed and "invalid" not). Returns whether the zone behaved.
boost::asio::awaitable<bool> probe_dnsbl_zone(dns::Resolver& resolver, const DnsblZone& zone);

}  // namespace mxgate::policy
