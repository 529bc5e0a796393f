// milter::Chain with scripted filters on unix sockets: the order of the filters, who decides,
// what each filter hears (macros, header values, body chunks), accept and skip, the default
// action of a filter that is down or too slow, the changes gathered at the end of the body,
// abort and quit, and connections kept between sessions (milter::Pool).
#include "milter/chain.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <random>

#include "io/manual_time.hpp"
#include "tests/milter/fake_filter.hpp"

namespace mxgate::milter {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace std::string_literals;
using testing::FakeFilter;
using testing::packet;
using testing::words;

const std::vector<Step> kAllSteps = {Step::Connect,     Step::Helo, Step::Mail,
                                     Step::Rcpt,        Step::Data, Step::Header,
                                     Step::EndOfHeader, Step::Body, Step::EndOfBody};
const std::vector<std::string> kMacros = {"j", "{client_addr}", "{mail_addr}", "{rcpt_addr}", "i"};

// An answer that is no answer: the filter keeps quiet.
const std::string kSilent = "(silent)";

// Negotiates `actions` and `protocol`, then answers each step with `answer(packet)` (default:
// continue; kSilent: nothing).
FakeFilter::Script script(std::uint32_t actions_wanted = 0, std::uint32_t protocol_wanted = 0,
                          std::function<std::string(const Packet&)> answer = {}) {
  return [=](const Packet& p) -> std::string {
    if (p.code == 'O') return packet('O', words(6, actions_wanted, protocol_wanted));
    if (p.code == 'D' || p.code == 'A' || p.code == 'Q' || p.code == 'K') return "";
    if (answer) {
      if (auto a = answer(p); a == kSilent) {
        return "";
      } else if (!a.empty()) {
        return a;
      }
    }
    return packet('c');
  };
}

class MilterChainTest : public testing::FilterLoop {
 protected:
  MilterChainTest() : FilterLoop("mxgate-chain-") {
    macros_ = {{"j", "mx.example.net"},
               {"{client_addr}", "192.0.2.7"},
               {"{mail_addr}", "a@example.org"},
               {"{rcpt_addr}", "b@example.com"},
               {"i", "T1"},
               {"{cipher}", "not configured"}};
  }

  FilterSettings filter(const std::string& name, DefaultAction action = DefaultAction::Tempfail) {
    FilterSettings f;
    f.name = name;
    f.client.endpoint.unix_socket = true;
    f.client.endpoint.path = (dir_ / (name + ".sock")).string();
    f.client.connect_timeout = 1s;
    f.client.command_timeout = 1s;
    f.steps = kAllSteps;
    f.default_action = action;
    f.macros = kMacros;
    f.timeout = 1s;
    return f;
  }
  std::filesystem::path socket(const std::string& name) { return dir_ / (name + ".sock"); }

  // connect, helo, mail, rcpt: the first verdict that is not "continue", or the last.
  Verdict envelope(Chain& chain) {
    for (auto* step :
         {+[](Chain&c, const Macros&m) {
            return c.connect("client.example.org", Family::Inet, 4567, "192.0.2.7", m);
          },
          +[](Chain&c, const Macros&m) { return c.helo("client.example.org", m); },
          +[](Chain&c, const Macros&m) { return c.mail("<a@example.org>", {"SIZE=100"}, m); },
          +[](Chain&c, const Macros&m) { return c.rcpt("<b@example.com>", {}, m); }}) {
      auto v = run(step(chain, macros_));
      if (v.kind != Answer::Kind::Continue) return v;
    }
    return Verdict{};
  }

  Macros macros_;
};

TEST_F(MilterChainTest, FiltersRunInOrderAndTheFirstRefusalDecides) {
  FakeFilter first(io_, socket("first"), script());
  FakeFilter second(io_, socket("second"), script(0, 0, [](const Packet& p) -> std::string {
                      return p.code == 'R' ? packet('y', "550 5.7.1 No such user here\0"s) : "";
                    }));
  FakeFilter third(io_, socket("third"), script());
  Chain chain(io_.get_executor(), {filter("first"), filter("second"), filter("third")});
  const auto verdict = envelope(chain);
  EXPECT_EQ(verdict.kind, Answer::Kind::Reject);
  EXPECT_EQ(verdict.filter, "second");
  EXPECT_EQ(verdict.reply, (ReplyCode{550, {"5.7.1 No such user here"}}));
  EXPECT_FALSE(verdict.by_default_action);
  // The first heard the rcpt, the third was not asked.
  EXPECT_EQ(first.received.back().code, 'R');
  EXPECT_NE(third.received.back().code, 'R');
  // Connect macros: the defaults for the stage the configuration allows, with their values.
  ASSERT_GE(first.received.size(), 3u);
  EXPECT_EQ(first.received[1], (Packet{'D',
                                       "Cj\0mx.example.net\0{client_addr}\0"s
                                       "192.0.2.7\0"s}));
  EXPECT_EQ(first.received[2], (Packet{'C',
                                       "client.example.org\0"
                                       "4\x11\xd7"
                                       "192.0.2.7\0"s}));
}

TEST_F(MilterChainTest, AFilterThatAcceptsAtConnectIsNotAskedAgain) {
  FakeFilter quiet(io_, socket("quiet"), script(0, 0, [](const Packet& p) -> std::string {
                     return p.code == 'C' ? packet('a') : "";
                   }));
  Chain chain(io_.get_executor(), {filter("quiet")});
  EXPECT_EQ(envelope(chain).kind, Answer::Kind::Continue);
  EXPECT_EQ(run(chain.data(macros_)).kind, Answer::Kind::Continue);
  EXPECT_EQ(quiet.received.back().code, 'C');
}

TEST_F(MilterChainTest, AFilterThatIsDownGetsItsDefaultAction) {
  Chain tempfail(io_.get_executor(), {filter("absent")});
  auto v = envelope(tempfail);
  EXPECT_EQ(v.kind, Answer::Kind::Tempfail);
  EXPECT_TRUE(v.by_default_action);
  EXPECT_EQ(v.filter, "absent");
  EXPECT_NE(v.failure.find("absent.sock"), std::string::npos) << v.failure;
  // ... for every later step too, without trying again.
  EXPECT_EQ(run(tempfail.helo("x", macros_)).kind, Answer::Kind::Tempfail);

  Chain reject(io_.get_executor(), {filter("absent", DefaultAction::Reject)});
  EXPECT_EQ(envelope(reject).kind, Answer::Kind::Reject);

  FakeFilter present(io_, socket("present"), script());
  Chain accept(io_.get_executor(), {filter("absent", DefaultAction::Accept), filter("present")});
  EXPECT_EQ(envelope(accept).kind, Answer::Kind::Continue);
  EXPECT_EQ(present.received.back().code, 'R');  // the others go on
}

TEST_F(MilterChainTest, AFilterTooSlowGetsItsDefaultAction) {
  FakeFilter slow(io_, socket("slow"), script(0, 0, [](const Packet& p) -> std::string {
                    return p.code == 'M' ? kSilent : "";
                  }));
  Chain chain(io_.get_executor(), {filter("slow")});  // timeout 1 s, default tempfail
  EXPECT_EQ(run(chain.connect("h", Family::Inet, 1, "192.0.2.7", macros_)).kind,
            Answer::Kind::Continue);
  std::optional<Verdict> got;
  asio::co_spawn(io_, chain.mail("<a@example.org>", {}, macros_),
                 [&](std::exception_ptr, Verdict v) { got = std::move(v); });
  for (int i = 0; i < 100 && slow.received.back().code != 'M'; ++i) turn();
  ASSERT_EQ(slow.received.back().code, 'M');
  io::advance(io_, clock_, 900ms);
  EXPECT_FALSE(got);
  io::advance(io_, clock_, 200ms);
  for (int i = 0; i < 200 && !got; ++i) turn();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Answer::Kind::Tempfail);
  EXPECT_TRUE(got->by_default_action);
  EXPECT_NE(got->failure.find("no answer in 1000 ms"), std::string::npos) << got->failure;
  for (int i = 0; i < 100 && !slow.closed_by_client; ++i) turn();
  EXPECT_TRUE(slow.closed_by_client);  // the connection is given up
}

TEST_F(MilterChainTest, TheMessageGoesOutAsLibmilterHandsItOn) {
  FakeFilter plain_filter(io_, socket("plain"), script(0, protocol::kNoReplyHeader));
  FakeFilter spaced(io_, socket("spaced"), script(0, protocol::kHeaderLeadingSpace));
  Chain chain(io_.get_executor(), {filter("plain"), filter("spaced")});
  ASSERT_EQ(envelope(chain).kind, Answer::Kind::Continue);
  ASSERT_EQ(run(chain.data(macros_)).kind, Answer::Kind::Continue);
  const std::string header = "Subject: one\r\n two\r\nX-Empty:\r\nFrom: <a@example.org>\r\n\r\n";
  ASSERT_EQ(run(chain.header(header, macros_)).kind, Answer::Kind::Continue);
  const std::string body(100000, 'b');
  ASSERT_EQ(run(chain.body(body)).kind, Answer::Kind::Continue);
  ASSERT_EQ(run(chain.end_of_body(macros_)).kind, Answer::Kind::Continue);

  std::vector<Packet> headers, chunks;
  for (const auto& p : plain_filter.received) {
    if (p.code == 'L') headers.push_back(p);
    if (p.code == 'B') chunks.push_back(p);
  }
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0].data, "Subject\0one\n two\0"s);
  EXPECT_EQ(headers[1].data, "X-Empty\0\0"s);
  EXPECT_EQ(headers[2].data, "From\0<a@example.org>\0"s);
  ASSERT_EQ(chunks.size(), 2u);  // 65535 + the rest
  EXPECT_EQ(chunks[0].data.size(), kMaxBodyChunk);
  EXPECT_EQ(chunks[1].data.size(), body.size() - kMaxBodyChunk);
  for (const auto& p : spaced.received) {
    if (p.code == 'L') {
      EXPECT_EQ(p.data, "Subject\0 one\n two\0"s);
      break;
    }
  }
  EXPECT_EQ(plain_filter.received.back().code, 'E');
}

TEST_F(MilterChainTest, ChangesOfEveryFilterAreGatheredInOrder) {
  const auto changes = [](std::string name) {
    return script(actions::kAddHeaders | actions::kChangeBody | actions::kQuarantine, 0,
                  [name](const Packet& p) -> std::string {
                    if (p.code != 'E') return "";
                    std::string out = packet('h', "X-" + name + "\0yes\0"s);
                    if (name == "second")
                      out += packet('b', "replaced\r\n") + packet('q', "held\0"s);
                    return out + packet('c');
                  });
  };
  FakeFilter first(io_, socket("first"), changes("first"));
  FakeFilter second(io_, socket("second"), changes("second"));
  Chain chain(io_.get_executor(), {filter("first"), filter("second")});
  ASSERT_EQ(envelope(chain).kind, Answer::Kind::Continue);
  run(chain.data(macros_));
  run(chain.header("Subject: x\r\n\r\n", macros_));
  run(chain.body("body\r\n"));
  const auto verdict = run(chain.end_of_body(macros_));
  EXPECT_EQ(verdict.kind, Answer::Kind::Continue);
  ASSERT_EQ(verdict.header_changes.size(), 2u);
  EXPECT_EQ(std::get<AddHeader>(verdict.header_changes[0]).name, "X-first");
  EXPECT_EQ(std::get<AddHeader>(verdict.header_changes[1]).name, "X-second");
  EXPECT_EQ(verdict.new_body, "replaced\r\n");
  EXPECT_EQ(verdict.quarantine, "held");
  // The end-of-message macros the configuration allows.
  bool eom_macros = false;
  for (const auto& p : first.received) eom_macros |= p == Packet{'D', "Ei\0T1\0"s};
  EXPECT_TRUE(eom_macros);
}

TEST_F(MilterChainTest, SkipEndsTheBodyForThatFilter) {
  FakeFilter skipper(io_, socket("skipper"), script(0, protocol::kSkip, [](const Packet& p) {
                       return p.code == 'B' ? packet('s') : std::string();
                     }));
  Chain chain(io_.get_executor(), {filter("skipper")});
  envelope(chain);
  run(chain.data(macros_));
  run(chain.header("Subject: x\r\n\r\n", macros_));
  run(chain.body("one\r\n"));
  run(chain.body("two\r\n"));
  run(chain.end_of_body(macros_));
  int chunks = 0;
  for (const auto& p : skipper.received) chunks += p.code == 'B';
  EXPECT_EQ(chunks, 1);
  EXPECT_EQ(skipper.received.back().code, 'E');
}

TEST_F(MilterChainTest, AbortAndQuit) {
  FakeFilter f(io_, socket("f"), script());
  Chain chain(io_.get_executor(), {filter("f")});
  envelope(chain);
  run_void(chain.abort());
  for (int i = 0; i < 100 && f.received.back().code != 'A'; ++i) turn();
  EXPECT_EQ(f.received.back().code, 'A');
  EXPECT_EQ(run(chain.mail("<c@example.org>", {}, macros_)).kind, Answer::Kind::Continue);
  run_void(chain.quit());
  for (int i = 0; i < 100 && !f.closed_by_client; ++i) turn();
  EXPECT_EQ(f.received.back().code, 'Q');
  EXPECT_TRUE(f.closed_by_client);
}

// Connections kept between sessions.
class MilterReuseTest : public MilterChainTest {
 protected:
  FilterSettings kept(const std::string& name, Reuse reuse = Reuse::AfterMessage) {
    auto f = filter(name);
    f.reuse = reuse;
    f.idle_timeout = 10s;
    return f;
  }
  // A whole session with one message; the filter's last answer decides whether it is kept.
  void session_with_message(Chain& chain) {
    envelope(chain);
    run(chain.data(macros_));
    run(chain.header("Subject: x\r\n\r\n", macros_));
    run(chain.body("hello\r\n"));
    const auto end = run(chain.end_of_body(macros_));
    EXPECT_FALSE(end.refused()) << end.failure;
    quit(chain);
  }
  // Ends the session and waits until the filters heard of it (nothing answers a quit).
  void quit(Chain& chain) {
    std::vector<std::size_t> before;
    for (const auto* f : filters_) before.push_back(f->received.size());
    run_void(chain.quit());
    for (int i = 0; i < 100 && !quit_seen(before); ++i) turn();
  }
  bool quit_seen(const std::vector<std::size_t>& before) const {
    for (std::size_t i = 0; i < filters_.size(); ++i) {
      const auto& got = filters_[i]->received;
      if (got.size() <= before[i] || (got.back().code != 'Q' && got.back().code != 'K')) {
        return false;
      }
    }
    return true;
  }
  FakeFilter& watch(FakeFilter& f) {
    filters_.push_back(&f);
    return f;
  }
  // The codes `f` received since `from`.
  static std::string codes(const FakeFilter& f, std::size_t from = 0) {
    std::string out;
    for (std::size_t i = from; i < f.received.size(); ++i) out += f.received[i].code;
    return out;
  }
  Pool pool_;
  std::vector<const FakeFilter*> filters_;
};

TEST_F(MilterReuseTest, AConnectionIsKeptAfterAMessageTheFilterLetContinue) {
  FakeFilter f(io_, socket("f"), script());
  watch(f);
  {
    Chain chain(io_.get_executor(), {kept("f")}, &pool_);
    session_with_message(chain);
  }
  EXPECT_EQ(codes(f), "ODCHDMDRDTLNBDEK");
  EXPECT_EQ(pool_.idle(), 1u);
  const auto before = f.received.size();
  Chain next(io_.get_executor(), {kept("f")}, &pool_);
  EXPECT_EQ(envelope(next).kind, Answer::Kind::Continue);
  EXPECT_EQ(codes(f, before), "DCHDMDR");  // no new negotiation: the session starts at once
  EXPECT_EQ(f.connections, 1);
  EXPECT_EQ(pool_.idle(), 0u);
}

TEST_F(MilterReuseTest, AfterMessageClosesWhenTheFilterDidNotEndInThatState) {
  // Accepted at the end of the message, or a session without one: libmilter would ignore a
  // QUIT_NC there (and then the next session's connect), so the connection is not kept.
  FakeFilter f(io_, socket("f"), script(0, 0, [](const Packet& p) {
                 return p.code == 'E' ? packet('a') : std::string();
               }));
  watch(f);
  {
    Chain chain(io_.get_executor(), {kept("f")}, &pool_);
    session_with_message(chain);
  }
  EXPECT_EQ(codes(f).back(), 'Q');
  {
    Chain chain(io_.get_executor(), {kept("f")}, &pool_);
    envelope(chain);
    quit(chain);
  }
  EXPECT_EQ(codes(f).substr(codes(f).size() - 2), "AQ");  // the transaction ends, then the link
  EXPECT_EQ(pool_.idle(), 0u);
  EXPECT_EQ(f.connections, 2);
}

TEST_F(MilterReuseTest, AlwaysKeepsItAnywhereEndingTheTransactionFirst) {
  FakeFilter f(io_, socket("f"), script());
  watch(f);
  Chain chain(io_.get_executor(), {kept("f", Reuse::Always)}, &pool_);
  envelope(chain);
  quit(chain);
  EXPECT_EQ(codes(f).substr(codes(f).size() - 2), "AK");
  EXPECT_EQ(pool_.idle(), 1u);
}

TEST_F(MilterReuseTest, NeverKeepsIt) {
  FakeFilter f(io_, socket("f"), script());
  watch(f);
  Chain chain(io_.get_executor(), {kept("f", Reuse::Never)}, &pool_);
  session_with_message(chain);
  EXPECT_EQ(codes(f).back(), 'Q');
  EXPECT_EQ(pool_.idle(), 0u);
}

TEST_F(MilterReuseTest, AKeptConnectionTheFilterClosedIsReplaced) {
  FakeFilter f(io_, socket("f"), script());
  watch(f);
  {
    Chain chain(io_.get_executor(), {kept("f")}, &pool_);
    session_with_message(chain);
  }
  f.hang_up();
  for (int i = 0; i < 20; ++i) turn();
  Chain next(io_.get_executor(), {kept("f")}, &pool_);
  EXPECT_EQ(envelope(next).kind, Answer::Kind::Continue);
  EXPECT_EQ(f.connections, 2);
  EXPECT_EQ(codes(f).substr(codes(f).size() - 8), "ODCHDMDR");
}

TEST_F(MilterReuseTest, AKeptConnectionThatFailsAtItsFirstStepIsReplacedOnce) {
  // The filter drops it just as the next session begins: the step goes to a new connection.
  int connects = 0;
  FakeFilter f(io_, socket("f"), script(0, 0, [&](const Packet& p) {
                 return p.code == 'C' && ++connects == 2 ? testing::kHangUp : std::string();
               }));
  watch(f);
  {
    Chain chain(io_.get_executor(), {kept("f")}, &pool_);
    session_with_message(chain);
  }
  Chain next(io_.get_executor(), {kept("f")}, &pool_);
  EXPECT_EQ(envelope(next).kind, Answer::Kind::Continue);
  EXPECT_EQ(f.connections, 2);
  EXPECT_EQ(connects, 3);
}

TEST_F(MilterReuseTest, AKeptConnectionClosesAfterItsIdleTime) {
  FakeFilter f(io_, socket("f"), script());
  watch(f);
  {
    Chain chain(io_.get_executor(), {kept("f")}, &pool_);
    session_with_message(chain);
  }
  io::advance(io_, clock_, 9s);
  for (int i = 0; i < 20; ++i) turn();
  EXPECT_FALSE(f.closed_by_client);
  io::advance(io_, clock_, 2s);
  for (int i = 0; i < 100 && !f.closed_by_client; ++i) turn();
  EXPECT_TRUE(f.closed_by_client);
  EXPECT_EQ(pool_.take(kept("f").client), nullptr);
}

TEST_F(MilterReuseTest, ConnectionsAreKeptPerSettingsAndBounded) {
  FakeFilter f(io_, socket("f"), script());
  watch(f);
  Pool small(2);
  for (int i = 0; i < 3; ++i) {
    Chain chain(io_.get_executor(), {kept("f")}, &small);
    // Three sessions at once: each takes its own connection.
    envelope(chain);
  }
  std::vector<std::unique_ptr<Chain>> chains;
  for (int i = 0; i < 3; ++i) {
    chains.push_back(std::make_unique<Chain>(io_.get_executor(),
                                             std::vector{kept("f")}, &small));
    session_with_message(*chains.back());
  }
  EXPECT_EQ(small.idle(), 1u);  // one after another: the same connection each time
  auto other = kept("f");
  other.client.offer.actions = 0;  // a reload changed what is offered
  EXPECT_EQ(small.take(other.client), nullptr);
  EXPECT_NE(small.take(kept("f").client), nullptr);
  small.shutdown();
  Chain late(io_.get_executor(), {kept("f")}, &small);
  session_with_message(late);
  EXPECT_EQ(small.idle(), 0u);  // draining: nothing is kept
}

}  // namespace
}  // namespace mxgate::milter
