// The one place where policy outcomes become SMTP replies (ARCHITECTURE principle 3; STYLE "SMTP
// codes live in one place"). Every refusal points the sender at the postmaster portal with its
// own IP address: `554 5.7.1 Blocked - see https://postmaster.example.net/?ip=192.0.2.7`.
// Codes: RFC 5321 §4.2.2/§4.2.3 (421 closes the channel, §3.8), enhanced codes RFC 3463
// (5.7.1 policy refusal, 4.7.0/4.7.1 temporary policy refusal, 5.1.8 bad sender system address,
// 4.4.3 directory failure), RFC 7505 §4.2 (5.7.27 null MX sender).
// Pure and total: no I/O, every (stage, action, signal) yields a reply. Thread-compatible.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "reputation/verdict.hpp"
#include "smtp/reply.hpp"

namespace mxgate::reputation {

// The reply a client gets for `action` at `stage`. Continue, Accept and Quarantine are not
// refusals: they yield an empty Reply (code 0) and the protocol sends its usual positive reply.
// Drop yields 421 and the caller closes the connection after sending it.
// `client_ip_text` must already be canonical (see canonical_ip_text); `postmaster_url` may be
// empty, in which case the text carries no " - see ..." part. `scored`: the action comes from
// the score thresholds, so `signal` only names the largest contributor: the generic words
// ("Blocked", "Deferred") are used, never a signal's own ("... DMARC policy").
smtp::Reply reply_for(Stage stage, Action action, Signal signal, std::string_view client_ip_text,
                      std::string_view postmaster_url, bool scored = false);

// The greylisting reply at RCPT (issue 20): "451 4.7.1 Greylisted - see <portal>?ip=<ip>".
smtp::Reply greylisted_reply(std::string_view client_ip_text, std::string_view postmaster_url);

// A content filter's own reply (milter SMFIR_REPLYCODE, issue 18), when it fits `action`: a
// 5xx for Reject, a 4xx for Defer; an enhanced code of the same class opening every line is
// kept as the reply's (RFC 3463). nullopt when it does not fit: the caller answers reply_for's.
// `lines` are the texts after the code, as the filter sent them (one line each, checked).
std::optional<smtp::Reply> filter_reply(Action action, int code,
                                        std::span<const std::string> lines);

// "<url>?ip=<ip>", or "<url>&ip=<ip>" when the URL already has a query.
std::string portal_link(std::string_view postmaster_url, std::string_view client_ip_text);

// The canonical text of an IPv4 or IPv6 address (RFC 5952: lower case, "::" for the longest run
// of zeros), with IPv4-mapped IPv6 (::ffff:a.b.c.d) unmapped to a.b.c.d. nullopt if `text` is
// not an address.
std::optional<std::string> canonical_ip_text(std::string_view text);

}  // namespace mxgate::reputation
