#include "relay/inline_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "relay/downstream.hpp"
#include "relay/metrics.hpp"
#include "relay/pool.hpp"
#include "relay/router.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/replies.hpp"

namespace mxgate::relay {

namespace asio = boost::asio;
using boost::system::error_code;
using smtp::Reply;

namespace {

// Content is written once this much is buffered (and always before the terminator), so that
// small chunks from the client do not each cost a write.
constexpr std::size_t kWriteThreshold = 64 * 1024;

// A downstream's 421 closes its connection, not the client's session: the client sees 451.
Reply for_client(Reply reply) {
  if (reply.code == 421) reply.code = 451;
  return reply;
}

void append_path(std::string& out, const smtp::Path& path) {
  out += '<';
  out += path.local_part;
  if (!path.domain.empty()) {
    out += '@';
    out += path.domain;
  }
  out += '>';
}

// MAIL with the client's parameters that the downstream advertised (RFC 1870, 6152, 6531).
void append_mail(std::string& out, const smtp::Command& mail, const smtp::EhloCapabilities& caps) {
  out += "MAIL FROM:";
  append_path(out, mail.path);
  if (mail.size && caps.size > 0) {
    out += " SIZE=";
    out += std::to_string(*mail.size);
  }
  if (caps.eightbitmime && mail.body == smtp::Body::EightBitMime) out += " BODY=8BITMIME";
  if (caps.eightbitmime && mail.body == smtp::Body::SevenBit) out += " BODY=7BIT";
  if (caps.smtputf8 && mail.smtputf8) out += " SMTPUTF8";
  out += "\r\n";
}

void append_rcpt(std::string& out, const smtp::Path& recipient) {
  out += "RCPT TO:";
  append_path(out, recipient);
  out += "\r\n";
}

// Held: after data() of a released transaction, while the client sends the content that the
// session holds; nothing is open downstream until replay().
enum class Phase { Idle, Envelope, Held, Data };
enum class Step { Rset, Mail, Rcpt };

// What one RSET/MAIL/RCPT round came to.
struct Outcome {
  enum Kind { Answer, Stale, Failed } kind = Answer;
  Reply reply;    // Answer: what the client sees
  error_code ec;  // Stale/Failed: why the connection is lost
};

}  // namespace

struct InlineRelay::State {
  State(Pool& p, const Router& r) : pool(p), router(r) {}

  asio::awaitable<Reply> forward(std::span<const smtp::Path> to);
  asio::awaitable<Outcome> introduce();
  asio::awaitable<Outcome> envelope(std::span<const smtp::Path> to);
  // `recipient`: the RCPT's (null for RSET and MAIL).
  asio::awaitable<Outcome> step(Step which, const smtp::Path* recipient, bool pipelined);
  void compose(Step which, const smtp::Path* recipient);
  asio::awaitable<Reply> send_data();
  asio::awaitable<bool> replay(std::size_t target);
  void count_replay(const Reply& reply, const std::vector<smtp::Path>& wanted);
  void lose(const error_code& ec);  // counts, logs and closes the connection
  void give_back();                 // the connection goes back to the pool
  void reset();                     // forgets the transaction

  Pool& pool;
  const Router& router;
  std::unique_ptr<Downstream> conn;
  smtp::ClientIdentity client;
  smtp::Command mail;
  Phase phase = Phase::Idle;
  std::optional<std::size_t> route;  // of the connection and of every accepted recipient
  std::size_t accepted = 0;
  std::vector<smtp::Path> recipients;  // accepted ones, in order, for a replay
  bool released = false;   // release(): data() answers itself, replay() comes later
  bool mail_sent = false;  // the downstream accepted this transaction's MAIL
  bool broken = false;     // the connection was lost after recipients were accepted
  bool content_failed = false;
  smtp::DotStuffer stuffer;
  std::optional<Reply> mail_refusal;  // the downstream's answer to MAIL, when not 2xx
  std::string relay_name;             // of the last connection used, for the log
};

void InlineRelay::State::lose(const error_code& ec) {
  if (conn) {
    if (conn->metrics != nullptr) count_failure(*conn->metrics, ec);
    const auto& target = conn->target();
    spdlog::warn("relay downstream={}:{} error={}", target.host, target.port, ec.message());
  }
  conn.reset();
  mail_sent = false;
  if (accepted > 0) broken = true;
}

void InlineRelay::State::give_back() {
  if (conn) pool.release(std::move(conn));
  mail_sent = false;
}

void InlineRelay::State::reset() {
  phase = Phase::Idle;
  route.reset();
  accepted = 0;
  recipients.clear();
  released = false;
  mail_sent = false;
  broken = false;
  content_failed = false;
}

InlineRelay::InlineRelay(Pool& pool, const Router& router)
    : state_(std::make_unique<State>(pool, router)) {}

InlineRelay::~InlineRelay() { abort(); }

// True even when the connection was lost since: data() then answers 451, not "no recipients".
bool InlineRelay::has_recipients() const {
  return state_->phase != Phase::Idle && state_->accepted > 0;
}

void InlineRelay::client(const smtp::ClientIdentity& client) { state_->client = client; }

void InlineRelay::mail(const smtp::Command& mail) {
  abort();
  state_->relay_name.clear();
  state_->mail = mail;
  state_->phase = Phase::Envelope;
}

void InlineRelay::abort() {
  State& s = *state_;
  // Mid-DATA, closing is the only way to make the downstream drop the partial message.
  if (s.phase == Phase::Data) s.conn.reset();
  s.give_back();
  s.reset();
}

void InlineRelay::release() {
  State& s = *state_;
  if (s.phase != Phase::Envelope) return;
  s.released = true;
  // The pool's next user of the connection sends RSET first (Downstream::needs_rset), which
  // drops the open transaction there; without DATA nothing of it can be delivered.
  s.give_back();
}

std::string InlineRelay::relay_name() const { return state_->relay_name; }

asio::awaitable<Reply> InlineRelay::rcpt(smtp::Path recipient, bool quarantine) {
  State& s = *state_;
  s.relay_name.clear();  // a reply of ours (no route, another route) names no downstream
  if (s.phase != Phase::Envelope) co_return smtp::replies::transaction_out_of_order();
  auto index = s.router.route_for(recipient);
  if (!index) co_return smtp::replies::relaying_denied();
  if (quarantine && s.router.quarantine_route()) index = s.router.quarantine_route();
  if (s.route && *s.route != *index) {
    if (s.accepted > 0) co_return smtp::replies::other_route();
    s.give_back();  // nothing accepted yet: follow the new route
  }
  s.route = index;
  if (s.broken) co_return smtp::replies::downstream_unavailable();
  co_return co_await s.forward(std::span<const smtp::Path>(&recipient, 1));
}

// The reply of the first recipient refused, else of the last one.
asio::awaitable<Reply> InlineRelay::State::forward(std::span<const smtp::Path> to) {
  // A pooled connection may have died while idle: replace it once, transparently.
  for (int attempt = 0;; ++attempt) {
    if (!conn) {
      auto acquired = co_await pool.acquire(router.route(*route), attempt == 0);
      if (!acquired) co_return smtp::replies::downstream_unavailable();  // counted by the pool
      conn = std::move(*acquired);
      mail_sent = false;
    }
    relay_name = conn->relay_name();
    const bool retryable = conn->reused && attempt == 0;
    Outcome outcome = co_await envelope(to);
    if (outcome.kind == Outcome::Answer) co_return std::move(outcome.reply);
    if (outcome.kind == Outcome::Stale && retryable) {
      spdlog::debug("relay stale pooled connection replaced: {}", outcome.ec.message());
      conn.reset();
      mail_sent = false;
      continue;
    }
    lose(outcome.ec);
    co_return smtp::replies::downstream_unavailable();
  }
}

// RSET (when the connection was used before), MAIL (until the downstream accepted it) and the
// RCPTs: in one write when the downstream offers PIPELINING (RFC 2920), else one round trip
// each, up to the first refusal. The answer is the first refused RCPT's, else the last one's.
asio::awaitable<Outcome> InlineRelay::State::envelope(std::span<const smtp::Path> to) {
  if (!mail_sent) {
    Outcome introduced = co_await introduce();
    if (introduced.kind != Outcome::Answer) co_return introduced;
  }
  struct Item {
    Step which;
    const smtp::Path* recipient;
  };
  std::vector<Item> items;
  items.reserve(to.size() + 2);
  if (conn->needs_rset) items.push_back({Step::Rset, nullptr});
  if (!mail_sent) items.push_back({Step::Mail, nullptr});
  for (const auto& recipient : to) items.push_back({Step::Rcpt, &recipient});
  const bool pipelined = conn->capabilities().pipelining;
  if (pipelined) {
    for (const auto& item : items) compose(item.which, item.recipient);
  }
  mail_refusal.reset();
  Outcome outcome;
  std::optional<Reply> refused;  // the first RCPT refused
  for (const auto& item : items) {
    outcome = co_await step(item.which, item.recipient, pipelined);
    if (outcome.kind != Outcome::Answer) co_return outcome;
    if (mail_refusal && !pipelined) break;  // no RCPT without MAIL
    if (item.which != Step::Rcpt || mail_refusal) continue;
    if (!outcome.reply.positive() && !refused) refused = outcome.reply;
    if (!conn) break;                  // a 421: the downstream said its last word
    if (refused && !pipelined) break;  // pipelined replies are read to the last one
  }
  if (refused) outcome.reply = std::move(*refused);
  if (mail_refusal) {
    Reply reply = std::move(*mail_refusal);
    mail_refusal.reset();
    if (reply.code == 421) conn.reset();
    // The RCPT answers with the MAIL's class: its own 5xx, or 451 for any 4xx.
    if (!reply.permanent()) reply.code = 451;
    co_return Outcome{Outcome::Answer, std::move(reply), {}};
  }
  co_return outcome;
}

// Postfix's XCLIENT or XFORWARD before the transaction, when the route forwards the client and
// the downstream offers the command (outside a transaction: RSET first on a used connection).
// XCLIENT resets the downstream's session: it greets again (220) and wants EHLO. A refusal
// (e.g. 550: we are not in smtpd_authorized_xclient_hosts) is logged once per connection, and
// the message goes without it.
asio::awaitable<Outcome> InlineRelay::State::introduce() {
  using Forward = conf::Route::ForwardClient;
  const Forward kind = router.route(*route).forward_client;
  if (kind == Forward::Off || conn->forward_refused) co_return Outcome{};
  const auto& caps = conn->capabilities();
  const bool xclient = kind == Forward::Xclient;
  const std::string line = xclient ? smtp::xclient_command(client, caps.xclient)
                                   : smtp::xforward_command(client, caps.xforward);
  if (line.empty()) co_return Outcome{};  // not offered
  const auto timeout = pool.config().command_timeout;
  if (conn->needs_rset) {
    auto reset = co_await conn->command("RSET", timeout);
    if (!reset) co_return Outcome{Outcome::Stale, {}, reset.error()};
    if (!reset->positive()) co_return Outcome{Outcome::Stale, {}, make_error_code(Error::protocol)};
    conn->needs_rset = false;
  }
  auto reply = co_await conn->command(line, timeout);
  if (!reply) co_return Outcome{Outcome::Stale, {}, reply.error()};
  if (reply->code != (xclient ? 220 : 250)) {
    conn->forward_refused = true;
    const auto& target = conn->target();
    spdlog::warn("relay_forward_client_refused downstream={}:{} command={} reply=\"{}\"",
                 target.host, target.port, xclient ? "XCLIENT" : "XFORWARD",
                 common::escape(reply->text()));
    co_return Outcome{};
  }
  if (xclient) {
    // Postfix takes the HELO name from the EHLO after XCLIENT (as nginx's mail proxy does).
    std::string name = client.helo.empty() ? pool.helo_name() : client.helo;
    conn->speaks_for_client = true;
    if (auto ec = co_await conn->hello_again(std::move(name))) {
      co_return Outcome{Outcome::Failed, {}, ec};
    }
  }
  co_return Outcome{};
}

void InlineRelay::State::compose(Step which, const smtp::Path* recipient) {
  switch (which) {
    case Step::Rset:
      conn->queue("RSET");
      break;
    case Step::Mail:
      append_mail(conn->output(), mail, conn->capabilities());
      break;
    case Step::Rcpt:
      append_rcpt(conn->output(), *recipient);
      break;
  }
}

// One reply of the envelope round (a pipelined round wrote everything with the first step).
asio::awaitable<Outcome> InlineRelay::State::step(Step which, const smtp::Path* recipient,
                                                  bool pipelined) {
  if (!pipelined) compose(which, recipient);
  auto reply = co_await conn->exchange(pool.config().command_timeout);
  // An idle connection found dead before MAIL went through may be replaced (forward()).
  const auto lost = which == Step::Rcpt ? Outcome::Failed : Outcome::Stale;
  if (!reply) co_return Outcome{lost, {}, reply.error()};
  const int klass = reply->klass();
  if (klass == 1 || klass == 3)
    co_return Outcome{Outcome::Failed, {}, make_error_code(Error::protocol)};
  switch (which) {
    case Step::Rset:
      if (klass != 2) co_return Outcome{Outcome::Stale, {}, make_error_code(Error::protocol)};
      conn->needs_rset = false;
      break;
    case Step::Mail:
      if (reply->code == 421 && conn->reused) {
        co_return Outcome{Outcome::Stale, {}, make_error_code(Error::protocol)};
      }
      if (klass == 2)
        mail_sent = true;
      else
        mail_refusal = std::move(*reply);
      break;
    case Step::Rcpt:
      if (mail_refusal) break;  // the pipelined RCPT of a refused MAIL: the MAIL reply counts
      if (klass == 2) {
        ++accepted;
        recipients.push_back(*recipient);
      }
      if (reply->code == 421) {  // the downstream is closing: this transaction is over there
        conn.reset();
        mail_sent = false;
        if (accepted > 0) broken = true;
      }
      co_return Outcome{Outcome::Answer, for_client(std::move(*reply)), {}};
  }
  co_return Outcome{};
}

asio::awaitable<Reply> InlineRelay::data() {
  State& s = *state_;
  if (s.phase != Phase::Envelope) co_return smtp::replies::transaction_out_of_order();
  if (s.broken) co_return smtp::replies::downstream_unavailable();
  if (s.accepted == 0) co_return smtp::replies::no_valid_recipients();
  if (s.released) {
    // RFC 5321 §3.3: 354, then the content up to the end of data; the downstream hears DATA
    // at the replay, and any refusal of it becomes the end of data's 451.
    s.phase = Phase::Held;
    s.content_failed = false;
    co_return smtp::replies::start_data();
  }
  if (!s.conn) co_return smtp::replies::no_valid_recipients();
  co_return co_await s.send_data();
}

// DATA on the connection: 354 lets the content follow (Phase::Data); any other answer is the
// client's.
asio::awaitable<Reply> InlineRelay::State::send_data() {
  auto reply = co_await conn->command("DATA", pool.config().command_timeout);
  if (reply && (reply->klass() == 2 || reply->klass() == 3) && reply->code != 354) {
    reply = make_error_code(Error::protocol);  // DATA cannot succeed without content
  }
  if (!reply) {
    lose(reply.error());
    co_return smtp::replies::downstream_unavailable();
  }
  if (reply->code == 354) {
    phase = Phase::Data;
    content_failed = false;
    stuffer = {};
    co_return std::move(*reply);
  }
  if (reply->code == 421) lose(make_error_code(Error::protocol));
  co_return for_client(std::move(*reply));
}

// The transaction again, before any content, on a connection to `target` (pooled or new):
// MAIL, the recipients accepted so far and DATA. false: the downstream refused one of them or
// could not be reached; its transaction is abandoned with nothing of the message sent, and the
// message fails (end() answers 451 4.4.1: see the header).
asio::awaitable<bool> InlineRelay::State::replay(std::size_t target) {
  // After its 354, closing is the only way to make the downstream drop the transaction; before,
  // the pool has it reset (release()).
  if (phase == Phase::Data) conn.reset();
  give_back();
  const std::vector<smtp::Path> wanted = std::exchange(recipients, {});
  relay_name.clear();  // the replay's downstream, once it has one
  accepted = 0;
  broken = false;
  route = target;
  phase = Phase::Envelope;
  Reply reply = co_await forward(wanted);
  if (reply.positive() && accepted == wanted.size()) reply = co_await send_data();
  count_replay(reply, wanted);
  if (phase == Phase::Data) co_return true;
  give_back();
  reset();
  phase = Phase::Data;
  content_failed = true;
  co_return false;
}

// Counts a replay and logs one that failed: where (the first recipient not accepted, or DATA)
// and the reply (the downstream's, or ours when it could not be reached).
void InlineRelay::State::count_replay(const Reply& reply, const std::vector<smtp::Path>& wanted) {
  RelayMetrics& metrics = pool.metrics();
  if (phase == Phase::Data) {
    metrics.replays_ok.Increment();
    return;
  }
  // Answered by the downstream (its connection still up), or none to answer.
  (conn ? metrics.replays_refused : metrics.replays_unavailable).Increment();
  // Recipients are accepted in order: the first one missing is the one refused.
  const auto at = std::mismatch(
      wanted.begin(), wanted.end(), recipients.begin(), recipients.end(),
      [](const smtp::Path& a, const smtp::Path& b) { return a.address() == b.address(); });
  const std::string step = at.first == wanted.end() ? "DATA" : "<" + at.first->address() + ">";
  spdlog::warn("relay_replay_failed downstream={} at={} reply=\"{} {}\" text={}",
               relay_name.empty() ? "none" : common::escape(relay_name), common::escape(step),
               reply.code, reply.enhanced, common::escape(reply.text()));
}

asio::awaitable<bool> InlineRelay::reroute_to_quarantine() {
  State& s = *state_;
  const auto quarantine = s.router.quarantine_route();
  if (!quarantine || s.route == quarantine) co_return true;
  if (s.content_failed) co_return false;
  // Nothing of the message went to the recipients' route: it goes to the quarantine route.
  if (s.phase == Phase::Held || (s.phase == Phase::Data && s.conn)) {
    co_return co_await s.replay(*quarantine);
  }
  co_return false;
}

asio::awaitable<bool> InlineRelay::content(std::string_view chunk) {
  State& s = *state_;
  if (s.phase == Phase::Held) {
    const bool replayed = co_await s.replay(*s.route);
    if (!replayed) co_return false;
  }
  if (s.phase != Phase::Data || s.content_failed || !s.conn) co_return false;
  std::string& out = s.conn->output();
  s.stuffer.feed(chunk, out);
  if (out.size() < kWriteThreshold) co_return true;
  if (auto ec = co_await s.conn->flush(s.pool.config().command_timeout)) {
    s.lose(ec);
    s.content_failed = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<Reply> InlineRelay::end() {
  State& s = *state_;
  if (s.phase == Phase::Held) co_await s.replay(*s.route);  // no content: a failure is said below
  if (s.phase != Phase::Data) co_return smtp::replies::transaction_out_of_order();
  if (s.content_failed || !s.conn) {
    abort();
    co_return smtp::replies::downstream_unavailable();
  }
  s.relay_name = s.conn->relay_name();
  s.stuffer.end(s.conn->output());
  const auto started = std::chrono::steady_clock::now();
  auto reply = co_await s.conn->exchange(s.pool.config().data_timeout);
  if (reply && reply->klass() != 2 && reply->klass() != 4 && reply->klass() != 5) {
    reply = make_error_code(Error::protocol);
  }
  if (!reply) {
    s.lose(reply.error());
    abort();
    co_return smtp::replies::downstream_unavailable();
  }
  if (s.conn->metrics != nullptr) {
    s.conn->metrics->relay_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (reply->code == 421) s.conn.reset();
  s.phase = Phase::Envelope;  // the message is over: the connection is healthy again
  abort();
  co_return for_client(std::move(*reply));
}

}  // namespace mxgate::relay
