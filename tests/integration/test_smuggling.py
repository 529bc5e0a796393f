"""SMTP smuggling (bare CR / bare LF end-of-data variants): mxgate must never let a client end
the message early and inject a second transaction downstream."""

import unittest

from harness import MxTestCase, send_message

INJECTED = (b"MAIL FROM:<evil@x>\r\n"
            b"RCPT TO:<victim@example.com>\r\n"
            b"DATA\r\n"
            b"smuggled")

# (name, octets that a lenient server would take as the end of the data)
VARIANTS = [
    ("LF.LF", b"\n.\n"),
    ("LF.CRLF", b"\n.\r\n"),
    ("CRLF.LF", b"\r\n.\n"),
    ("CR.CR", b"\r.\r"),
    ("CRLF.CR", b"\r\n.\r"),
    ("CR.CRLF", b"\r.\r\n"),
    (".LF at start", None),
]


def payload(variant):
    """Message content (without the real terminator) that hides a second transaction behind
    `variant`."""
    if variant is None:
        return b".\n" + INJECTED
    return b"Subject: smuggling test\r\n\r\nhello" + variant + INJECTED


def open_transaction(c):
    c.ehlo()
    for command, want in [("MAIL FROM:<s@example.org>", 250), ("RCPT TO:<u@example.com>", 250),
                          ("DATA", 354)]:
        code, text = c.cmd(command)
        if code != want:
            raise AssertionError(f"{command}: {code} {text}")


class SmugglingRejectTest(MxTestCase):
    """server.line_endings = "reject" (the default)."""

    def test_every_variant_is_refused_with_554_and_nothing_reaches_the_downstream(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        for i, (name, variant) in enumerate(VARIANTS):
            with self.subTest(variant=name):
                with mx.connect() as c:
                    open_transaction(c)
                    c.send(payload(variant) + b"\r\n.\r\n")
                    code, text = c.reply()
                    self.assertEqual(code, 554, f"{name}: {code} {text}")
                    self.assertTrue(text.startswith("5.5.2 "), f"{name}: {text}")
                    # Exactly one reply for the message: the next reply is RSET's.
                    self.assertEqual(c.cmd("RSET"), (250, "2.0.0 Ok"),
                                     f"{name}: extra replies after the message")
                    # Nothing was relayed for the refused message: a relayed message would be
                    # at the sink before mxgate's reply to its end, let alone to RSET.
                    self.assertEqual(sink.messages(), [], f"{name}: message relayed")
                    # The session is still usable.
                    code, text = send_message(
                        c, "s@example.org", ["u@example.com"],
                        b"Subject: normal %d\r\n\r\nafter the refused one\r\n" % i)
                    self.assertEqual(code, 250, f"{name}: {code} {text}")
                    self.assertEqual(c.cmd("QUIT")[0], 221)
                sink.wait_for_messages(1)
                mx.wait_sessions_ended(i + 1)  # a smuggled second message would be there now
                msgs = sink.messages()
                self.assertEqual(len(msgs), 1, f"{name}: {msgs!r}")
                self.assertEqual(msgs[0].rcpts, ["<u@example.com>"])
                self.assertIn(b"Subject: normal %d\n" % i, msgs[0].content)
                self.assertNotIn(b"smuggled", msgs[0].content)
                sink.clear()
        self.assertEqual(mx.metric('mxgate_bare_line_endings_total{where="data"}'),
                         len(VARIANTS))

    def test_bdat_content_with_an_end_of_data_line_is_one_message_downstream(self):
        # BDAT has no dot transparency: "<CRLF>.<CRLF>" is plain content there. mxgate relays
        # with DATA, so it must dot-stuff it, or the downstream would end the message early
        # and run the rest as commands.
        sink = self.sink()
        mx = self.mxgate(sink)
        content = b"Subject: bdat smuggling\r\n\r\nhello\r\n.\r\n" + INJECTED + b"\r\n"
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)
            c.send(b"BDAT %d LAST\r\n" % len(content) + content)
            code, text = c.reply()
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("RSET"), (250, "2.0.0 Ok"))
        sink.wait_for_messages(1)
        mx.wait_sessions_ended(1)
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0].rcpts, ["<u@example.com>"])
        self.assertTrue(msgs[0].content.endswith(
            b"\nhello\n.\nMAIL FROM:<evil@x>\nRCPT TO:<victim@example.com>\nDATA\nsmuggled\n"),
            msgs[0].content)

    def test_bare_lf_in_bdat_content_is_refused_and_nothing_is_relayed(self):
        sink = self.sink()
        mx = self.mxgate(sink)
        content = payload(b"\n.\n") + b"\r\n"
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<u@example.com>")[0], 250)
            c.send(b"BDAT %d LAST\r\n" % len(content) + content)
            code, text = c.reply()
            self.assertEqual(code, 554, text)
            self.assertTrue(text.startswith("5.5.2 "), text)
            self.assertEqual(c.cmd("RSET"), (250, "2.0.0 Ok"))
        mx.wait_sessions_ended(1)
        self.assertEqual(sink.messages(), [])

    def test_bare_lf_in_a_command_is_refused_with_500_5_5_2(self):
        mx = self.mxgate()
        with mx.connect() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<s@example.org>\nRCPT TO:<u@example.com>\r\n")
            code, text = c.reply()
            self.assertEqual(code, 500, text)
            self.assertTrue(text.startswith("5.5.2 "), text)
            # The line was discarded whole: no transaction was opened.
            code, text = c.cmd("RCPT TO:<u@example.com>")
            self.assertEqual(code, 503, text)
            c.send(b"NOOP\rNOOP\r\n")
            code, text = c.reply()
            self.assertEqual(code, 500, f"bare CR: {text}")
            self.assertTrue(text.startswith("5.5.2 "), text)
            self.assertEqual(c.cmd("NOOP"), (250, "2.0.0 Ok"))


class SmugglingNormalizeTest(MxTestCase):
    """server.line_endings = "normalize": bare line endings become CRLF inside the message;
    they still never end it."""

    def test_every_variant_is_one_message_with_the_injection_as_content(self):
        sink = self.sink()
        mx = self.mxgate(sink, options=["server.line_endings=normalize"])
        for i, (name, variant) in enumerate(VARIANTS):
            with self.subTest(variant=name):
                with mx.connect() as c:
                    open_transaction(c)
                    c.send(payload(variant) + b" %d\r\n.\r\n" % i)
                    code, text = c.reply()
                    self.assertEqual(code, 250, f"{name}: {code} {text}")
                    self.assertEqual(c.cmd("RSET"), (250, "2.0.0 Ok"),
                                     f"{name}: extra replies after the message")
                    self.assertEqual(c.cmd("QUIT")[0], 221)
                sink.wait_for_messages(1)
                mx.wait_sessions_ended(i + 1)  # a smuggled second message would be there now
                msgs = sink.messages()
                self.assertEqual(len(msgs), 1, f"{name}: {msgs!r}")
                msg = msgs[0]
                self.assertEqual(msg.mail_from, "<s@example.org>", name)
                self.assertEqual(msg.rcpts, ["<u@example.com>"], name)
                self.assertIn(b"MAIL FROM:<evil@x>\nRCPT TO:<victim@example.com>\nDATA\n"
                              b"smuggled %d\n" % i, msg.content, name)
                self.assertNotIn(b"\r", msg.content, f"{name}: a bare CR reached the downstream")
                sink.clear()


if __name__ == "__main__":
    unittest.main()
