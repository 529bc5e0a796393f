"""XCLIENT toward the mailbox servers (issue 20), end to end: the real binary in front of a
real Postfix (postfix_peer.Postfix) that trusts mxgate with XCLIENT
(smtpd_authorized_xclient_hosts) and relays to smtp-sink. In inline and in queue mode the
mailbox server's log and the Received field it adds name the original client (its address
and HELO), not mxgate; a Postfix that does not trust mxgate does not offer XCLIENT, and the
message goes through without it."""

import re
import unittest

from harness import MxTestCase, SmtpClient
from postfix_peer import start_postfix

HELO = "client.sender.test"


class XclientTest(MxTestCase):

    def postfix(self, relayhost, **main_cf):
        return start_postfix(self, relayhost, ["bob@example.com"], **main_cf)

    def start(self, pf, mode, forward="xclient"):
        route = {"domains": ["example.com"], "downstream": [pf.address],
                 "forward_client": forward}
        settings = {"relay.mode": mode, "reputation.trusted_networks": [],
                    "queue.poll_interval": "100ms"}
        return self.mxgate(settings=settings, routes=[route])

    def send(self, mx, source):
        with SmtpClient(mx.port, source=source) as c:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo(HELO)
            self.assertEqual(c.cmd("MAIL FROM:<news@example.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<bob@example.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: xclient\r\n\r\nhello\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)

    def postfix_received(self, sink):
        """The Received field the mailbox server added (the first one)."""
        message = sink.wait_for_messages(1)[0]
        text = message.content.decode(errors="replace")
        found = re.search(r"^Received: from [^\n]*(\n[ \t][^\n]*)*", text, re.M)
        self.assertIsNotNone(found, text)
        return found.group(0)

    def test_the_mailbox_server_sees_the_original_client_in_both_modes(self):
        for mode, source in (("inline", "127.0.0.41"), ("queue", "127.0.0.42")):
            with self.subTest(mode=mode):
                sink = self.sink()
                pf = self.postfix(sink.address, smtpd_authorized_xclient_hosts="127.0.0.0/8")
                mx = self.start(pf, mode)
                self.send(mx, source)
                received = self.postfix_received(sink)
                self.assertIn(f"from {HELO} (unknown [{source}])", received)
                self.assertIn(f"client=unknown[{source}]", pf.log())

    def test_a_mailbox_server_that_does_not_trust_us_gets_the_message_without_it(self):
        sink = self.sink()
        pf = self.postfix(sink.address)  # no smtpd_authorized_xclient_hosts: no XCLIENT offered
        mx = self.start(pf, "inline")
        self.send(mx, "127.0.0.43")
        received = self.postfix_received(sink)
        self.assertIn("[127.0.0.1]", received)
        self.assertNotIn("127.0.0.43", received)


if __name__ == "__main__":
    unittest.main()
