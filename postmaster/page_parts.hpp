// Pieces shared by the portal's HTML pages (portal_page.cpp, delist_page.cpp); internal to
// postmaster/. Pure functions; all outside text is escaped by the function that prints it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postmaster/ip_report.hpp"
#include "postmaster/portal_page.hpp"

namespace mxgate::postmaster {

std::string page_head(std::string_view title);  // doctype to <body>, the title escaped
std::string_view page_foot();
// <time datetime="2026-12-06T22:58:00Z">6 December 2026, 22:58 UTC</time> (in 3 days)
std::string time_html(std::int64_t at, std::int64_t now);
// The reverse-DNS and blocklist checks, "" when they did not run.
std::string checks_html(const LiveChecks& checks);
// The "Delisting" section of the lookup page: the latest request's state, what a request
// would lead to, and the form when one is taken. "" when there is nothing to say.
std::string delisting_html(const IpReport& report);
// Why a request goes to an operator, one sentence each (escaped HTML).
std::vector<std::string> review_reasons_html(const IpReport& report, const DelistDecision& d);

// The section on a message refused for a listed linked domain, and its JSON member
// (",\"linked_domain\":{...}" or null); linked_domain_page.cpp. "" / null without a note.
std::string linked_domain_html(const IpReport& report);
std::string linked_domain_json(const IpReport& report);
// The guidance for a signal of a message's content (issue 17), nullopt for another signal.
std::optional<Guidance> content_guidance(reputation::Signal signal);

}  // namespace mxgate::postmaster
