#include "postmaster/portal_page.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "postmaster/human_time.hpp"
#include "postmaster/page_parts.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::postmaster {
namespace {

using reputation::Signal;

struct Topic {
  std::string_view anchor;
  std::string_view title;
  std::string_view text;
};

// The best-practices page: what a well-run sending server does, one section per topic.
constexpr Topic kTopics[] = {
    {"rdns", "Reverse DNS that confirms forward",
     "Give every sending IP a PTR record naming the server (mail.example.com), and make that "
     "name resolve back to the same IP (forward-confirmed reverse DNS). Avoid generic names "
     "that encode the address (192-0-2-7.dynamic.example.net): they look like home connections."},
    {"helo", "HELO/EHLO name",
     "Greet with the server's own fully qualified domain name, the one its PTR record names "
     "and that resolves to its IP; never a bare word, an address literal of another host, or "
     "our own name."},
    {"spf", "SPF",
     "Publish an SPF record (RFC 7208) for every domain you send from, listing every IP that "
     "sends its mail, and end it with -all or ~all once complete."},
    {"dkim", "DKIM",
     "Sign all mail with DKIM (RFC 6376) with keys of at least 2048 bits, sign the whole body "
     "(no l= tag), and include From, Subject, Date and Message-ID in the signed headers."},
    {"dmarc", "DMARC and alignment",
     "Publish a DMARC record (RFC 7489) for the From domain, and make sure SPF or DKIM passes "
     "for a domain aligned with it. Mail that nothing authenticates is trusted least."},
    {"sender-domain", "Sender domain",
     "Send from domains that exist and accept mail: MAIL FROM and From should name a domain with "
     "MX (or A) records, not a null MX, so that bounces and replies can reach you."},
    {"tls", "TLS",
     "Offer and use STARTTLS (RFC 3207) with a current TLS version and a valid certificate."},
    {"compliance", "Protocol and format compliance",
     "Speak SMTP as RFC 5321 says: wait for our greeting before you talk, end lines with CRLF, "
     "and send messages that follow RFC 5322 and MIME. Bulk mail carries List-Unsubscribe and "
     "List-Unsubscribe-Post for one-click unsubscribe (RFC 8058)."},
    {"format", "Message format",
     "We read the header and MIME structure of every message. Send exactly one Date and one "
     "From field and a Message-ID (RFC 5322); write header lines as \"Name: value\" with "
     "continuation lines starting with white space; encode non-ASCII header text (RFC 2047) "
     "unless you send with SMTPUTF8; give multipart bodies the boundary their Content-Type "
     "declares and close them with it; use only the transfer encodings RFC 2045 defines, and "
     "valid base64. Malformed messages score against their sender."},
    {"linked-domains", "Links to compromised or malicious domains",
     "We look up the domains that your messages link to (in text and HTML parts) in our own "
     "list and in URI blocklists. An infected website or domain: emails linked to it will be "
     "blocked. If a site you link to is compromised, find and remove the infection (or remove "
     "the link), then ask for delisting: the site's owner asks us, or the blocklist that lists "
     "it, once it is clean."},
    {"one-click", "One-click unsubscribe for bulk mail",
     "Bulk mail (mail with List-Id or List-Unsubscribe, Precedence: bulk or list, or a high "
     "daily volume from one sender) must offer one-click unsubscribe as RFC 8058 describes: a "
     "List-Unsubscribe header field with an https URI, plus the header field "
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click, and a DKIM signature that passes and "
     "covers both fields. A POST to that URI must unsubscribe the recipient at once, without "
     "a login or a confirmation page."},
    {"content-filter", "Content filters",
     "Messages pass through content filters (spam and virus scanners) before they are "
     "accepted. A message a filter refuses gets its reason in the reply text; fix what it "
     "names (a virus, a known spam pattern, a phishing link) before you send again. A filter "
     "that cannot answer in time defers the message: retry later, nothing is lost."},
    {"ramp", "New IPs: ramp up slowly",
     "While a sending IP is new to us, mail beyond its daily limit is deferred (your server "
     "retries it later; nothing is lost). The limit grows with the mail the address delivered "
     "the day before: start with a few hundred messages a day and grow steadily."},
    {"volume", "Steady sending rates",
     "Spread sending over time, keep connection and message rates steady, and retry deferred "
     "mail with a back-off rather than at once."},
    {"complaints", "Complaint rate",
     "Keep complaints (recipients marking your mail as spam) below 0.3% of delivered mail: send "
     "only to people who asked for it, honour unsubscribes at once, and make unsubscribing easy."},
    {"recipients", "List hygiene",
     "Remove addresses that bounce: mail to many unknown users means an old or bought list. "
     "Confirm new subscriptions (double opt-in)."},
    {"dnsbl", "DNS blocklists",
     "An IP on a DNS blocklist is refused by many receivers. Find out why it was listed (the "
     "list's own site explains), fix the cause, then ask that list to remove it."},
    {"listing", "Our listings",
     "We list addresses and networks by hand, from feeds, or automatically from what we see of "
     "their mail. Find and fix the cause, then look the address up on the postmaster page: it "
     "says what a delisting request would lead to, and takes the request."},
};

const Topic& topic(std::string_view anchor) {
  for (const auto& t : kTopics) {
    if (t.anchor == anchor) return t;
  }
  return kTopics[0];
}

constexpr std::string_view kHead =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>{}</title><link rel=\"stylesheet\" href=\"/postmaster/style.css\"></head>\n<body>\n"
    "<header><a href=\"/postmaster/\">Postmaster</a></header>\n";
constexpr std::string_view kFoot =
    "<footer><a href=\"/postmaster/best-practices\">Sending best practices</a></footer>\n"
    "</body></html>\n";

// Throttle reasons name our configuration ("limit ip-connections"): for support, not prose.
bool internal_detail(Signal signal) {
  return signal == Signal::RateLimited || signal == Signal::NewIpRamp;
}

std::string lookup_form(std::string_view value) {
  return fmt::format(
      "<form method=\"get\" action=\"/postmaster/\"><label for=\"ip\">IP "
      "address</label> <input id=\"ip\" name=\"ip\" value=\"{}\" required maxlength=\"45\"> "
      "<button type=\"submit\">Look up</button></form>\n",
      html_escape(value));
}

std::string_view status_class(IpReport::Status status) {
  return status == IpReport::Status::NotListed  ? "clean"
         : status == IpReport::Status::Deferred ? "deferred"
                                                : "blocked";
}

// One sentence: what is listed and what we do with its mail.
std::string summary_html(const IpReport& r) {
  const auto ip = html_escape(r.ip);
  switch (r.status) {
    case IpReport::Status::Blocked:
      if (!r.listed_network.empty()) {
        return fmt::format(
            "The network <strong>{}</strong>, which contains {}, is blocked: we refuse mail "
            "from every address in it, and your server returns that mail to its senders as "
            "undeliverable.",
            html_escape(r.listed_network), ip);
      }
      return fmt::format(
          "{} is blocked: we refuse mail from it, and your server returns that mail to its "
          "senders as undeliverable.",
          ip);
    case IpReport::Status::Deferred:
      return fmt::format(
          "{} is deferred: we refuse its mail for now. Your server keeps the mail and retries "
          "it, and it is delivered once the deferral ends.",
          ip);
    case IpReport::Status::NotListed:
      break;
  }
  return r.allow_listed
             ? fmt::format("{} is not listed: we accept mail from it. It is on our allow list.", ip)
             : fmt::format("{} is not listed: we accept mail from it.", ip);
}

// Since when, and until when or that it has no end.
std::string times_html(const IpReport& r) {
  if (r.status == IpReport::Status::NotListed) return {};
  const bool listing = r.cause == IpReport::Cause::Listing;
  std::string out;
  if (r.since > 0) {
    out += fmt::format("{} since {}. ", listing ? "Listed" : "Deferred", time_html(r.since, r.now));
  }
  if (r.until > 0) {
    out += fmt::format("{} {}.", listing ? "The listing ends" : "The deferral ends",
                       time_html(r.until, r.now));
  } else if (listing) {
    out += "The listing has no end date: it stays until it is delisted.";
  } else if (r.cause == IpReport::Cause::Score) {
    out += "It lasts while the reasons below weigh on this address, or until it is delisted.";
  }
  return out.empty() ? out : "<p id=\"times\">" + out + "</p>\n";
}

std::string reason_html(const IpReport& r, const PortalReason& reason) {
  const auto guidance = guidance_for(reason.signal);
  std::string out =
      fmt::format("<li data-signal=\"{}\"><strong>{}</strong>",
                  reputation::signal_name(reason.signal), html_escape(reason_text(r, reason)));
  const bool internal = internal_detail(reason.signal);
  if (!reason.detail.empty() && !internal) {
    out += fmt::format(" {} <q class=\"detail\">{}</q>",
                       reason.signal == Signal::ManualBlock ? "Reason given:" : "",
                       html_escape(reason.detail));
  }
  out += fmt::format("<br>{}", html_escape(guidance.advice));
  if (reason.signal == Signal::ManualBlock)
    out += " See <a href=\"#delisting\">Delisting</a> below.";
  out += fmt::format(" <a href=\"{}#{}\">How to fix it</a>", kBestPracticesPath, guidance.topic);
  out += fmt::format("<br><small class=\"support\">For support: <code>{}{}{}</code></small></li>\n",
                     reputation::signal_name(reason.signal),
                     internal && !reason.detail.empty() ? " " : "",
                     internal ? html_escape(reason.detail) : "");
  return out;
}

std::string reasons_html(const IpReport& r) {
  if (r.reasons.empty()) return {};
  std::string out = "<h2>Why</h2>\n<ul id=\"reasons\">\n";
  for (const auto& reason : r.reasons) out += reason_html(r, reason);
  return out + "</ul>\n";
}

// A new address's daily limit: only while it may send at all.
std::string ramp_html(const IpReport& r) {
  if (!r.ramp_allowance || r.status != IpReport::Status::NotListed) return {};
  return fmt::format(
      "<p id=\"ramp\">While this address is new to us, mail beyond {} messages a day is "
      "deferred: your server retries it later, nothing is lost. The limit grows each day with "
      "the mail the address delivered the day before. <a href=\"{}#ramp\">About new "
      "addresses</a></p>\n",
      *r.ramp_allowance, kBestPracticesPath);
}

}  // namespace

std::string page_head(std::string_view title) { return fmt::format(kHead, html_escape(title)); }
std::string_view page_foot() { return kFoot; }

std::string time_html(std::int64_t at, std::int64_t now) {
  return fmt::format("<time datetime=\"{}\">{}</time> ({})", format_time(at), human_date(at),
                     relative_time(at, now));
}

std::string checks_html(const LiveChecks& c) {
  if (!c.ran) return {};
  std::string out = "<h2>Reverse DNS, checked just now</h2>\n<ul id=\"checks\">\n";
  if (c.ptr.empty()) {
    out += c.lookup_failed
               ? "<li>The reverse DNS (PTR) lookup failed just now, so this result is not final; "
                 "look again in a few minutes.</li>\n"
               : "<li class=\"fail\">This address has no reverse DNS (PTR) name.</li>\n";
  } else {
    out += fmt::format("<li>PTR: <code>{}</code></li>\n", html_escape(c.ptr));
  }
  if (!c.ptr.empty()) {
    out += c.confirmed_name.empty()
               ? std::string(
                     "<li class=\"fail\">The name does not resolve back to this "
                     "address.</li>\n")
               : fmt::format(
                     "<li class=\"pass\"><code>{}</code> resolves back to this "
                     "address.</li>\n",
                     html_escape(c.confirmed_name));
  }
  if (c.generic) {
    out += fmt::format("<li class=\"fail\">The name looks generic: {}.</li>\n",
                       html_escape(*c.generic));
  }
  for (const auto& zone : c.dnsbls) {
    out += fmt::format(
        "<li class=\"fail\">Listed on <code>{}</code> <a href=\"{}#dnsbl\">"
        "About block lists</a></li>\n",
        html_escape(zone), kBestPracticesPath);
  }
  if (c.lookup_failed && !c.ptr.empty()) {
    out +=
        "<li>A DNS lookup failed just now, so this result is not final; look again in a few "
        "minutes.</li>\n";
  }
  // An inconclusive check is neither: a sender must not fix what may not be broken.
  const std::string_view verdict = c.pass() ? "pass" : c.inconclusive() ? "not known yet" : "fail";
  const std::string_view style = c.pass() ? "pass" : c.inconclusive() ? "unknown" : "fail";
  out += fmt::format(
      "</ul><p>Reverse DNS: <strong id=\"rdns\" class=\"{}\">{}</strong> "
      "<a href=\"{}#rdns\">Best practice</a></p>\n",
      style, verdict, kBestPracticesPath);
  return out;
}

Guidance guidance_for(Signal signal) {
  switch (signal) {
    case Signal::ManualBlock:
      return {"listing", "Find and fix what caused the listing, then ask for delisting."};
    case Signal::RdnsMissing:
    case Signal::RdnsMismatch:
    case Signal::RdnsGeneric:
      return {"rdns", topic("rdns").text};
    case Signal::HeloInvalid:
    case Signal::HeloMismatch:
      return {"helo", topic("helo").text};
    case Signal::SpfFail:
    case Signal::SpfSoftfail:
      return {"spf", topic("spf").text};
    case Signal::DkimFail:
    case Signal::DkimUnsignedContent:
      return {"dkim", topic("dkim").text};
    case Signal::DmarcFail:
    case Signal::Unauthenticated:
      return {"dmarc", topic("dmarc").text};
    case Signal::SenderDomainInvalid:
    case Signal::SenderDomainNullMx:
      return {"sender-domain", topic("sender-domain").text};
    case Signal::FirstSeenRecently:
    case Signal::NewIpRamp:
      return {"ramp", topic("ramp").text};
    case Signal::RateLimited:
    case Signal::Anomaly:
    case Signal::ReputationPoor:
      return {"volume", topic("volume").text};
    case Signal::ComplaintRate:
      return {"complaints", topic("complaints").text};
    case Signal::InvalidRecipients:
    case Signal::RejectRatio:
      return {"recipients", topic("recipients").text};
    case Signal::DnsblListed:
      return {"dnsbl", topic("dnsbl").text};
    case Signal::Pregreet:
      return {"compliance", topic("compliance").text};
    default:
      if (auto content = content_guidance(signal)) return *content;
      return {"compliance", topic("compliance").text};
  }
}

std::string reason_text(const IpReport& r, const PortalReason& reason) {
  const bool network = !r.listed_network.empty();
  switch (reason.signal) {
    case Signal::ManualBlock: {
      const auto what = network ? "the network " + r.listed_network : std::string("this address");
      return r.manual
                 ? fmt::format("Our operators listed {}.", what)
                 : fmt::format("Our systems listed {} automatically, from the mail we saw.", what);
    }
    case Signal::RateLimited:
      return "This address opened more connections or sent more messages than our limits allow "
             "in a short time.";
    case Signal::NewIpRamp:
      return "This address is new to us and sent more mail today than a new address may.";
    case Signal::DnsblListed:
      return "This address is on a DNS blocklist that we use.";
    case Signal::ReputationPoor:
      return "Much of the recent mail from this address was refused or complained about.";
    case Signal::FirstSeenRecently:
      return "We first saw mail from this address only recently.";
    default:
      return std::string(reputation::signal_description(reason.signal));
  }
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || c == '<' || c == '>' || c == '&') {
      out += fmt::format("\\u{:04x}", u);  // also keeps the JSON inert if shown as HTML
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string render_report_html(const IpReport& r) {
  std::string out = page_head("Postmaster: " + r.ip);
  out += fmt::format("<main><h1>Sender status for <span class=\"ip\">{}</span></h1>\n",
                     html_escape(r.ip));
  out += fmt::format(
      "<section class=\"status {}\"><p id=\"status\">Status: <strong>{}</strong></p>\n"
      "<p id=\"summary\">{}</p>\n{}</section>\n",
      status_class(r.status), status_name(r.status), summary_html(r), times_html(r));
  out += linked_domain_html(r);
  out += reasons_html(r);
  out += ramp_html(r);
  out += checks_html(r.checks);
  out += delisting_html(r);
  out += "<h2>Look up another address</h2>\n" + lookup_form("");
  out += "</main>\n";
  out += kFoot;
  return out;
}

std::string render_lookup_html(std::string_view error) {
  std::string out = page_head("Postmaster");
  out +=
      "<main><h1>Postmaster</h1>\n<p>Look up how we see a sending IP address: whether we "
      "accept, defer or block its mail, why, and what to do about it.</p>\n";
  if (!error.empty()) {
    out += fmt::format("<p class=\"error\" id=\"error\">{}</p>\n", html_escape(error));
  }
  out += lookup_form("") + "</main>\n" + std::string(kFoot);
  return out;
}

std::string render_best_practices_html() {
  std::string out = page_head("Sending best practices");
  out +=
      "<main><h1>Sending best practices</h1>\n<p>What we look at when your server sends "
      "to us, and how to get it right.</p>\n<nav><ul>\n";
  for (const auto& t : kTopics) {
    out += fmt::format("<li><a href=\"#{}\">{}</a></li>\n", t.anchor, t.title);
  }
  out += "</ul></nav>\n";
  for (const auto& t : kTopics) {
    out += fmt::format("<section id=\"{}\"><h2>{}</h2><p>{}</p></section>\n", t.anchor, t.title,
                       html_escape(t.text));
  }
  out += "<p><a href=\"/postmaster/\">Look up an address</a></p></main>\n";
  out += kFoot;
  return out;
}

// Colours keep at least 4.5:1 against their backgrounds (WCAG AA).
std::string_view portal_stylesheet() {
  return "body{font-family:system-ui,sans-serif;max-width:46em;margin:0 auto;padding:0 1em 2em;"
         "line-height:1.5;color:#1a1a1a;background:#fff}\n"
         "header{padding:.6em 0;border-bottom:1px solid #ccc;font-weight:bold}"
         "header a{color:#1a1a1a;text-decoration:none}\n"
         "h1{font-size:1.5em;margin:1em 0 .5em}h2{font-size:1.15em;margin:1.6em 0 .4em}\n"
         "section.status{border-left:.4em solid #555;background:#f4f4f4;padding:.2em 1em;"
         "margin:1em 0}\n"
         "section.status.blocked{border-color:#b00000;background:#fdf0f0}"
         "section.status.deferred{border-color:#8a5000;background:#fdf6ea}"
         "section.status.clean{border-color:#1d6b1d;background:#eff8ef}\n"
         "#status{font-size:1.2em;margin:.4em 0}"
         ".blocked #status strong,.fail{color:#b00000}.deferred #status strong{color:#8a5000}"
         ".clean #status strong,.pass{color:#1d6b1d}\n"
         "#reasons li,#next li{margin-bottom:.6em}q.detail{font-style:italic}\n"
         ".support{color:#555}code,.ip{font-family:ui-monospace,monospace}\n"
         ".notice{border:1px solid #ccc;background:#f7f7f7;padding:.5em 1em}"
         ".warn{border-left:.4em solid #8a5000;background:#fdf6ea;padding:.5em 1em}\n"
         "form#delist label{display:block;margin-top:.6em;font-weight:bold}"
         "form#delist input,form#delist textarea{width:100%;max-width:36em;box-sizing:border-box;"
         "font:inherit;padding:.3em}\n"
         "button{font:inherit;padding:.35em 1em;margin-top:.6em;cursor:pointer}\n"
         ".error{color:#b00000;font-weight:bold}"
         "footer{margin-top:3em;padding-top:.6em;border-top:1px solid #ccc;font-size:small}\n";
}

}  // namespace mxgate::postmaster
