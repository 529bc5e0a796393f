// The checks mxgate runs: one closed list with each check's stage and default settings. Config
// ([checks.<name>]) may change a check's weight, mode, timeout and on_error, never add one; a
// name here is stable (config, logs and metrics refer to it). Pure data.
#pragma once

#include <span>
#include <string_view>

#include "reputation/policy.hpp"
#include "reputation/verdict.hpp"

namespace mxgate::reputation {

struct CheckInfo {
  std::string_view name;
  Stage stage;
  std::string_view description;
  CheckSettings::OnError on_error;  // the default: what a failing check means for mail
  std::span<const CheckSettings::Points> points;  // the signals it scores, default points
  std::chrono::milliseconds timeout = kDefaultCheckTimeout;
};

// ip_history             connect  the client IP's and its networks' records (listings, score,
//                                 ratios); a store error is ignored so mail keeps flowing
// sender_domain_history  mail     the MAIL FROM domain's record, the same model
// rdns                   connect  PTR exists, forward-confirmed, not generic (points)
// dnsbl                  connect  [[dnsbl]] type "ip" zones (each zone's weight and action)
// pregreet               connect  talking before the banner: an explicit reject
// helo                   helo     HELO/EHLO syntax, resolves, matches the PTR name (points;
//                                 a mismatch only scores, RFC 5321 §4.1.4)
// sender_domain          mail     MX or A/AAAA exists: NXDOMAIN 550 5.1.8, null MX 550 5.7.27,
//                                 a lookup failure 451 4.4.3
// rhsbl                  mail     [[dnsbl]] type "helo" and "sender_domain" zones
// spf                    mail     SPF of MAIL FROM (HELO for the null sender): fail/softfail
//                                 score; the result is kept for DMARC and Authentication-Results
// dkim                   eod      signatures that all failed score; l= leaving content unsigned
// arc                    eod      the ARC chain (RFC 8617): for Authentication-Results and for
//                                 dmarc's trusted_arc_sealers; no signal of its own
// dmarc                  eod      the From domain's policy: reject/quarantine enforced per
//                                 [auth], otherwise dmarc_fail scores; unauthenticated mail scores
// throttle               all      rate limits, new-IP ramp, anomaly, list hygiene (issue 6):
//                                 a deferral drops the session with 421
// format                 eod      RFC 5322 / MIME findings of the content parser (points)
// linked_domains         eod      linked domains: uri: listings (block: 554) and type "uri" zones
// bulk_unsubscribe       eod      bulk mail without DKIM-signed RFC 8058 one-click unsubscribe
// DNS checks ignore their own errors by default (on_error = "ignore"): a resolver outage must
// not defer all mail; the failures are counted.
std::span<const CheckInfo> known_checks();
const CheckInfo* find_check(std::string_view name);  // null for an unknown name

// The default settings of every known check, in known_checks() order.
std::vector<CheckSettings> default_check_settings();

}  // namespace mxgate::reputation
