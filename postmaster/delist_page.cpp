// The delisting part of the portal's pages: the "Delisting" section of the lookup page and the
// answer to POST /postmaster/delist. Both say what decide_delist() says (ip_report.hpp).
#include <fmt/format.h>

#include "postmaster/human_time.hpp"
#include "postmaster/page_parts.hpp"
#include "postmaster/portal_page.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::postmaster {
namespace {

using Outcome = DelistDecision::Outcome;

constexpr int kRelistDays = kRelistWindowSeconds / 86400;

std::string form_html(const IpReport& r, const DelistDecision& d) {
  return fmt::format(
      "<form method=\"post\" action=\"{}\" id=\"delist\">"
      "<input type=\"hidden\" name=\"ip\" value=\"{}\">"
      "<label for=\"contact\">Your email address (we write to you there)</label>"
      "<input id=\"contact\" name=\"contact\" type=\"email\" required maxlength=\"{}\">"
      "<label for=\"explanation\">What caused the listing, and what did you fix?</label>"
      "<textarea id=\"explanation\" name=\"explanation\" required minlength=\"{}\" "
      "maxlength=\"{}\" rows=\"5\"></textarea>"
      "<button type=\"submit\">{}</button></form>\n",
      kDelistPath, html_escape(r.ip), kMaxContact, kMinExplanation, kMaxExplanation,
      d.outcome == Outcome::Immediate ? "Delist now" : "Send to an operator");
}

// The state of the latest request, when there is one.
std::string request_state_html(const IpReport& r) {
  if (!r.request) return {};
  const auto& q = *r.request;
  switch (q.state) {
    case DelistRequest::State::Open:
      return fmt::format(
          "<p id=\"request\" class=\"notice\">Request state: <strong>waiting for an "
          "operator</strong>. A request to delist this address was made {}. The operator "
          "writes to the contact address given in it. You need not ask again.</p>\n",
          time_html(q.created, r.now));
    case DelistRequest::State::Approved:
      return fmt::format(
          "<p id=\"request\" class=\"notice\">Last request: <strong>approved</strong> {} "
          "(made {}).</p>\n",
          time_html(q.decided, r.now), time_html(q.created, r.now));
    case DelistRequest::State::Denied:
      return fmt::format(
          "<p id=\"request\" class=\"notice\">Last request: <strong>turned down</strong> by an "
          "operator {} (made {}). Fix the causes above before you ask again.</p>\n",
          time_html(q.decided, r.now), time_html(q.created, r.now));
  }
  return {};
}

std::string until_text(const IpReport& r) {
  return r.until > 0 ? time_html(r.until, r.now) : std::string("soon");
}

std::string decision_html(const IpReport& r, const DelistDecision& d) {
  switch (d.outcome) {
    case Outcome::NotListed:
    case Outcome::RequestOpen:
      return {};
    case Outcome::WaitsOut:
      return fmt::format(
          "<p id=\"decision\">No request is needed: this deferral ends by itself, {}. Your "
          "server keeps the mail and retries it; keep your sending rate within our limits to "
          "avoid the next one.</p>\n",
          until_text(r));
    case Outcome::AskBlocklist:
      return "<p id=\"decision\">We cannot delist this address here: a DNS blocklist that we "
             "use lists it (see the checks above). Ask that list's operators to remove it; "
             "once they have, we accept its mail again.</p>\n";
    case Outcome::Immediate:
      return "<p id=\"decision\">A request is <strong>approved at once</strong>: the listing "
             "was automatic, reverse DNS passes, and this address was not delisted in the last " +
             std::to_string(kRelistDays) + " days. The delisting takes effect immediately.</p>\n" +
             form_html(r, d);
    case Outcome::Review:
      break;
  }
  std::string out;
  const bool unchecked = r.checks.inconclusive();
  const std::string_view fails = unchecked
                                     ? "Reverse DNS of this address could not be checked just now."
                                     : "Reverse DNS of this address fails (see the checks above).";
  if (d.only_reverse_dns()) {
    out += fmt::format(
        "<p id=\"fix-first\" class=\"warn\">{} {} If you ask now, an operator reviews your "
        "request, which takes longer.</p>\n",
        fails,
        unchecked ? "Look again in a few minutes: when it passes, your request can be approved "
                    "at once."
                  : "Fix this first and your request can be approved at once.");
  } else if (d.reverse_dns_fails) {
    out += fmt::format("<p id=\"fix-first\" class=\"warn\">{} {}</p>\n", fails,
                       unchecked ? "Look again in a few minutes before you ask: the operator "
                                   "checks it too."
                                 : "Fix it before you ask: the operator checks it too.");
  }
  out +=
      "<p id=\"decision\">A request goes to <strong>an operator</strong>, who reviews it and "
      "writes to you:</p>\n<ul id=\"review\">\n";
  for (const auto& reason : review_reasons_html(r, d)) out += "<li>" + reason + "</li>\n";
  out += "</ul>\n";
  return out + form_html(r, d);
}

}  // namespace

std::vector<std::string> review_reasons_html(const IpReport& r, const DelistDecision& d) {
  std::vector<std::string> out;
  if (d.network_listing) {
    out.push_back(fmt::format("the listing covers the whole network {}, not only this address;",
                              html_escape(r.listed_network)));
  }
  if (d.manual_listing) out.emplace_back("our operators (or a feed they use) made the listing;");
  if (d.relisted) {
    out.push_back(
        fmt::format("this address was delisted {}: a listing that comes back within "
                    "{} days is not delisted automatically;",
                    time_html(r.last_delisted, r.now), kRelistDays));
  }
  if (d.reverse_dns_fails) {
    const bool unchecked = r.checks.inconclusive();
    out.emplace_back(unchecked ? "reverse DNS of this address could not be checked;"
                               : "reverse DNS of this address fails;");
  }
  if (!out.empty()) out.back().back() = '.';
  return out;
}

std::string delisting_html(const IpReport& r) {
  const auto d = decide_delist(r);
  const auto state = request_state_html(r);
  const auto decision = decision_html(r, d);
  if (state.empty() && decision.empty()) return {};
  return "<h2 id=\"delisting\">Delisting</h2>\n" + state + decision;
}

}  // namespace mxgate::postmaster

namespace mxgate::postmaster {
namespace {

// What the answer to a request says, as plain text (escaped on output).
struct AnswerText {
  std::string_view title;
  std::string message;
  std::vector<std::string> next;  // what happens next, one sentence each
};

std::string when_text(std::int64_t at, std::int64_t now) {
  return fmt::format("{} ({})", human_date(at), relative_time(at, now));
}

std::string clean_mail_step() {
  return fmt::format(
      "Keep your mail clean: if this address is listed again within {} days, it is not "
      "delisted automatically; an operator reviews the request, which takes longer.",
      kRelistDays);
}

std::string status_step(const IpReport* r) {
  const auto url =
      r != nullptr ? fmt::format("{}?ip={}", kPortalPath, r->ip) : std::string(kPortalPath);
  return fmt::format(
      "Check the status at any time on the lookup page ({}): it shows the "
      "address's status and its delisting request with the request's state.",
      url);
}

AnswerText answer_text(const DelistAnswer& a) {
  const IpReport* r = a.report;
  const std::string ip = r != nullptr ? r->ip : std::string("the address");
  switch (a.outcome) {
    case kApproved:
      return {"Delisted",
              fmt::format("{} is delisted. This takes effect at once: its next connection is "
                          "judged afresh, and mail your server deferred goes through at its next "
                          "retry (you may retry now).",
                          ip),
              {clean_mail_step(), status_step(r)}};
    case kQueued: {
      AnswerText t{"Request received: an operator will review it",
                   fmt::format("Your request to delist {} is waiting for an operator, who "
                               "reviews it and writes to the contact address you gave.",
                               ip),
                   {}};
      const bool deferred = r != nullptr && r->status == IpReport::Status::Deferred;
      t.next.push_back(fmt::format(
          "Until then {} stays {}: {}", ip, deferred ? "deferred" : "blocked",
          deferred ? "your server keeps its mail and retries it."
                   : "mail from it is refused, so hold back mail from it or send from another "
                     "address."));
      if (r != nullptr && decide_delist(*r).reverse_dns_fails) {
        t.next.push_back(
            "Fix reverse DNS meanwhile (see the checks on the lookup page): the "
            "operator checks it.");
      }
      t.next.push_back("If the operator approves, the delisting takes effect at once.");
      t.next.push_back(clean_mail_step());
      t.next.push_back(status_step(r));
      return t;
    }
    case kAlreadyOpen: {
      const auto made = r != nullptr && r->request
                            ? ", made " + when_text(r->request->created, r->now) + ","
                            : std::string();
      return {"A request is already open",
              fmt::format("A request to delist {}{} is already waiting for an operator. Only one "
                          "request per address can be open; you need not ask again.",
                          ip, made),
              {"The operator writes to the contact address given in that request; if it is "
               "approved, the delisting takes effect at once.",
               clean_mail_step(), status_step(r)}};
    }
    case kNotNeeded: {
      const bool blocklist = r != nullptr && r->cause == IpReport::Cause::Blocklist;
      if (blocklist) {
        return {"Ask the blocklist",
                fmt::format("We cannot delist {} here: a DNS blocklist that we use lists it. Ask "
                            "that list's operators to remove it; once they have, we accept its "
                            "mail again.",
                            ip),
                {status_step(r)}};
      }
      const auto until =
          r != nullptr && r->until > 0 ? ", " + when_text(r->until, r->now) : std::string();
      return {"No request needed",
              fmt::format("{} is deferred by a rate limit that ends by itself{}. Your server "
                          "keeps the mail and retries it.",
                          ip, until),
              {"Keep your sending rate steady and within our limits to avoid the next deferral.",
               status_step(r)}};
    }
    case kQuota:
      return {"Too many requests",
              "This contact address has made as many delisting requests as it may today. Try "
              "again after midnight UTC.",
              {status_step(r)}};
    case kInvalid:
      return {"Request not taken", a.problem, {"Go back, correct the form and send it again."}};
    case kNotListed:
      return {"Nothing to delist",
              fmt::format("{} is not listed: we accept mail from it. No request is needed.", ip),
              {status_step(r)}};
    case kError:
    case kDelistOutcomes:
      break;
  }
  return {"Try again later",
          a.problem.empty() ? "The request could not be stored; nothing was changed." : a.problem,
          {"Try again in a few minutes."}};
}

}  // namespace

std::string_view delist_result_name(DelistOutcome outcome) {
  switch (outcome) {
    case kApproved:
      return "approved";
    case kQueued:
      return "queued";
    case kNotNeeded:
      return "not-needed";
    case kAlreadyOpen:
      return "already-open";
    case kQuota:
      return "quota";
    case kInvalid:
      return "invalid";
    case kNotListed:
      return "not-listed";
    case kError:
    case kDelistOutcomes:
      break;
  }
  return "error";
}

std::string render_delist_html(const DelistAnswer& a) {
  const auto t = answer_text(a);
  std::string out = page_head(std::string(t.title));
  out += fmt::format("<main><h1 id=\"notice\">{}</h1>\n<p id=\"message\">{}</p>\n",
                     html_escape(t.title), html_escape(t.message));
  if (a.outcome == kQueued && a.report != nullptr) {
    out += "<p>It goes to an operator because:</p>\n<ul id=\"review\">\n";
    for (const auto& reason : review_reasons_html(*a.report, decide_delist(*a.report))) {
      out += "<li>" + reason + "</li>\n";
    }
    out += "</ul>\n";
  }
  out += "<h2>What happens next</h2>\n<ul id=\"next\">\n";
  for (const auto& step : t.next) out += "<li>" + html_escape(step) + "</li>\n";
  out += "</ul>\n";
  if (a.report != nullptr) {
    out += fmt::format("<p><a href=\"{}?ip={}\">See the status of {}</a></p>", kPortalPath,
                       html_escape(a.report->ip), html_escape(a.report->ip));
  }
  out += "<p><a href=\"/postmaster/\">Look up an address</a></p></main>\n";
  out += page_foot();
  return out;
}

std::string render_delist_json(const DelistAnswer& a) {
  const auto t = answer_text(a);
  std::string out = fmt::format("{{\"result\":\"{}\",\"message\":\"{}\"",
                                delist_result_name(a.outcome), json_escape(t.message));
  if (a.report != nullptr) {
    out += fmt::format(",\"ip\":\"{}\",\"status_url\":\"{}?ip={}\"", json_escape(a.report->ip),
                       kPortalPath, json_escape(a.report->ip));
  }
  if (a.outcome == kQueued && a.report != nullptr) {
    out += ",\"review_because\":[";
    const auto names = review_reason_names(decide_delist(*a.report));
    for (std::size_t i = 0; i < names.size(); ++i) {
      out += fmt::format("{}\"{}\"", i == 0 ? "" : ",", names[i]);
    }
    out += "]";
  }
  out += ",\"next_steps\":[";
  for (std::size_t i = 0; i < t.next.size(); ++i) {
    out += fmt::format("{}\"{}\"", i == 0 ? "" : ",", json_escape(t.next[i]));
  }
  return out + "]}\n";
}

}  // namespace mxgate::postmaster
