// What the postmaster portal knows and decides about one IP (issues 8 and 15), pure: the
// portal (portal.hpp) gathers the facts, judge_ip() weighs them as the connect stage would,
// and decide_delist() says what a delisting request would lead to. The page (portal_page.hpp)
// and POST /postmaster/delist both ask decide_delist(), so that the page never offers a
// request the server then refuses, and says in advance what will happen.
//
// An IpReport holds, for the one IP asked about (nothing about any other address is shown):
// - status: blocked (a listing of the IP or of a network containing it, a score at
//   reputation.reject_at, or a DNS blocklist), deferred (a score at defer_at, a throttle
//   deferral in effect, or a blocklist weighed so), or not listed; since and until when;
// - what decided the status (its cause), and the listed network when a network is listed;
// - each reason, with the best practice that fixes it;
// - the reverse-DNS checks run at request time; the IP's latest delisting request;
// - the latest message refused for a listed linked domain (issue 17), for a week: the domain,
//   who listed it and why. It does not change the status: the listing is the domain's, and
//   mail without the link is judged as any other.
// Threading: pure functions. Failure: none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postmaster/delist.hpp"
#include "reputation/model.hpp"
#include "reputation/policy.hpp"
#include "reputation/record.hpp"
#include "reputation/verdict.hpp"
#include "storage/linked_note.hpp"

namespace mxgate::postmaster {

struct LiveChecks {
  bool ran = false;
  std::string ptr;                     // the first PTR name, "" for none
  std::string confirmed_name;          // a PTR name that resolves back to the IP, "" for none
  bool lookup_failed = false;          // a DNS lookup failed: the result is not final
  std::optional<std::string> generic;  // why the PTR name looks generic
  std::vector<std::string> dnsbls;     // the configured block lists (not allow lists) listing
                                       // the IP now
  // Reverse DNS passes: a confirmed name that does not look generic (blocklists not included).
  bool pass() const { return ran && !confirmed_name.empty() && !generic; }
  // Not passing, and not known to fail either: the checks did not run, or a lookup failed.
  bool inconclusive() const { return !ran || (lookup_failed && !pass()); }
};

struct PortalReason {
  reputation::Signal signal = reputation::Signal::None;
  std::string detail;  // a listing's reason (the lister's words), or a throttle's limit
};

struct IpReport {
  enum class Status { NotListed, Deferred, Blocked };
  // What decided the status: our listing (of the IP or its network), our reputation score, a
  // throttle deferral that ends by itself, or an outside DNS blocklist.
  enum class Cause { None, Listing, Score, Deferral, Blocklist };
  std::string ip;
  Status status = Status::NotListed;
  Cause cause = Cause::None;
  std::string listed_network;  // "198.51.100.0/24" when a network's listing is what is listed
  bool allow_listed = false;   // on our allow list (the IP or its network): never refused
  bool manual = false;         // the listing was made by an operator or a feed (not "auto...")
  std::int64_t since = 0;      // Unix seconds, 0: unknown
  std::int64_t until = 0;      // Unix seconds, 0: unknown or never
  std::int64_t now = 0;        // when the report was made (for "in 3 days")
  std::vector<PortalReason> reasons;
  LiveChecks checks;
  std::optional<std::uint64_t> ramp_allowance;  // a new IP's messages per day
  std::optional<DelistRequest> request;         // the latest delisting request (any state)
  std::int64_t last_delisted = 0;               // Unix seconds of the last approval, 0: never
  // The latest refusal of the IP's mail for a listed linked domain, when recent enough to show
  // (storage::linked_domain_note_shown).
  std::optional<storage::LinkedDomainNote> linked_domain;
};

// A throttle deferral of the IP that may still be in effect.
struct DeferralShown {
  reputation::Signal signal = reputation::Signal::RateLimited;
  std::string reason;
  std::int64_t at = 0;
  std::int64_t until = 0;
};

// A network containing the IP, as looked up at connect (its record: nullptr for none).
struct NetworkShown {
  std::string cidr;  // "198.51.100.0/24"
  const reputation::Record* record = nullptr;
};

// Judges an IP from its record and its networks' (most general first), as the connect stage
// would.
IpReport judge_ip(std::string ip, const reputation::Record* ip_record,
                  const std::vector<NetworkShown>& networks, const reputation::ModelSettings& model,
                  const reputation::Thresholds& thresholds,
                  const std::optional<DeferralShown>& deferral, std::int64_t now);

std::string_view status_name(IpReport::Status status);  // "not listed", "deferred", "blocked"

// What a delisting request for the IP would lead to, now.
struct DelistDecision {
  enum class Outcome {
    NotListed,     // nothing to delist
    RequestOpen,   // a request is already waiting for an operator: no second one
    WaitsOut,      // a throttle deferral that ends by itself: nothing to ask
    AskBlocklist,  // an outside blocklist decides: ask its operators
    Immediate,     // approved at once
    Review,        // accepted, an operator decides
  };
  Outcome outcome = Outcome::NotListed;
  // Why a request goes to an operator (Review); more than one may hold.
  bool manual_listing = false;     // an operator or a feed listed it
  bool network_listing = false;    // the listing is the network's, not the address's
  bool relisted = false;           // delisted less than kRelistWindowSeconds ago
  bool reverse_dns_fails = false;  // the live checks fail (or could not run)
  // A request is taken (the page shows the form).
  bool form() const { return outcome == Outcome::Immediate || outcome == Outcome::Review; }
  // Fixing reverse DNS alone would make a request approved at once.
  bool only_reverse_dns() const {
    return reverse_dns_fails && !manual_listing && !network_listing && !relisted;
  }
};
DelistDecision decide_delist(const IpReport& report);

std::string_view outcome_name(DelistDecision::Outcome outcome);  // "immediate", "review", ...
// Why a request goes to an operator, in the JSON's words: "network-listing", "manual-listing",
// "relisted", "reverse-dns" (in that order).
std::vector<std::string_view> review_reason_names(const DelistDecision& d);

}  // namespace mxgate::postmaster
