#include "reputation/replies.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

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
      default:
        break;
    }
  }
  return kBlocked;
}

Shape defer_shape(Stage stage, Signal signal) {
  if (stage == Stage::Connect) return kDeferredConnect;
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
