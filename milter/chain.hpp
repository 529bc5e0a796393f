// milter::Chain: the filters of one SMTP session, asked in their configured order at each step,
// as Postfix's smtpd_milters are (issue 18).
//   - A filter's connection opens at its first step of the session (one kept from an earlier
//     session comes from the worker's Pool when there is one). At the end of the session it is
//     told QUIT_NC and kept in the Pool, as its `reuse` allows, or told QUIT and closed. A kept
//     connection that turns out closed at its first step is replaced by a new one, once.
//   - At each step the first filter whose answer is not "continue" decides (reject, tempfail,
//     discard, drop the connection); the filters after it are not asked. A filter that accepts
//     is not asked again for that message (for the whole session when it accepts at connect or
//     HELO).
//   - A filter that cannot be reached, does not answer in time or breaks the protocol is closed
//     and its default_action decides for the rest of the session, as Postfix's
//     milter_default_action: tempfail (every step 451 4.7.1), reject (5xx), or accept (as if it
//     were not configured).
//   - At the end of the body the changes of every filter (header changes, a new body, a
//     quarantine reason) are gathered in filter order. Each filter sees the message as the
//     client sent it.
//   - Steps a filter does not want (its negotiation, or its `steps`) are not sent to it.
//   - Header values go out with folded lines joined by LF and without the space after the
//     colon (libmilter's convention) unless the filter asked for that space.
// Threading: one Chain per session, on the session's executor, one step at a time.
// Failure: never throws for a filter's fault; see Verdict.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "milter/client.hpp"
#include "milter/metrics.hpp"
#include "milter/pool.hpp"

namespace mxgate::milter {

enum class DefaultAction { Tempfail, Accept, Reject };
// When a filter's connection is kept for the next session (conf::MilterConfig::Reuse): never;
// only after a message it answered "continue" at its end (libmilter takes QUIT_NC from that
// state alone, and ignores it elsewhere, which would run two sessions together); always.
enum class Reuse { Never, AfterMessage, Always };

struct FilterSettings {
  std::string name;  // for logs and metrics
  ClientSettings client;
  std::vector<Step> steps;  // the steps it is told about (EndOfBody always)
  DefaultAction default_action = DefaultAction::Tempfail;
  std::vector<std::string> macros;           // the macro names sent, when the filter asks for none
  std::chrono::milliseconds timeout{30000};  // each step
  Reuse reuse = Reuse::Never;
  std::chrono::milliseconds idle_timeout{30000};  // kept unused in the Pool at most this long
  std::shared_ptr<const FilterMetrics> metrics;  // null: not counted
};

// Macro values by name ("j", "{client_addr}"); the caller keeps it current.
using Macros = std::map<std::string, std::string, std::less<>>;

// How a step ended for the session.
struct Verdict {
  Answer::Kind kind =
      Answer::Kind::Continue;      // Continue, Reject, Tempfail, Discard, ConnectionFail
  std::string filter;              // the filter that decided (empty: none did)
  std::optional<ReplyCode> reply;  // the filter's own reply, if it chose one
  bool by_default_action = false;  // the filter failed; its default_action decided
  std::string failure;             // why it failed (for the log)
  // At the end of the body: what the filters changed, in filter order.
  std::vector<std::variant<AddHeader, InsertHeader, ChangeHeader>> header_changes;
  std::optional<std::string> new_body;
  std::optional<std::string> quarantine;

  bool refused() const {
    return kind == Answer::Kind::Reject || kind == Answer::Kind::Tempfail ||
           kind == Answer::Kind::ConnectionFail;
  }
};

class Chain {
 public:
  // `pool` (may be null: no connection is kept) outlives the Chain.
  Chain(boost::asio::any_io_executor executor, std::vector<FilterSettings> filters,
        Pool* pool = nullptr);
  ~Chain();
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  boost::asio::awaitable<Verdict> connect(std::string hostname, Family family, std::uint16_t port,
                                          std::string address, const Macros& macros);
  boost::asio::awaitable<Verdict> helo(std::string name, const Macros& macros);
  // `path` is "<address>"; `parameters` the ESMTP ones.
  boost::asio::awaitable<Verdict> mail(std::string path, std::vector<std::string> parameters,
                                       const Macros& macros);
  boost::asio::awaitable<Verdict> rcpt(std::string path, std::vector<std::string> parameters,
                                       const Macros& macros);
  boost::asio::awaitable<Verdict> data(const Macros& macros);
  // The message: `header` is the header section as received (CRLF, folded lines as they are,
  // ending with the empty line), then the body in pieces of any size, then the end.
  boost::asio::awaitable<Verdict> header(std::string_view header, const Macros& macros);
  boost::asio::awaitable<Verdict> body(std::string_view piece);
  boost::asio::awaitable<Verdict> end_of_body(const Macros& macros);
  // The transaction ended without a message (RSET, a refusal, a lost client): the filters in
  // a transaction forget it.
  boost::asio::awaitable<void> abort();
  // The session ends: each connection is kept in the pool or closed.
  boost::asio::awaitable<void> quit();

  std::size_t size() const { return filters_.size(); }

  struct Filter;  // a filter's connection and state (chain.cpp)

 private:
  boost::asio::awaitable<Verdict> run(Step step, const Macros* macros, std::string packets,
                                      std::string_view body_piece = {});

  boost::asio::any_io_executor executor_;
  Pool* pool_;
  std::vector<std::unique_ptr<Filter>> filters_;
  bool in_transaction_ = false;
};

}  // namespace mxgate::milter
