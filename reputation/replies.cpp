#include "reputation/replies.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace mxgate::reputation {
namespace {

// Code, enhanced code and the words before " - see <link>".
struct Shape {
  int code;
  std::string_view enhanced;
  std::string_view words;
};

constexpr Shape kBlockedConnect{554, "5.7.1", "Blocked"};
constexpr Shape kDeferredConnect{421, "4.7.0", "Deferred"};
constexpr Shape kBlocked{550, "5.7.1", "Blocked"};
constexpr Shape kDeferred{450, "4.7.1", "Deferred"};
constexpr Shape kDeferredData{451, "4.7.1", "Deferred"};
// Sender-domain refinements (MAIL and later). The DNS issue decides which signal a lookup
// result becomes (NXDOMAIN or no MX/A: invalid; null MX: null_mx; SERVFAIL/timeout: Defer).
constexpr Shape kSenderDomainInvalid{550, "5.1.8", "Sender domain invalid"};
constexpr Shape kSenderDomainNullMx{550, "5.7.27", "Sender domain does not accept mail"};
constexpr Shape kSenderDomainTempfail{451, "4.4.3", "Sender domain lookup failed"};
// RFC 7489 §6.6.4 / §10.3: a p=reject refusal names DMARC, so the sender knows what to fix.
constexpr Shape kDmarcReject{550, "5.7.1", "Rejected by the From domain's DMARC policy"};
// A message that links to a listed domain (issue 17): refused for what it carries, like a
// large receiver's "554 5.7.1 Blocked" (RFC 5321 §4.2.3: 554 transaction failed).
constexpr Shape kBlockedContent{554, "5.7.1", "Blocked"};
// A content filter's verdict when it chose no reply of its own (issue 18; Postfix answers a
// milter's reject and tempfail with 550 5.7.1 and 451 4.7.1).
constexpr Shape kFilterReject{550, "5.7.1", "Rejected by a content filter"};
constexpr Shape kFilterTempfail{451, "4.7.1", "Deferred: the content filter did not answer"};
// Greylisting (issue 20) at RCPT: 451 like postgrey's and Postfix's greylisting replies, which
// every MTA retries (RFC 5321 §4.5.4.1).
constexpr Shape kGreylisted{451, "4.7.1", "Greylisted"};

Shape reject_shape(Stage stage, Signal signal) {
  if (stage == Stage::Connect) return kBlockedConnect;
  if (stage >= Stage::Mail) {
    switch (signal) {
      case Signal::SenderDomainInvalid:
        return kSenderDomainInvalid;
      case Signal::SenderDomainNullMx:
        return kSenderDomainNullMx;
      case Signal::DmarcFail:
        return kDmarcReject;
      case Signal::UriListed:
      case Signal::UriDnsblListed:
        return kBlockedContent;
      case Signal::MilterReject:
        return kFilterReject;
      default:
        break;
    }
  }
  return kBlocked;
}

Shape defer_shape(Stage stage, Signal signal) {
  if (stage == Stage::Connect) return kDeferredConnect;
  if (signal == Signal::MilterTempfail) return kFilterTempfail;
  if (stage >= Stage::Mail && signal == Signal::SenderDomainInvalid) return kSenderDomainTempfail;
  return stage == Stage::EndOfData ? kDeferredData : kDeferred;
}

smtp::Reply make(const Shape& shape, std::string_view ip, std::string_view url) {
  std::string text(shape.words);
  if (!url.empty()) {
    text += " - see ";
    text += portal_link(url, ip);
  }
  return smtp::Reply::make(shape.code, shape.enhanced, text);
}

}  // namespace

smtp::Reply greylisted_reply(std::string_view client_ip_text, std::string_view postmaster_url) {
  return make(kGreylisted, client_ip_text, postmaster_url);
}

smtp::Reply reply_for(Stage stage, Action action, Signal signal, std::string_view client_ip_text,
                      std::string_view postmaster_url, bool scored) {
  // Principle 4: our own failures are never answered with a 5xx.
  if (action == Action::Reject && (signal == Signal::CheckError || signal == Signal::Timeout)) {
    action = Action::Defer;
  }
  if (scored) signal = Signal::None;
  switch (action) {
    case Action::Continue:
    case Action::Accept:
    case Action::Quarantine:
      return smtp::Reply{};
    case Action::Reject:
      return make(reject_shape(stage, signal), client_ip_text, postmaster_url);
    case Action::Defer:
      return make(defer_shape(stage, signal), client_ip_text, postmaster_url);
    case Action::Drop:
      return make(kDeferredConnect, client_ip_text, postmaster_url);
  }
  return smtp::Reply{};
}

std::optional<smtp::Reply> filter_reply(Action action, int code,
                                        std::span<const std::string> lines) {
  const int wanted = action == Action::Reject ? 5 : action == Action::Defer ? 4 : 0;
  if (wanted == 0 || code / 100 != wanted || lines.empty()) return std::nullopt;
  // RFC 3463 §2: "class.subject.detail", the class the reply code's first digit.
  const auto enhanced_of = [wanted](std::string_view line) -> std::string_view {
    const auto space = line.find(' ');
    const std::string_view word = line.substr(0, space);
    int dots = 0;
    bool digits = !word.empty() && word.front() - '0' == wanted;
    for (std::size_t i = 0; i < word.size() && digits; ++i) {
      if (word[i] == '.') {
        digits = i > 0 && word[i - 1] != '.' && ++dots <= 2;
      } else {
        digits = word[i] >= '0' && word[i] <= '9';
      }
    }
    return digits && dots == 2 && word.back() != '.' ? word : std::string_view();
  };
  smtp::Reply reply;
  reply.code = code;
  const std::string_view enhanced = enhanced_of(lines.front());
  const bool every_line = std::all_of(lines.begin(), lines.end(), [&](const std::string& line) {
    return !enhanced.empty() && enhanced_of(line) == enhanced;
  });
  if (every_line) reply.enhanced = std::string(enhanced);
  for (const auto& line : lines) {
    std::string_view text = line;
    if (every_line) {
      text.remove_prefix(std::min(text.size(), enhanced.size() + 1));
    }
    reply.lines.emplace_back(text);
  }
  return reply;
}

std::string portal_link(std::string_view postmaster_url, std::string_view client_ip_text) {
  std::string out(postmaster_url);
  out += postmaster_url.find('?') == std::string_view::npos ? "?ip=" : "&ip=";
  out += client_ip_text;
  return out;
}

std::optional<std::string> canonical_ip_text(std::string_view text) {
  std::array<char, INET6_ADDRSTRLEN> in{};
  if (text.empty() || text.size() >= in.size()) return std::nullopt;
  std::memcpy(in.data(), text.data(), text.size());

  std::array<char, INET6_ADDRSTRLEN> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, in.data(), &v4) == 1) {
    if (inet_ntop(AF_INET, &v4, out.data(), out.size()) == nullptr) return std::nullopt;
    return std::string(out.data());
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, in.data(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    if (inet_ntop(AF_INET, &v4, out.data(), out.size()) == nullptr) return std::nullopt;
  } else if (inet_ntop(AF_INET6, &v6, out.data(), out.size()) == nullptr) {
    return std::nullopt;
  }
  return std::string(out.data());
}

}  // namespace mxgate::reputation
