"""Relaying: what a sending MTA sees from mxgate, and what reaches the mailbox server behind it
(Postfix's smtp-sink)."""

import re
import smtplib
import unittest

from dns_server import DnsServer
from harness import HOSTNAME, MxTestCase, Sink, run_tool, send_message, strip_received

MESSAGE = (
    b"From: Sender <s@example.org>\r\n"
    b"To: User <u@example.com>\r\n"
    b"Subject: integration test\r\n"
    b"Message-ID: <relay-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hello, world.\r\n"
    b"Trailing spaces stay   \r\n"
    b"\r\n"
    b"\tA tab-indented line\r\n"
    b"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln (8-bit UTF-8)\r\n"
    b"Last line\r\n"
)

RECEIVED_RE = re.compile(
    rb"^Received: from (?P<helo>\S+) \(\[127\.0\.0\.1\]\)\n"
    rb"\tby mx\.test\.example \(mxgate\) with (?P<with>[A-Z0-9]+) id (?P<id>[0-9A-F]+)")


def lf(data):
    return data.replace(b"\r\n", b"\n")


def refused_lines(mx):
    """The log's refused lines, without the logger's time and level."""
    return [line[line.index("refused "):] for line in mx.log().splitlines() if " refused " in line]


class RelayTest(MxTestCase):

    def test_plain_message_reaches_downstream_with_received_header_and_unchanged_content(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with smtplib.SMTP("127.0.0.1", mx.port, local_hostname="client.example.org",
                          timeout=10) as client:
            refused = client.sendmail("s@example.org", ["u@example.com"], MESSAGE,
                                      mail_options=["BODY=8BITMIME"])
            self.assertEqual(refused, {})
        [msg] = sink.wait_for_messages(1)
        self.assertEqual(msg.mail_from, "<s@example.org>")
        self.assertEqual(msg.rcpts, ["<u@example.com>"])
        self.assertEqual(msg.helo, HOSTNAME, "mxgate greets the downstream with its hostname")
        received, rest = strip_received(msg.content)
        self.assertIsNotNone(received, f"no Received header first: {msg.content[:200]!r}")
        m = RECEIVED_RE.match(received)
        self.assertIsNotNone(m, f"unexpected Received header: {received!r}")
        self.assertEqual(m.group("helo"), b"client.example.org")
        self.assertEqual(m.group("with"), b"ESMTP")
        self.assertIn(b"for <u@example.com>", received)
        self.assertRegex(received, rb"; \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
        self.assertEqual(rest, lf(MESSAGE), "content changed on the way")
        mx.wait_sessions_ended(1)  # nothing more can be relayed for the client
        self.assertEqual(len(sink.messages()), 1)

    def test_helo_client_gets_received_with_smtp(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with mx.connect() as c:
            code, text = c.cmd("HELO old.example.org")
            self.assertEqual((code, text), (250, HOSTNAME))
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: x\r\n\r\nhi\r\n")
            self.assertEqual(code, 250, text)
        [msg] = sink.wait_for_messages(1)
        received, rest = strip_received(msg.content)
        m = RECEIVED_RE.match(received or b"")
        self.assertIsNotNone(m, f"unexpected Received header: {received!r}")
        self.assertEqual(m.group("with"), b"SMTP")
        self.assertEqual(m.group("helo"), b"old.example.org")
        self.assertEqual(rest, b"Subject: x\n\nhi\n")

    def test_swaks_relays_a_message(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        result = run_tool(["swaks", "--server", f"127.0.0.1:{mx.port}", "--to", "u@example.com",
                           "--from", "s@example.org", "--helo", "swaks.example.org",
                           "--header", "Subject: swaks test", "--body", "Sent by swaks."])
        out = result.stdout.decode(errors="replace")
        self.assertEqual(result.returncode, 0, out + result.stderr.decode(errors="replace"))
        self.assertRegex(out, r"<-  250 2\.\d\.\d")
        [msg] = sink.wait_for_messages(1)
        self.assertEqual(msg.mail_from, "<s@example.org>")
        self.assertEqual(msg.rcpts, ["<u@example.com>"])
        self.assertIn(b"Subject: swaks test\n", msg.content)
        self.assertIn(b"\nSent by swaks.\n", msg.content)

    def test_pipelined_commands_in_one_write_get_every_reply_in_order(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.send(b"EHLO pipe.example.org\r\n"
                   b"MAIL FROM:<s@example.org>\r\n"
                   b"RCPT TO:<u@example.com>\r\n"
                   b"RCPT TO:<v@sub.example.com>\r\n"
                   b"DATA\r\n")
            ehlo = c.reply_lines()
            self.assertEqual(ehlo[-1][0], 250)
            self.assertEqual(ehlo[0][1], HOSTNAME)
            mail, rcpt1, rcpt2, data = c.replies(4)
            self.assertEqual(mail[0], 250, mail)
            self.assertTrue(mail[1].startswith("2.1.0"), mail)
            self.assertEqual(rcpt1[0], 250, rcpt1)
            self.assertEqual(rcpt2[0], 250, rcpt2)
            self.assertEqual(data[0], 354, data)
            c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            self.assertEqual(c.reply()[0], 221)
        [msg] = sink.wait_for_messages(1)
        self.assertEqual(msg.rcpts, ["<u@example.com>", "<v@sub.example.com>"])
        self.assertEqual(strip_received(msg.content)[1], b"Subject: pipelined\n\nbody\n")

    def test_bdat_chunks_arrive_intact_and_dot_lines_are_not_changed(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        # Chunk boundaries fall inside lines and inside a CRLF; BDAT has no dot transparency,
        # so lines that start with "." must reach the downstream exactly as sent.
        content = (b"Subject: chunked\r\n\r\n"
                   b"first line\r\n"
                   b".a line with a leading dot\r\n"
                   b".\r\n"
                   b"..two dots\r\n"
                   b"last line\r\n")
        chunks = [content[:17], content[17:50], content[50:]]
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)
            c.send(b"BDAT %d\r\n" % len(chunks[0]) + chunks[0])
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            self.assertIn(f"{len(chunks[0])} octets", text)
            c.send(b"BDAT %d\r\n" % len(chunks[1]) + chunks[1])
            self.assertEqual(c.reply()[0], 250)
            c.send(b"BDAT %d LAST\r\n" % len(chunks[2]) + chunks[2])
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            # A second message in the same session, ended by an empty LAST chunk.
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<w@example.com>")[0], 250)
            c.send(b"BDAT 19\r\nSubject: second\r\n\r\nBDAT 5\r\nhi\r\n.BDAT 0 LAST\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.reply()[0], 250)
            code, text = c.reply()
            self.assertEqual(code, 250, text)
        msgs = sink.wait_for_messages(2)
        by_rcpt = {m.rcpts[0]: m for m in msgs}
        self.assertEqual(strip_received(by_rcpt["<u@example.com>"].content)[1], lf(content))
        # "hi\r\n." then end of content: mxgate closes the last line with CRLF.
        self.assertEqual(strip_received(by_rcpt["<w@example.com>"].content)[1],
                         b"Subject: second\n\nhi\n.\n")

    def test_data_then_bdat_then_data_in_one_session_are_three_messages(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["a@example.com"],
                                      b"Subject: first, by DATA\r\n\r\none\r\n")
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b@example.com>")[0], 250)
            body = b"Subject: second, by BDAT\r\n\r\ntwo\r\n"
            c.send(b"BDAT %d LAST\r\n" % len(body) + body)
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            code, text = send_message(c, "s@example.org", ["c@example.com"],
                                      b"Subject: third, by DATA\r\n\r\nthree\r\n")
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        msgs = sink.wait_for_messages(3)
        by_rcpt = {m.rcpts[0]: m for m in msgs}
        self.assertEqual(strip_received(by_rcpt["<a@example.com>"].content)[1],
                         b"Subject: first, by DATA\n\none\n")
        self.assertEqual(strip_received(by_rcpt["<b@example.com>"].content)[1],
                         b"Subject: second, by BDAT\n\ntwo\n")
        self.assertEqual(strip_received(by_rcpt["<c@example.com>"].content)[1],
                         b"Subject: third, by DATA\n\nthree\n")

    def test_dot_stuffed_lines_arrive_unstuffed_byte_for_byte(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        lines = [b"Subject: dots", b"", b".", b"..", b"...", b".a", b"..b", b". space",
                 b"middle . dot", b"."]
        wire = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                        for line in lines)
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"], wire)
            self.assertEqual(code, 250, text)
        [msg] = sink.wait_for_messages(1)
        self.assertEqual(strip_received(msg.content)[1], b"".join(line + b"\n" for line in lines))

    def test_size_parameter_over_the_limit_is_refused_with_552(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.max_message_size": 2048})
        with mx.connect() as c:
            self.assertIn("SIZE 2048", c.ehlo())
            code, text = c.cmd("MAIL FROM:<s@example.org> SIZE=2049")
            self.assertEqual(code, 552, text)
            self.assertTrue(text.startswith("5.3.4 "), text)
            code, text = c.cmd("MAIL FROM:<s@example.org> SIZE=2048")
            self.assertEqual(code, 250, text)

    def test_oversize_data_is_refused_with_552_and_not_relayed(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.max_message_size": 2048})
        big = b"Subject: big\r\n\r\n" + b"".join(b"%04d %s\r\n" % (i, b"x" * 70) for i in range(60))
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"], big)
            self.assertEqual(code, 552, text)
            self.assertTrue(text.startswith("5.3.4 "), text)
            # The session goes on: a small message is relayed.
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: small\r\n\r\nok\r\n")
            self.assertEqual(code, 250, text)
        sink.wait_for_messages(1)
        mx.wait_sessions_ended(1)
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1, msgs)
        self.assertIn(b"Subject: small", msgs[0].content)
        [refused] = refused_lines(mx)
        self.assertRegex(refused, r'stage=data by=limit reply="552 5\.3\.4" '
                         r"reason=server\.max_message_size$")

    def test_recipient_over_max_recipients_gets_452_and_the_rest_are_delivered(self):
        sink = self.sink()
        mx = self.mxgate(sink, settings={"server.max_recipients": 2})
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<a@example.com>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b@example.com>")[0], 250)
            code, text = c.cmd("RCPT TO:<c@example.com>")
            self.assertEqual(code, 452, text)
            self.assertTrue(text.startswith("4.5.3 "), text)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: two\r\n\r\nx\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
        [msg] = sink.wait_for_messages(1)
        self.assertEqual(msg.rcpts, ["<a@example.com>", "<b@example.com>"])
        mx.wait_sessions_ended(1)
        [refused] = refused_lines(mx)
        self.assertRegex(refused, r"stage=rcpt rcpt=c@example\.com by=limit "
                         r'reply="452 4\.5\.3" reason=server\.max_recipients$')

    def test_recipient_in_a_foreign_domain_is_denied_with_550_5_7_1(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            for rcpt in ["x@not-ours.test", "x@evilexample.com", "x@example.com.evil.test",
                         "x@[127.0.0.1]"]:
                code, text = c.cmd(f"RCPT TO:<{rcpt}>")
                self.assertEqual(code, 550, f"{rcpt}: {code} {text}")
                self.assertTrue(text.startswith("5.7.1 "), f"{rcpt}: {text}")
            # Ours, case-insensitively, and subdomains through ".example.com".
            for rcpt in ["x@EXAMPLE.com", "x@deep.sub.example.com"]:
                code, text = c.cmd(f"RCPT TO:<{rcpt}>")
                self.assertEqual(code, 250, f"{rcpt}: {code} {text}")
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])
        # Every refusal is one refused line that names the recipient (README "Policy").
        refused = refused_lines(mx)
        self.assertEqual(len(refused), 4, refused)
        for line, rcpt in zip(refused, ["x@not-ours.test", "x@evilexample.com",
                                        "x@example.com.evil.test", "x@[127.0.0.1]"]):
            self.assertRegex(line, r"^refused session=\S+ client=127\.0\.0\.1 stage=rcpt "
                             + f"rcpt={re.escape(rcpt)} " + r'by=relay reply="550 5\.7\.1" reason=')

    def test_postmaster_with_and_without_domain_is_accepted(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<>")[0], 250)
            code, text = c.cmd("RCPT TO:<postmaster@example.com>")
            self.assertEqual(code, 250, text)
            code, text = c.cmd("RCPT TO:<Postmaster>")
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: to postmaster\r\n\r\nhello\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250, text)
        [msg] = sink.wait_for_messages(1)
        self.assertEqual(msg.mail_from, "<>")
        self.assertEqual([r.lower() for r in msg.rcpts],
                         ["<postmaster@example.com>", "<postmaster>"])

    def test_unreachable_downstream_gives_451_4_4_1_at_rcpt(self):
        mx = self.mxgate(downstream=f"127.0.0.1:{self.reserve_port()}")  # nothing listens
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            code, text = c.cmd("RCPT TO:<u@example.com>")
            self.assertEqual(code, 451, text)
            self.assertTrue(text.startswith("4.4.1 "), text)
            # Still a working session.
            self.assertEqual(c.cmd("RSET"), (250, "2.0.0 Ok"))

    def test_downstream_permanent_rcpt_refusal_reaches_the_client(self):
        sink = self.sink(extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user here"])
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            code, text = c.cmd("RCPT TO:<nobody@example.com>")
            self.assertEqual((code, text), (550, "5.1.1 No such user here"))
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])

    def test_downstream_transient_rcpt_refusal_reaches_the_client(self):
        sink = self.sink(extra_args=["-r", "RCPT", "-b", "450 4.2.1 Mailbox busy, try later"])
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            code, text = c.cmd("RCPT TO:<busy@example.com>")
            self.assertEqual((code, text), (450, "4.2.1 Mailbox busy, try later"))

    def test_downstream_refusing_the_message_data_reaches_the_client(self):
        sink = self.sink(extra_args=["-f", ".", "-B", "554 5.7.1 Message content rejected"])
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: refused\r\n\r\nx\r\n")
            self.assertEqual((code, text), (554, "5.7.1 Message content rejected"))
            self.assertEqual(c.cmd("RSET"), (250, "2.0.0 Ok"))
        self.assertEqual(mx.metric('mxgate_transactions_total{result="accepted"}'), 0)
        self.assertEqual(mx.metric('mxgate_transactions_total{result="rejected"}'), 1)

    def test_downstream_vanishing_after_the_data_is_never_acknowledged_with_250(self):
        # smtp-sink drops the connection after the final "." without replying: the message's
        # fate is unknown, so the client must be told to try again (4xx), never 250.
        sink = self.sink(extra_args=["-q", "."])
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: lost\r\n\r\nx\r\n")
            self.assertEqual(code, 451, text)
            self.assertTrue(text.startswith("4.4.1 "), text)
            self.assertEqual(c.cmd("NOOP"), (250, "2.0.0 Ok"))
        self.assertEqual(mx.metric('mxgate_transactions_total{result="accepted"}'), 0)

    def test_downstream_421_at_rcpt_becomes_451_and_the_session_goes_on(self):
        sink = self.sink(extra_args=["-Q", "RCPT"])
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            code, text = c.cmd("RCPT TO:<u@example.com>")
            self.assertEqual(code, 451, text)
            self.assertTrue(text.startswith("4."), text)
            self.assertEqual(c.cmd("NOOP"), (250, "2.0.0 Ok"))

    def test_next_downstream_is_tried_when_the_first_is_down(self):
        sink = self.sink()
        down = f"127.0.0.1:{self.reserve_port()}"  # nothing listens
        mx = self.mxgate(routes=[{"domains": ["example.com"], "downstream": [down, sink.address]}])
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: failover\r\n\r\nx\r\n")
            self.assertEqual(code, 250, text)
        [msg] = sink.wait_for_messages(1)
        self.assertIn(b"Subject: failover\n", msg.content)

    # A message that is authenticated (or its content judged) is held until its end of data, for
    # the Authentication-Results field on top (issue 22): meanwhile its client holds no
    # downstream connection, so clients trickling their content cannot take them all.

    def held_mxgate(self, sink, **settings):
        """An mxgate that authenticates mail from 127.0.0.1 against NSD, its scores out of reach
        (only holding matters here)."""
        dns = DnsServer()
        dns.__enter__()
        self.addCleanup(dns.__exit__, None, None, None)
        config = {"dns.servers": [dns.address], "reputation.trusted_networks": [],
                  "auth.enabled": True,
                  "reputation.defer_at": 100.0, "reputation.reject_at": 100.0}
        config.update(settings)
        return self.mxgate(sink, settings=config)

    def test_a_client_in_data_with_a_held_message_holds_no_downstream_connection(self):
        sink = self.sink()
        mx = self.held_mxgate(sink, **{"relay.max_connections": 1})
        in_use = f'mxgate_downstream_connections_in_use{{downstream="{sink.address}"}}'
        with mx.connect() as slow, mx.connect() as other:
            slow.ehlo("slow.example.test")
            self.assertEqual(slow.cmd("MAIL FROM:<slow@example.test>")[0], 250)
            self.assertEqual(slow.cmd("RCPT TO:<u@example.com>")[0], 250)
            self.assertEqual(slow.cmd("DATA")[0], 354)
            slow.send(b"From: <slow@example.test>\r\nSubject: slow\r\n\r\nthe first half\r\n")
            self.assertEqual(mx.metric(in_use), 0)
            # The only connection relay.max_connections allows is free for another client.
            other.ehlo("other.example.test")
            code, text = send_message(other, "other@example.test", ["v@example.com"],
                                      b"From: <other@example.test>\r\nSubject: quick\r\n\r\n"
                                      b"quick\r\n")
            self.assertEqual(code, 250, text)
            [quick] = sink.wait_for_messages(1)
            slow.send(b"the second half\r\n.\r\n")
            code, text = slow.reply()
            self.assertEqual(code, 250, text)
        messages = {m.rcpts[0]: m for m in sink.wait_for_messages(2)}
        self.assertEqual(quick.rcpts, ["<v@example.com>"])
        held = messages["<u@example.com>"]
        self.assertEqual(held.mail_from, "<slow@example.test>")
        self.assertIn(f"Authentication-Results: {HOSTNAME};".encode(), held.content)
        self.assertTrue(held.content.endswith(
            b"\nSubject: slow\n\nthe first half\nthe second half\n"), held.content)
        self.assertEqual(mx.metric('mxgate_relay_replays_total{result="ok"}'), 2)
        self.assertEqual(mx.metric(
            f'mxgate_downstream_errors_total{{downstream="{sink.address}",kind="busy"}}'), 0)
        self.assertEqual(mx.metric(in_use), 0)

    def test_a_held_message_whose_downstream_went_away_gets_451_4_4_1(self):
        sink = Sink()
        sink.__enter__()
        self.addCleanup(sink.__exit__, None, None, None)
        mx = self.held_mxgate(sink)
        with mx.connect() as c:
            c.ehlo("slow.example.test")
            self.assertEqual(c.cmd("MAIL FROM:<slow@example.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)  # the downstream's
            self.assertEqual(c.cmd("DATA")[0], 354)  # ours
            sink.__exit__(None, None, None)  # gone before the end of data
            c.send(b"From: <slow@example.test>\r\nSubject: lost\r\n\r\nx\r\n.\r\n")
            code, text = c.reply()
            # A 4xx: the client keeps the message and tries again (RFC 5321 §4.2.5).
            self.assertEqual(code, 451, text)
            self.assertTrue(text.startswith("4.4.1 "), text)
            self.assertEqual(c.cmd("NOOP"), (250, "2.0.0 Ok"))
        self.assertEqual(mx.metric('mxgate_relay_replays_total{result="unavailable"}'), 1)
        self.assertEqual(mx.metric('mxgate_transactions_total{result="accepted"}'), 0)
        self.assertIn("relay_replay_failed ", mx.log())

    def test_recipient_of_another_route_gets_452_4_5_3_and_goes_in_a_new_transaction(self):
        sink_com = self.sink()
        sink_net = self.sink()
        mx = self.mxgate(routes=[{"domains": ["example.com"], "downstream": [sink_com.address]},
                                 {"domains": ["example.net"], "downstream": [sink_net.address]}])
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<a@example.com>")[0], 250)
            code, text = c.cmd("RCPT TO:<b@example.net>")
            self.assertEqual(code, 452, text)
            self.assertTrue(text.startswith("4.5.3 "), text)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: to com\r\n\r\nx\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            code, text = send_message(c, "s@example.org", ["b@example.net"],
                                      b"Subject: to net\r\n\r\nx\r\n")
            self.assertEqual(code, 250, text)
        [com] = sink_com.wait_for_messages(1)
        [net] = sink_net.wait_for_messages(1)
        self.assertEqual(com.rcpts, ["<a@example.com>"])
        self.assertEqual(net.rcpts, ["<b@example.net>"])
        mx.wait_sessions_ended(1)
        self.assertEqual(len(sink_com.messages()), 1)

    def test_text_line_over_1000_octets_is_refused_and_not_relayed(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        with mx.connect() as c:
            c.ehlo()
            code, text = send_message(c, "s@example.org", ["u@example.com"],
                                      b"Subject: long\r\n\r\n" + b"x" * 1200 + b"\r\n")
            self.assertEqual(code, 554, text)
            self.assertTrue(text.startswith("5.6.0 "), text)
            self.assertEqual(c.cmd("NOOP"), (250, "2.0.0 Ok"))
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])

    def test_ehlo_advertises_extensions_but_not_starttls_without_a_certificate(self):
        mx = self.mxgate()
        with mx.connect() as c:
            self.assertEqual(c.banner, f"{HOSTNAME} ESMTP mxgate")
            lines = c.ehlo("client.example.org")
            self.assertEqual(lines[0], HOSTNAME)
            keywords = {line.split(" ")[0].upper() for line in lines[1:]}
            for keyword in ["PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                            "CHUNKING"]:
                self.assertIn(keyword, keywords, lines)
            self.assertIn(f"SIZE {50 * 1024 * 1024}", lines)
            self.assertNotIn("STARTTLS", keywords)
            code, text = c.cmd("STARTTLS")
            self.assertEqual(code, 454, text)

    def test_vrfy_expn_help_unknown_bad_sequence_and_bad_syntax_replies(self):
        mx = self.mxgate()
        with mx.connect() as c:
            code, text = c.cmd("MAIL FROM:<s@example.org>")
            self.assertEqual(code, 503, text)
            self.assertTrue(text.startswith("5.5.1 "), text)
            c.ehlo()
            cases = [
                ("VRFY u@example.com", 252, "2."),
                ("EXPN staff", 502, "5.5.1"),
                ("HELP", 214, "2.0.0"),
                ("NOOP", 250, "2.0.0"),
                ("FROBNICATE now", 500, "5.5.2"),
                ("RCPT TO:<u@example.com>", 503, "5.5.1"),
                ("DATA", 503, "5.5.1"),
                ("MAIL FROM:s@example.org", 501, "5.5.4"),
                ("MAIL FROM:<s@example.org", 501, "5.5.4"),
                ("MAIL FROM:<s@example.org> SIZE=big", 501, "5.5.4"),
                ("RSET", 250, "2.0.0"),
            ]
            for command, want_code, want_enhanced in cases:
                code, text = c.cmd(command)
                self.assertEqual(code, want_code, f"{command}: {code} {text}")
                self.assertTrue(text.startswith(want_enhanced), f"{command}: {text}")
            code, text = c.cmd("NOOP " + "x" * 600)
            self.assertEqual(code, 500, f"over-long command: {text}")
            self.assertTrue(text.startswith("5.5.2 "), text)
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            code, text = c.cmd("MAIL FROM:<s@example.org>")
            self.assertEqual(code, 503, f"nested MAIL: {text}")
            self.assertEqual(c.cmd("QUIT"), (221, "2.0.0 Bye"))
            self.assertTrue(c.closed_by_peer())

    def test_too_many_errors_end_the_session_with_421(self):
        mx = self.mxgate()
        with mx.connect() as c:
            c.ehlo()
            for i in range(20):
                code, text = c.cmd(f"BOGUS{i}")
                self.assertEqual(code, 500, f"error {i + 1}: {code} {text}")
            code, text = c.cmd("BOGUS-LAST")
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith("4.7.0 "), text)
            self.assertIn(HOSTNAME, text)
            self.assertTrue(c.closed_by_peer(), "connection still open after 421")


if __name__ == "__main__":
    unittest.main()
