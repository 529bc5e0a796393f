#include "postmaster/portal_page.hpp"

#include <fmt/format.h>

#include <algorithm>

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
    {"ramp", "New IPs: ramp up slowly",
     "A new sending IP may at most double its volume from one day to the next. Start with a "
     "few hundred messages a day and grow steadily; mail over the day's allowance is deferred, "
     "not lost."},
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
    {"listing", "Listings by our operators",
     "Our operators listed this address by hand or from a feed. Fix the cause, then ask for "
     "delisting with the form on the lookup page."},
};

const Topic& topic(std::string_view anchor) {
  for (const auto& t : kTopics) {
    if (t.anchor == anchor) return t;
  }
  return kTopics[0];
}

double weighted_points(const std::vector<reputation::Verdict>& verdicts) {
  double total = 0;
  for (const auto& v : verdicts) total += std::max(0.0, v.score);
  return total;
}

void add_reason(IpReport& report, Signal signal, std::string detail = {}) {
  for (const auto& r : report.reasons) {
    if (r.signal == signal && r.detail == detail) return;
  }
  report.reasons.push_back({signal, std::move(detail)});
}

constexpr std::string_view kHead =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>{}</title><link rel=\"stylesheet\" href=\"/postmaster/style.css\"></head>\n<body>\n";
constexpr std::string_view kFoot =
    "<footer><a href=\"/postmaster/best-practices\">Sending best practices</a></footer>\n"
    "</body></html>\n";

std::string lookup_form(std::string_view value) {
  return fmt::format(
      "<form method=\"get\" action=\"/postmaster/\"><label for=\"ip\">IP address</label> "
      "<input id=\"ip\" name=\"ip\" value=\"{}\" required maxlength=\"45\"> "
      "<button type=\"submit\">Look up</button></form>\n",
      html_escape(value));
}

std::string render_checks(const LiveChecks& c) {
  if (!c.ran) return {};
  std::string out = "<h2>Reverse DNS, checked just now</h2>\n<ul id=\"checks\">\n";
  out += c.ptr.empty() ? std::string("<li class=\"fail\">No PTR record.</li>\n")
                       : fmt::format("<li>PTR: <code>{}</code></li>\n", html_escape(c.ptr));
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
  if (c.lookup_failed) out += "<li>A DNS lookup failed; try again later.</li>\n";
  out += fmt::format(
      "</ul><p>Reverse DNS: <strong id=\"rdns\">{}</strong> "
      "<a href=\"{}#rdns\">Best practice</a></p>\n",
      c.pass() ? "pass" : "fail", kBestPracticesPath);
  return out;
}

}  // namespace

std::string render_notice_html(std::string_view title, std::string_view message,
                               const LiveChecks* checks) {
  std::string out = fmt::format(kHead, html_escape(title));
  out += fmt::format("<main><h1 id=\"notice\">{}</h1>\n<p id=\"message\">{}</p>\n",
                     html_escape(title), html_escape(message));
  if (checks != nullptr) out += render_checks(*checks);
  out += "<p><a href=\"/postmaster/\">Look up an address</a></p></main>\n";
  out += kFoot;
  return out;
}

std::string_view status_name(IpReport::Status status) {
  switch (status) {
    case IpReport::Status::NotListed:
      return "not listed";
    case IpReport::Status::Deferred:
      return "deferred";
    case IpReport::Status::Blocked:
      return "blocked";
  }
  return "not listed";
}

Guidance guidance_for(Signal signal) {
  switch (signal) {
    case Signal::ManualBlock:
      return {"listing", topic("listing").text};
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
      return {"compliance", topic("compliance").text};
  }
}

IpReport judge_ip(std::string ip, const reputation::Record* ip_record,
                  const std::vector<const reputation::Record*>& networks,
                  const reputation::ModelSettings& model, const reputation::Thresholds& thresholds,
                  const std::optional<DeferralShown>& deferral, std::int64_t now) {
  IpReport report;
  report.ip = std::move(ip);
  static const reputation::Record kNone;
  const reputation::Record* network = nullptr;
  for (const auto* n : networks) {
    if (n != nullptr && n->listing.active(now)) network = n;  // the most specific listed
  }
  if (network == nullptr && !networks.empty()) network = networks.back();
  const auto verdicts = reputation::assess(ip_record ? *ip_record : kNone, network, now, model);
  for (const auto& v : verdicts) {
    if (v.signal == Signal::ManualAllow) report.allowed = true;
  }
  for (const auto& v : verdicts) {
    if (v.signal == Signal::ManualBlock) {
      const auto* listed = ip_record && ip_record->listing.active(now) ? ip_record : network;
      report.status = IpReport::Status::Blocked;
      if (listed != nullptr) {
        report.since = listed->listing.created;
        report.until = listed->listing.expires;
        report.manual = !listed->listing.source.starts_with("auto");
        add_reason(report, Signal::ManualBlock, listed->listing.reason);
      } else {
        report.manual = true;
        add_reason(report, Signal::ManualBlock);
      }
    }
  }
  if (report.status == IpReport::Status::Blocked || report.allowed) return report;
  const double points = weighted_points(verdicts);
  for (const auto& v : verdicts) {
    if (v.score > 0) add_reason(report, v.signal);
  }
  if (thresholds.reject_at > 0 && points >= thresholds.reject_at) {
    report.status = IpReport::Status::Blocked;
  } else if (thresholds.defer_at > 0 && points >= thresholds.defer_at) {
    report.status = IpReport::Status::Deferred;
  }
  if (deferral && (deferral->until == 0 || deferral->until > now)) {
    if (report.status == IpReport::Status::NotListed) {
      report.status = IpReport::Status::Deferred;
      report.since = deferral->at;
      report.until = deferral->until;
    }
    add_reason(report, deferral->signal, deferral->reason);
  }
  if (report.status == IpReport::Status::NotListed) report.reasons.clear();
  return report;
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

std::string render_report_json(const IpReport& r) {
  std::string out =
      fmt::format("{{\"ip\":\"{}\",\"status\":\"{}\",\"allowed\":{}", json_escape(r.ip),
                  status_name(r.status), r.allowed ? "true" : "false");
  out += r.since > 0 ? fmt::format(",\"since\":\"{}\"", format_time(r.since)) : ",\"since\":null";
  out += r.until > 0 ? fmt::format(",\"until\":\"{}\"", format_time(r.until)) : ",\"until\":null";
  out += ",\"reasons\":[";
  for (std::size_t i = 0; i < r.reasons.size(); ++i) {
    const auto& reason = r.reasons[i];
    const auto guidance = guidance_for(reason.signal);
    out += fmt::format(
        "{}{{\"signal\":\"{}\",\"text\":\"{}\",\"detail\":\"{}\",\"guidance\":\"{}\","
        "\"link\":\"{}#{}\"}}",
        i == 0 ? "" : ",", reputation::signal_name(reason.signal),
        json_escape(reputation::signal_description(reason.signal)), json_escape(reason.detail),
        json_escape(guidance.advice), kBestPracticesPath, guidance.topic);
  }
  out += "]";
  if (r.ramp_allowance) out += fmt::format(",\"ramp_allowance_per_day\":{}", *r.ramp_allowance);
  const auto& c = r.checks;
  if (c.ran) {
    std::string zones;
    for (const auto& zone : c.dnsbls) {
      zones += (zones.empty() ? "\"" : ",\"") + json_escape(zone) + "\"";
    }
    out += fmt::format(
        ",\"checks\":{{\"ptr\":{},\"forward_confirmed\":{},\"generic\":{},\"lookup_failed\":{},"
        "\"pass\":{},\"dnsbls\":[{}]}}",
        c.ptr.empty() ? "null" : "\"" + json_escape(c.ptr) + "\"",
        c.confirmed_name.empty() ? "false" : "true",
        c.generic ? "\"" + json_escape(*c.generic) + "\"" : "null",
        c.lookup_failed ? "true" : "false", c.pass() ? "true" : "false", zones);
  }
  out += "}\n";
  return out;
}

std::string render_report_html(const IpReport& r) {
  std::string out = fmt::format(kHead, "Postmaster: " + html_escape(r.ip));
  out += fmt::format("<main><h1>Sender status for <span class=\"ip\">{}</span></h1>\n",
                     html_escape(r.ip));
  const auto status = status_name(r.status);
  out += fmt::format("<p class=\"status {}\" id=\"status\">Status: <strong>{}</strong>",
                     r.status == IpReport::Status::NotListed  ? "clean"
                     : r.status == IpReport::Status::Deferred ? "deferred"
                                                              : "blocked",
                     status);
  if (r.since > 0) out += fmt::format(" since {}", format_time(r.since));
  if (r.until > 0) out += fmt::format(", until {}", format_time(r.until));
  out += "</p>\n";
  if (r.allowed) out += "<p>This address is on our allow list.</p>\n";
  if (!r.reasons.empty()) {
    out += "<h2>Why</h2>\n<ul id=\"reasons\">\n";
    for (const auto& reason : r.reasons) {
      const auto guidance = guidance_for(reason.signal);
      out += fmt::format("<li data-signal=\"{}\"><strong>{}</strong>",
                         reputation::signal_name(reason.signal),
                         html_escape(reputation::signal_description(reason.signal)));
      if (!reason.detail.empty()) {
        out += fmt::format(" <q class=\"detail\">{}</q>", html_escape(reason.detail));
      }
      out += fmt::format("<br>{} <a href=\"{}#{}\">How to fix it</a></li>\n",
                         html_escape(guidance.advice), kBestPracticesPath, guidance.topic);
    }
    out += "</ul>\n";
  } else if (r.status == IpReport::Status::NotListed) {
    out += "<p>Nothing stands against this address now.</p>\n";
  }
  if (r.ramp_allowance) {
    out += fmt::format(
        "<p>This address is new to us: it may send up to {} messages a day now, twice as many "
        "each day that it keeps within that. <a href=\"{}#ramp\">About the ramp</a></p>\n",
        *r.ramp_allowance, kBestPracticesPath);
  }
  out += render_checks(r.checks);
  if (r.status != IpReport::Status::NotListed) {
    out += fmt::format(
        "<h2>Ask for delisting</h2>\n<form method=\"post\" action=\"{}\" id=\"delist\">"
        "<input type=\"hidden\" name=\"ip\" value=\"{}\">"
        "<label for=\"contact\">Your email address</label> "
        "<input id=\"contact\" name=\"contact\" type=\"email\" required maxlength=\"254\"><br>"
        "<label for=\"explanation\">What did you fix?</label><br>"
        "<textarea id=\"explanation\" name=\"explanation\" required maxlength=\"2000\" "
        "rows=\"4\" cols=\"60\"></textarea><br><button type=\"submit\">Request delisting</button>"
        "</form>\n",
        kDelistPath, html_escape(r.ip));
  }
  out += "<h2>Look up another address</h2>\n" + lookup_form("");
  out += "</main>\n";
  out += kFoot;
  return out;
}

std::string render_lookup_html(std::string_view error) {
  std::string out = fmt::format(kHead, "Postmaster");
  out +=
      "<main><h1>Postmaster</h1>\n<p>Look up how we see a sending IP address: whether its "
      "mail is accepted, deferred or blocked, why, and what to do about it.</p>\n";
  if (!error.empty()) {
    out += fmt::format("<p class=\"error\" id=\"error\">{}</p>\n", html_escape(error));
  }
  out += lookup_form("") + "</main>\n" + std::string(kFoot);
  return out;
}

std::string render_best_practices_html() {
  std::string out = fmt::format(kHead, "Sending best practices");
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

std::string_view portal_stylesheet() {
  return "body{font-family:sans-serif;max-width:46em;margin:2em auto;padding:0 1em;"
         "line-height:1.4;color:#222}\n"
         ".status.blocked strong,.fail{color:#a00}.status.deferred strong{color:#a60}"
         ".status.clean strong,.pass{color:#070}\n"
         ".error{color:#a00;font-weight:bold}code,.ip{font-family:monospace}"
         "footer{margin-top:3em;font-size:small}\n";
}

}  // namespace mxgate::postmaster
