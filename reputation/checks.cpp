#include "reputation/checks.hpp"

#include <algorithm>
#include <array>

namespace mxgate::reputation {
namespace {

using Points = CheckSettings::Points;
using OnError = CheckSettings::OnError;

constexpr std::array<Points, 3> kRdnsPoints{{
    {Signal::RdnsMissing, 3}, {Signal::RdnsMismatch, 2}, {Signal::RdnsGeneric, 1.5}}};
constexpr std::array<Points, 2> kHeloPoints{{{Signal::HeloInvalid, 3}, {Signal::HeloMismatch, 1}}};

// SPF may take ten lookups in a row (RFC 7208 §4.6.4); DKIM and DMARC a few.
constexpr std::chrono::milliseconds kAuthTimeout{5000};

constexpr std::array<Points, 2> kSpfPoints{{{Signal::SpfFail, 3}, {Signal::SpfSoftfail, 1}}};
constexpr std::array<Points, 2> kDkimPoints{
    {{Signal::DkimFail, 1.5}, {Signal::DkimUnsignedContent, 1}}};
constexpr std::array<Points, 2> kDmarcPoints{
    {{Signal::DmarcFail, 2}, {Signal::Unauthenticated, 2}}};

// Content (issue 17): a missing From or a broken MIME structure is what a hand-rolled spam
// tool produces; a missing Message-ID alone is common in legitimate automated mail.
constexpr std::array<Points, 14> kFormatPoints{{{Signal::DateMissing, 1},
                                                {Signal::DateDuplicate, 1.5},
                                                {Signal::FromMissing, 2},
                                                {Signal::FromDuplicate, 2},
                                                {Signal::MessageIdMissing, 0.5},
                                                {Signal::HeaderNoColon, 1.5},
                                                {Signal::HeaderBadName, 1},
                                                {Signal::Header8bit, 1},
                                                {Signal::MimeNoBoundary, 2},
                                                {Signal::MimeUnterminated, 1},
                                                {Signal::MimeBoundaryUnseen, 2},
                                                {Signal::MimeBadEncoding, 1},
                                                {Signal::MimeBadBase64, 1.5},
                                                {Signal::MimeOverLimit, 2}}};
constexpr std::array<Points, 1> kBulkPoints{{{Signal::BulkNoOneClick, 3}}};

constexpr std::array<CheckInfo, 16> kChecks{{
    {"ip_history", Stage::Connect,
     "The client IP's and its networks' history: listings, score, reject, complaint and "
     "invalid-recipient ratios.",
     OnError::Ignore, {}},
    {"sender_domain_history", Stage::Mail,
     "The envelope sender domain's history: listings, score and ratios.", OnError::Ignore, {}},
    {"rdns", Stage::Connect,
     "Reverse DNS: a PTR name exists, resolves back to the client, and does not look generic.",
     OnError::Ignore, kRdnsPoints},
    {"dnsbl", Stage::Connect, "DNS block and allow lists of IP addresses ([[dnsbl]] type ip).",
     OnError::Ignore, {}},
    {"pregreet", Stage::Connect, "The client talked before the greeting banner ended.",
     OnError::Ignore, {}},
    {"helo", Stage::Helo,
     "The HELO/EHLO name: a valid FQDN or the client's own address literal, that resolves and "
     "matches the reverse DNS name.",
     OnError::Ignore, kHeloPoints},
    {"sender_domain", Stage::Mail,
     "The envelope sender domain can receive mail: it has MX or address records and no null MX.",
     OnError::Ignore, {}},
    {"rhsbl", Stage::Mail,
     "DNS block lists of domains ([[dnsbl]] type helo and sender_domain).", OnError::Ignore, {}},
    {"spf", Stage::Mail, "SPF (RFC 7208) of the MAIL FROM identity, or of HELO for the null sender.",
     OnError::Ignore, kSpfPoints, kAuthTimeout},
    {"dkim", Stage::EndOfData,
     "DKIM signatures (RFC 6376): failing ones score when none passed; l= leaving content unsigned.",
     OnError::Ignore, kDkimPoints, kAuthTimeout},
    {"arc", Stage::EndOfData,
     "The ARC chain (RFC 8617) that intermediaries added: its result goes into "
     "Authentication-Results, and a trusted sealer's may stop a DMARC policy.",
     OnError::Ignore, {}, kAuthTimeout},
    {"dmarc", Stage::EndOfData,
     "The From domain's DMARC policy (RFC 7489), and mail that nothing authenticated.",
     OnError::Ignore, kDmarcPoints, kAuthTimeout},
    {"throttle", Stage::Connect,
     "Sending patterns ([throttle], [[limit]]): rate limits at connect, MAIL, RCPT and end of "
     "data, the new-IP ramp, anomalies, list hygiene. A deferral is 421 and ends the session.",
     OnError::Ignore, {}},
    {"format", Stage::EndOfData,
     "The message's format: RFC 5322 header fields (Date, From, Message-ID, field syntax, 8-bit "
     "bytes) and MIME structure (RFC 2045-2049: boundaries, encodings, limits).",
     OnError::Ignore, kFormatPoints},
    {"linked_domains", Stage::EndOfData,
     "The domains and addresses the message links to: uri: listings in the store and [[dnsbl]] "
     "type uri zones.",
     OnError::Ignore, {}},
    {"bulk_unsubscribe", Stage::EndOfData,
     "Bulk mail (List-Id, List-Unsubscribe, Precedence: bulk, or a high-volume sender) must offer "
     "a DKIM-signed one-click unsubscribe (RFC 8058).",
     OnError::Ignore, kBulkPoints},
}};

}  // namespace

std::span<const CheckInfo> known_checks() { return kChecks; }

const CheckInfo* find_check(std::string_view name) {
  auto it = std::find_if(kChecks.begin(), kChecks.end(),
                         [&](const CheckInfo& check) { return check.name == name; });
  return it == kChecks.end() ? nullptr : &*it;
}

std::vector<CheckSettings> default_check_settings() {
  std::vector<CheckSettings> out;
  for (const auto& check : kChecks) {
    CheckSettings settings;
    settings.name = check.name;
    settings.on_error = check.on_error;
    settings.timeout = check.timeout;
    settings.points.assign(check.points.begin(), check.points.end());
    out.push_back(std::move(settings));
  }
  return out;
}

}  // namespace mxgate::reputation
