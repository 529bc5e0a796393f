// The content side of the portal (issue 17): the lookup page's section on a message refused for
// a listed linked domain (IpReport::linked_domain), its JSON, and the guidance for the signals
// that a message's content raises (format, linked domains, one-click unsubscribe).
//
// Delisting a linked domain is not self-service: the listing is the domain's, not the sender
// address's, and whoever mails a link is rarely who runs the site. The page says so: the site's
// owner removes the infection, then asks for delisting (our listing: an operator reviews the
// request and lifts it with `mxgate rep set uri:DOMAIN --clear`, as operators review manual IP
// listings; a URI blocklist's listing: that list's operators). The address's own delisting
// form (delist_page.cpp) applies to the address only.
#include <fmt/format.h>

#include "postmaster/page_parts.hpp"
#include "postmaster/portal_page.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::postmaster {
namespace {

using reputation::Signal;

// The seed's words: what a listed linked domain means for mail that carries it.
constexpr std::string_view kInfectedSite =
    "An infected website or domain: emails linked to it will be blocked.";
constexpr std::string_view kFindAndRemove =
    "Find and remove the infection: if the site is yours, clean it (malware, injected pages or "
    "scripts, unexpected redirects), update its software and change its passwords; if it is "
    "someone else's, remove the link to the compromised site from your mail and templates. Mail "
    "without the link is not refused for it.";

bool ours(const storage::LinkedDomainNote& note) {
  return note.listed_by.starts_with(kLinkedTargetPrefix);
}

// Who lifts the listing, and how: never the sender's own delisting form.
std::string delist_text(const storage::LinkedDomainNote& note) {
  if (ours(note)) {
    return "Then ask to be delisted: the listing is the domain's, not this address's, so the "
           "delisting form of this page cannot lift it. Once the site is clean, its owner "
           "writes to the postmaster of the domain you were sending to (postmaster@ that "
           "domain, RFC 5321 section 4.5.1) and asks for the domain's delisting; an operator "
           "reviews the site and lifts the listing.";
  }
  return fmt::format(
      "Then ask to be delisted: the domain is listed on the URI blocklist {}, which we use; "
      "once the site is clean, its owner asks that list's operators to remove it (their site "
      "says how). We do not decide that listing.",
      note.listed_by);
}

std::string listed_by_html(const storage::LinkedDomainNote& note) {
  if (ours(note)) return "which we list as compromised or malicious";
  return fmt::format("which the URI blocklist <code>{}</code> lists", html_escape(note.listed_by));
}

}  // namespace

std::string linked_domain_html(const IpReport& r) {
  if (!r.linked_domain) return {};
  const auto& note = *r.linked_domain;
  std::string out = fmt::format(
      "<section id=\"linked-domain\" class=\"warn\"><h2>Mail refused for a linked domain</h2>\n"
      "<p>We refused a message from this address {} because it links to "
      "<strong class=\"domain\">{}</strong>, {}.",
      time_html(note.at, r.now), html_escape(note.domain), listed_by_html(note));
  if (!note.reason.empty()) {
    out += fmt::format(" Reason given: <q class=\"detail\">{}</q>", html_escape(note.reason));
  }
  out += fmt::format("</p>\n<p><strong>{}</strong> {}</p>\n<p>{}</p>\n", kInfectedSite,
                     html_escape(kFindAndRemove), html_escape(delist_text(note)));
  out += fmt::format(
      "<p><a href=\"{}#linked-domains\">About links in mail</a> "
      "<small class=\"support\">For support: <code>{} {}</code></small></p></section>\n",
      kBestPracticesPath,
      reputation::signal_name(ours(note) ? Signal::UriListed : Signal::UriDnsblListed),
      html_escape(note.listed_by));
  return out;
}

std::string linked_domain_json(const IpReport& r) {
  if (!r.linked_domain) return ",\"linked_domain\":null";
  const auto& note = *r.linked_domain;
  return fmt::format(
      ",\"linked_domain\":{{\"domain\":\"{}\",\"listed_by\":\"{}\",\"listed_by_us\":{},"
      "\"reason\":\"{}\",\"refused_at\":\"{}\",\"guidance\":\"{}\",\"delisting\":\"{}\","
      "\"link\":\"{}#linked-domains\"}}",
      json_escape(note.domain), json_escape(note.listed_by), ours(note) ? "true" : "false",
      json_escape(note.reason), format_time(note.at),
      json_escape(fmt::format("{} {}", kInfectedSite, kFindAndRemove)),
      json_escape(delist_text(note)), kBestPracticesPath);
}

std::optional<Guidance> content_guidance(Signal signal) {
  auto format = [](std::string_view advice) { return Guidance{"format", advice}; };
  switch (signal) {
    case Signal::DateMissing:
      return format(
          "Add a Date header field with the time the message was written (RFC 5322 "
          "section 3.6.1); every message carries exactly one.");
    case Signal::DateDuplicate:
      return format(
          "Send exactly one Date header field: remove the one your software adds "
          "twice.");
    case Signal::FromMissing:
      return format(
          "Add a From header field naming the author's address (RFC 5322 section "
          "3.6.2).");
    case Signal::FromDuplicate:
      return format("Send exactly one From header field.");
    case Signal::MessageIdMissing:
      return format(
          "Give every message a unique Message-ID header field, such as "
          "<unique-part@your-domain> (RFC 5322 section 3.6.4).");
    case Signal::HeaderNoColon:
      return format(
          "Write every header line as \"Name: value\", and start each continuation "
          "line with a space or a tab (RFC 5322 section 2.2); fix the software that "
          "writes the broken line.");
    case Signal::HeaderBadName:
      return format(
          "Use field names of printable ASCII characters without spaces or colons "
          "(RFC 5322 section 3.6.8), such as X-Campaign-Id.");
    case Signal::Header8bit:
      return format(
          "Encode non-ASCII text in header fields as RFC 2047 encoded words, or send "
          "with SMTPUTF8 when our server offers it (RFC 6531).");
    case Signal::MimeNoBoundary:
      return format(
          "Give every multipart Content-Type its boundary parameter (RFC 2046 "
          "section 5.1.1).");
    case Signal::MimeUnterminated:
      return format(
          "End every multipart body with its closing boundary line, the boundary "
          "followed by two hyphens (RFC 2046 section 5.1.1).");
    case Signal::MimeBoundaryUnseen:
      return format(
          "Make the body use the boundary its Content-Type declares; check the "
          "software that builds the MIME structure.");
    case Signal::MimeBadEncoding:
      return format(
          "Use a Content-Transfer-Encoding that RFC 2045 defines: 7bit, 8bit, binary, "
          "quoted-printable or base64.");
    case Signal::MimeBadBase64:
      return format(
          "Encode base64 parts correctly (RFC 2045 section 6.8): only the base64 "
          "alphabet, in lines of at most 76 characters, padded with '='.");
    case Signal::MimeOverLimit:
      return format(
          "Keep the MIME structure simple: fewer nested parts, fewer parts and fewer "
          "header fields.");
    case Signal::UriListed:
      return Guidance{"linked-domains",
                      "The message links to a domain we list as compromised or malicious. Find "
                      "and remove the infection, or the link to the compromised site, then ask "
                      "for the domain's delisting."};
    case Signal::UriDnsblListed:
      return Guidance{"linked-domains",
                      "The message links to a domain on a URI blocklist that we use. Find and "
                      "remove the infection, or the link, then ask that list to remove the "
                      "domain."};
    case Signal::BulkNoOneClick:
      return Guidance{"one-click",
                      "Bulk mail must offer one-click unsubscribe (RFC 8058): a List-Unsubscribe "
                      "header field with an https URI, plus List-Unsubscribe-Post: "
                      "List-Unsubscribe=One-Click, both covered by a passing DKIM signature "
                      "(name them in its h= tag)."};
    case Signal::MilterReject:
      return Guidance{"content-filter",
                      "Our content filter refused the message for what it carries (spam, a "
                      "virus, a phishing pattern). Check the message and the systems that send "
                      "it; the refusal's text says what the filter found."};
    case Signal::MilterTempfail:
      return Guidance{"content-filter",
                      "Our content filter could not judge the message in time. This is on our "
                      "side: keep the message queued and retry; it will be accepted once the "
                      "filter answers."};
    default:
      return std::nullopt;
  }
}

}  // namespace mxgate::postmaster
