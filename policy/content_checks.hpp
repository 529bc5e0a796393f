// The content checks of the end of data (issue 17), over what the content parser found in the
// message (content::MessageParser, finished), for a client whose content is judged
// (CheckContext::judging_content: [content] enabled, a client address, not trusted):
//   format            one verdict per format finding (content/findings.hpp), with the signal of
//                     the same name and its points ([checks.format.points]); the reason is the
//                     finding's detail.
//   linked_domains    one check per linked domain (at most [content] max_uri_domains): the
//                     store's listing uri:<domain> first (block: reject, signal uri_listed,
//                     "554 5.7.1 Blocked"; allow: the domain's zones are not asked), then each
//                     [[dnsbl]] zone of type "uri" that is up (signal uri_dnsbl_listed with the
//                     zone's weight, or its action), concurrently across domains. The listing
//                     that refused (else the first found) goes to the transaction's
//                     ContentFindings (policy/facts.hpp) for the portal's note.
//   bulk_unsubscribe  bulk mail (List-Id, List-Unsubscribe, Precedence: bulk or list, or a
//                     sender domain with more accepted messages today than [content]
//                     bulk_daily_volume) that does not offer one-click unsubscribe as RFC 8058
//                     asks: an https List-Unsubscribe URI (§3.1), List-Unsubscribe-Post:
//                     List-Unsubscribe=One-Click (§3.2), both fields in the h= of a DKIM
//                     signature that passed (§4). Signal bulk_no_one_click. It runs after dkim
//                     (phase Then); without DKIM results (not authenticating, dkim off or not
//                     finished) nothing proves the signature, so bulk mail raises it.
// Judging is pure (judge_*), so the unit tests need no parser, store or DNS. A store read that
// fails or a zone that fails (SERVFAIL, timeout) with no listing found is a check error
// (on_error decides), never a listing.
// Threading: the session's worker, like every check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/message_auth.hpp"
#include "content/findings.hpp"
#include "content/message_parser.hpp"
#include "policy/check_context.hpp"
#include "policy/dns_checks.hpp"
#include "policy/facts.hpp"
#include "reputation/record.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::policy {

// The parser's options from [content] (and [auth] max_header_size, the header kept).
content::ParseOptions parse_options(const conf::Config& config, bool smtputf8);

// The reputation signal of a format finding (the same name; signals 29..42).
reputation::Signal finding_signal(content::Finding finding);

CheckResult judge_format(const reputation::CheckSettings& settings,
                         const std::vector<content::FindingDetail>& findings);

// What was learned about one linked domain: the store's uri:<domain> record (`store` says
// whether it was found) and the answers of the zones asked (judge_zone_answer, dns_checks.hpp).
struct LinkedDomainAnswers {
  std::string domain;  // as the parser gave it: a registrable domain or an IP literal's text
  storage::Lookup store = storage::Lookup::Missing;
  reputation::Record record;  // when store is Found
  std::vector<ZoneAnswer> zones;
};

// The store's listing of a linked domain, when it decides alone: block → reject (uri_listed),
// allow → nothing and no zone is asked. nullopt: ask the zones.
std::optional<CheckResult> judge_uri_listing(const LinkedDomainAnswers& answers, std::int64_t now);

// The verdict of one linked domain, and what the portal's note says about it in `findings`
// (written when this domain's listing refuses, or when nothing was noted yet).
CheckResult judge_linked(const LinkedDomainAnswers& answers, std::int64_t now,
                         ContentFindings& findings);

// What makes a message bulk, for the reason text: "List-Id, Precedence: bulk"; "" when it is
// not bulk. `sender_accepted_today`: the sender domain's accepted messages today;
// `daily_volume` 0: the volume does not make mail bulk.
std::string bulk_because(const content::BulkFacts& bulk, std::uint64_t sender_accepted_today,
                         std::uint32_t daily_volume);
// Whether a passing DKIM signature covers both List-Unsubscribe and List-Unsubscribe-Post.
bool one_click_signed(const std::vector<auth::DkimCheck>& dkim);
CheckResult judge_bulk(const reputation::CheckSettings& settings, const content::BulkFacts& bulk,
                       std::uint64_t sender_accepted_today, std::uint32_t daily_volume,
                       const std::vector<auth::DkimCheck>& dkim);

// For the registration table (policy/check_table.hpp).
void add_format(const CheckContext& context, const reputation::CheckSettings& settings,
                std::vector<PendingCheck>& out);
void add_linked_domains(const CheckContext& context, const reputation::CheckSettings& settings,
                        std::vector<PendingCheck>& out);
void add_bulk_unsubscribe(const CheckContext& context, const reputation::CheckSettings& settings,
                          std::vector<PendingCheck>& out);

}  // namespace mxgate::policy
