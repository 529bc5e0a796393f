// The policy side of one SMTP session: runs each stage's checks as the registration table says
// (policy/check_table.hpp: which check, at which stage and phase, in which order; it names no
// check itself), keeps what the checks learned (SessionFacts, policy/facts.hpp) and the
// session's score and memory (reputation::SessionVerdict: thresholds, allow, delay_reject,
// quarantine), turns decisions into replies (reputation::reply_for), logs and counts every
// decision and signal, writes the Authentication-Results header (RFC 8601), and records every
// outcome in the reputation store.
//
// Outcomes recorded (per Unix day, on the client IP, its networks and the sender domain once
// MAIL named one; batched by ReputationStore::add and written by the runtime's flush):
//   refused at connect or MAIL   rejected (Reject, Drop) or deferred (Defer)
//   RCPT answered 5xx / 4xx       rejected / deferred; 550 5.1.1 also counts invalid_recipients
//   end of data 2xx / 5xx / 4xx   accepted / rejected / deferred
// Failure: a check's error or timeout counts as its on_error says (reputation/policy.hpp); a
// store write that does not fit the pending batch is dropped and counted; nothing throws on
// client input.
// Threading: one per session, used on the session's worker only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/message_auth.hpp"
#include "conf/config.hpp"
#include "milter/chain.hpp"
#include "policy/auth_checks.hpp"
#include "policy/check_context.hpp"
#include "policy/check_table.hpp"
#include "policy/dns_checks.hpp"
#include "policy/facts.hpp"
#include "policy/history_checks.hpp"
#include "policy/pipeline.hpp"
#include "policy/rules.hpp"
#include "policy/services.hpp"
#include "reputation/policy.hpp"
#include "smtp/command.hpp"
#include "smtp/reply.hpp"
#include "storage/linked_note.hpp"

namespace mxgate::policy {

// A refusal to send. close: the session ends after it (connect refusals, Drop).
struct Refusal {
  smtp::Reply reply;
  bool close = false;
  reputation::Action action = reputation::Action::Reject;  // Reject, Defer or Drop
};

// The note a refused message leaves for its client IP's postmaster page (issue 17): the linked
// domain whose listing the content checks found, with who listed it and why. nullopt when no
// linked domain was listed, or when the message was not refused for good (a deferral may yet
// pass; an accepted or quarantined message was not refused).
std::optional<storage::LinkedDomainNote> linked_domain_note(const ContentFindings& findings,
                                                            reputation::Action action,
                                                            std::int64_t now);

class SessionPolicy {
 public:
  // `context` and `rules` must outlive the policy (the worker's and the session's snapshot's).
  SessionPolicy(const Services& context, const Rules& rules, const std::string& session_id);

  // The client's address (after any PROXY header). Text that is no address skips IP checks.
  void set_client(const std::string& ip_text);

  // Connect, first part (the table's First phase): the store's history (microseconds when
  // cached). A refusal here is an explicit one (a listing), answered instead of the banner. An
  // allowed client's connect stage ends here (allowed() is true): it skips the DNS checks and
  // the greet pause.
  boost::asio::awaitable<std::optional<Refusal>> screen_history();
  // Connect, second part: the DNS checks and `extra` (the session's pregreet check, at the
  // table's "pregreet" row), all concurrently; then the throttle; then the connect stage's
  // decision.
  boost::asio::awaitable<std::optional<Refusal>> screen_dns(std::vector<PendingCheck> extra);
  boost::asio::awaitable<std::optional<Refusal>> helo(const std::string& name);
  boost::asio::awaitable<std::optional<Refusal>> mail(const smtp::Path& from);
  bool allowed() const { return verdict_.allowed(); }
  // The client's forward-confirmed PTR name once the rdns check ran, or "".
  const std::string& client_name() const { return facts_->dns.confirmed_name; }
  // In reputation.trusted_networks: no DNS checks, no greet pause.
  bool trusted() const { return client_.trusted; }
  // The settings of a known check ("pregreet", ...).
  const reputation::CheckSettings& settings(std::string_view check) const;
  // At each RCPT: a reject postponed by delay_reject, the throttle's recipient limits, then
  // greylisting ([greylist]: every untrusted, not allow-listed client in mode "all"; in mode
  // "doubtful" a session whose score landed in the defer band at any stage up to this RCPT,
  // which was let on instead of deferred). The refused line of the log names `recipient`.
  std::optional<Refusal> rcpt(std::string_view recipient);
  // A RCPT was answered 550 5.1.1: at throttle.dictionary_limit in one session, a refusal
  // that ends it (a dictionary attack).
  std::optional<Refusal> unknown_recipient(std::string_view recipient);
  // The throttle applies to this client (not trusted, not allow-listed, check not off).
  bool throttled() const;
  void reset_transaction();  // RSET, EHLO, a finished transaction

  // Messages are authenticated ([auth] enabled, a client outside trusted_networks, DNS on).
  bool authenticating() const;
  // A scanner for the next message's content (authenticating() only).
  std::shared_ptr<auth::MessageScanner> make_scanner() const;
  // The message's content is parsed and judged ([content] enabled, an untrusted client).
  bool judging_content() const;
  // A parser for the next message's content (judging_content() only); `smtputf8`: the
  // transaction's MAIL FROM had SMTPUTF8.
  std::shared_ptr<content::MessageParser> make_parser(bool smtputf8) const;
  // Once the scanner's header ended: starts the DKIM key and DMARC record lookups, so that
  // they run while the body streams in. Each name at most once.
  void prefetch(const boost::asio::any_io_executor& executor, const auth::MessageScanner& message);
  // The end-of-data stage (after scanner->finish() and parser->finish(); either may be null
  // when not authenticating or not judging content): DKIM, the content checks, then DMARC over
  // the SPF and DKIM results and the bulk check, then the throttle's auth_domain limits; writes
  // auth_header(). A refusal rejects the message. A rejection (or drop) of a message that links
  // to a listed domain (ContentFindings::listed_domain) leaves the client IP a note for its
  // postmaster page (ReputationStore::note_linked_domain: queued, written by the next flush).
  boost::asio::awaitable<std::optional<Refusal>> end_of_data(
      std::shared_ptr<const auth::MessageScanner> message,
      std::shared_ptr<const content::MessageParser> content = {});
  // The Authentication-Results header line (with CRLF) end_of_data() wrote, or "".
  const std::string& auth_header() const { return auth_header_; }
  // "spf:pass,dkim:pass,dmarc:pass" for the transaction log line ("" when not authenticating).
  std::string auth_summary() const;

  // Decided at any stage so far: the message is accepted into quarantine.
  bool quarantined() const { return verdict_.quarantined(); }
  // The header line (with CRLF) that marks a quarantined message.
  std::string quarantine_header() const;

  // A content filter's verdict at `stage` (issue 18). A refusal raises milter_reject or
  // milter_tempfail: counted (mxgate_verdicts_total), added to the session's signals, logged
  // as a refused line naming the filter, and recorded on the client's record at connect, HELO
  // and MAIL (RCPT and end of data are recorded with their replies, as always). The reply is
  // the filter's own when it fits the verdict, else ours; a filter that drops the connection
  // gets 421 and the session ends.
  std::optional<Refusal> filter_verdict(reputation::Stage stage, const milter::Verdict& verdict,
                                        std::string_view recipient = {});

  void record_rcpt(const smtp::Reply& reply);
  void record_message(const smtp::Reply& final_reply);

  // "check:signal:score,..." of the signals raised so far (at most about 1 KiB), for the
  // session log line.
  const std::string& signals() const { return signals_; }

 private:
  CheckContext check_context(std::shared_ptr<const auth::MessageScanner> message = {},
                             std::shared_ptr<const content::MessageParser> content = {}) const;
  boost::asio::awaitable<std::optional<Refusal>> run_stage(reputation::Stage stage, Phase first,
                                                           std::vector<PendingCheck> provided);
  std::optional<Refusal> decide_stage(reputation::Stage stage,
                                      std::vector<reputation::CheckOutcome> outcomes,
                                      std::string_view recipient = {});
  bool sender_credited() const;  // the sender domain's record may count this transaction
  void note_arc_vouch() const;
  void write_auth_header();
  std::optional<Refusal> answer(reputation::Stage stage, const reputation::StageAnswer& answer,
                                std::string_view recipient = {});
  void note(reputation::Stage stage, const reputation::StageDecision& decision);
  void append_signal(const reputation::FiredSignal& fired, bool observe);
  void record(const reputation::Counters& delta);
  void note_linked_domain(const Refusal& refusal);
  // Greylisting (issue 20): whether a score-based deferral is answered by greylisting at RCPT
  // instead (then remembered as doubtful for the score's lifetime), and the RCPT's decision.
  bool greylists_instead(reputation::Stage stage, const reputation::StageAnswer& answer) const;
  bool greylisting() const;  // on, and this client may be greylisted
  std::optional<Refusal> greylist(std::string_view recipient);

  const Services& context_;  // the worker's; checks hold it by reference too
  const Rules& rules_;
  const conf::Config& config_;
  const std::string& session_id_;
  reputation::SessionVerdict verdict_;
  Client client_;
  std::vector<reputation::CheckOutcome> history_;  // connect's first phase, decided with the rest
  std::shared_ptr<SessionFacts> facts_ = std::make_shared<SessionFacts>();
  std::uint32_t unknown_recipients_ = 0;
  std::string helo_;
  std::string sender_domain_;  // the current transaction's domain key, "" for none
  std::string sender_;         // the current transaction's envelope sender, "" for <>
  // Greylisting's doubtful band, by the lifetime of the score that landed there.
  bool doubtful_session_ = false;      // connect or helo
  bool doubtful_transaction_ = false;  // mail
  bool doubtful_rcpt_ = false;         // this RCPT
  bool greylist_passed_ = false;       // a RCPT of this transaction passed greylisting
  std::string auth_header_;
  std::string signals_;
  reputation::Signal quarantine_signal_ = reputation::Signal::None;
  std::string quarantine_reason_;
};

}  // namespace mxgate::policy
