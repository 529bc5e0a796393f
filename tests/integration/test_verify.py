"""Recipient verification in queue mode (issue 20), end to end: the real binary with
relay.mode = "queue" in front of a real Postfix (postfix_peer.Postfix) that knows only some
users and relays what it accepts to smtp-sink. With callout verification an unknown user gets
"550 5.1.1" at RCPT, so no bounce is ever produced, a known one is queued and delivered, and the
second lookup of each is answered from the cache; unknown users count toward the dictionary
cutoff; a mailbox server that cannot be asked means "450 4.1.1". With list verification the
list file decides, and a SIGHUP reloads it (a bad line names file and line and keeps the old)."""

import os
import shutil
import signal
import subprocess
import tempfile

from harness import MxTestCase, SmtpClient, wait_until
from postfix_peer import start_postfix
from test_proxy import proxy_v1

SENDER = "sender@example.org"
KNOWN = ["bob@example.com", "carol@example.com"]
VALID = 'mxgate_recipient_verification_total{{result="valid",source="{}"}}'
UNKNOWN = 'mxgate_recipient_verification_total{{result="unknown",source="{}"}}'
TEMPFAIL = 'mxgate_recipient_verification_total{result="tempfail",source="callout"}'


class VerifyTest(MxTestCase):

    def postfix(self, relayhost):
        return start_postfix(self, relayhost, KNOWN)

    def start(self, downstream, **settings):
        config = {"relay.mode": "queue", "queue.poll_interval": "100ms", "queue.retry": ["1s"]}
        config.update(settings)
        return self.mxgate(downstream=downstream, settings=config)

    def envelope(self, mx, rcpts, data=True):
        """One transaction; returns the RCPT replies, and the final reply when any was 250."""
        with mx.connect() as c:
            c.ehlo()
            self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
            replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
            final = None
            if data and any(code == 250 for code, _ in replies):
                self.assertEqual(c.cmd("DATA")[0], 354)
                final = c.cmd(b"Subject: verified\r\n\r\nbody\r\n.")
            c.cmd("QUIT")
        return replies, final

    def test_callout_refuses_unknown_users_at_rcpt_and_never_bounces(self):
        sink = self.sink()
        pf = self.postfix(sink.address)
        mx = self.start(pf.address, **{"relay.recipient_verification": "callout"})

        replies, final = self.envelope(mx, ["nobody@example.com", "bob@example.com"])
        self.assertEqual(replies[0],
                         (550, "5.1.1 Recipient address rejected: User unknown"))
        self.assertEqual(replies[1][0], 250, replies[1])
        self.assertEqual(final[0], 250, final)
        self.assertTrue(final[1].startswith("2.0.0 Ok: queued as "), final)
        # The mailbox server was asked with a null sender, and refused the unknown user.
        wait_until(lambda: "User unknown in relay recipient table" in pf.log(), 30,
                   what="Postfix's refusal of the callout in its log")
        self.assertIn("from=<>", pf.log())
        self.assertEqual(mx.metric(UNKNOWN.format("callout")), 1)
        self.assertEqual(mx.metric(VALID.format("callout")), 1)

        # The second time both answers come from the cache (case does not matter).
        replies, final = self.envelope(mx, ["Nobody@Example.com", "BOB@example.com"])
        self.assertEqual(replies[0][0], 550, replies[0])
        self.assertEqual(replies[1][0], 250, replies[1])
        self.assertEqual(final[0], 250, final)
        self.assertEqual(mx.metric(UNKNOWN.format("cache")), 1)
        self.assertEqual(mx.metric(VALID.format("cache")), 1)
        self.assertEqual(mx.metric(UNKNOWN.format("callout")), 1)
        self.assertEqual(mx.metric("mxgate_recipient_verification_cache_entries"), 2)

        # Both messages reach bob through Postfix; nothing was ever bounced.
        messages = sink.wait_for_messages(2)
        for m in messages:
            self.assertEqual([r.lower() for r in m.rcpts], ["<bob@example.com>"])
            self.assertEqual(m.mail_from, f"<{SENDER}>")
        mx.wait_queue_empty()
        self.assertEqual(mx.metric('mxgate_queue_deliveries_total{result="done"}'), 2)
        self.assertEqual(mx.metric("mxgate_queue_dsns_total"), 0)
        self.assertNotIn("status=bounced", pf.log())
        self.assertEqual(len(sink.messages()), 2)

    def test_unknown_users_count_toward_the_dictionary_cutoff(self):
        sink = self.sink()
        pf = self.postfix(sink.address)
        # The throttle spares trusted networks (loopback by default): a client from a public
        # address, through the PROXY listener, as in test_throttle.
        config = {"relay.mode": "queue", "relay.recipient_verification": "callout",
                  "throttle.dictionary_limit": 3, "reputation.trusted_networks": []}
        mx = self.mxgate(downstream=pf.address, settings=config, proxy=True)
        with SmtpClient(mx.proxy_port) as c:
            c.send(proxy_v1("192.0.2.80"))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<guess1@example.com>")[0], 550)
            self.assertEqual(c.cmd("RCPT TO:<guess2@example.com>")[0], 550)
            code, text = c.cmd("RCPT TO:<guess3@example.com>")
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith("4.7.0 Deferred - see "), text)
            self.assertTrue(c.closed_by_peer())
        self.assertEqual(mx.metric('mxgate_throttle_deferrals_total{limit="dictionary"}'), 1)
        self.assertEqual(mx.metric(UNKNOWN.format("callout")), 3)

    def test_a_mailbox_server_that_cannot_be_asked_means_450(self):
        down = self.reserve_port()  # nothing listens there
        mx = self.start(f"127.0.0.1:{down}", **{"relay.recipient_verification": "callout",
                                                "relay.connect_timeout": "1s",
                                                "relay.breaker_failures": 0})
        for _ in range(2):  # never cached
            replies, _ = self.envelope(mx, ["bob@example.com"], data=False)
            self.assertEqual(replies[0], (450, "4.1.1 Recipient address rejected: unverified "
                                               "address, try again later"))
        self.assertEqual(mx.metric(TEMPFAIL), 2)
        self.assertEqual(mx.metric("mxgate_recipient_verification_cache_entries"), 0)

    def test_list_mode_answers_from_the_file_and_reloads_it_on_sighup(self):
        sink = self.sink()
        folder = self.temp_folder()
        path = os.path.join(folder, "recipients")
        with open(path, "w") as f:
            f.write("# known users\nbob@example.com\n")
        mx = self.start(sink.address, **{"relay.recipient_verification": "list",
                                         "relay.recipient_list": path})
        replies, final = self.envelope(mx, ["carol@example.com", "bob@example.com"])
        self.assertEqual(replies[0][0], 550, replies[0])
        self.assertTrue(replies[0][1].startswith("5.1.1 "), replies[0])
        self.assertEqual(final[0], 250, final)
        self.assertEqual(mx.metric(UNKNOWN.format("list")), 1)
        self.assertEqual(mx.metric(VALID.format("list")), 1)

        with open(path, "w") as f:
            f.write("bob@example.com\ncarol@example.com\n")
        mx.signal(signal.SIGHUP)
        mx.wait_metric('mxgate_config_reloads_total{result="ok"}', lambda v: v == 1)

        def carol_accepted():
            replies, final = self.envelope(mx, ["carol@example.com"])
            return final if replies[0][0] == 250 else None
        final = wait_until(carol_accepted, 15, what="carol accepted after the reload")
        self.assertEqual(final[0], 250, final)

        # A bad line: the reload fails naming the file and line, and the old list stays.
        with open(path, "w") as f:
            f.write("bob@example.com\n\nnot an address\n")
        mx.signal(signal.SIGHUP)
        mx.wait_metric('mxgate_config_reloads_total{result="failed"}', lambda v: v == 1)
        self.assertIn(f"{path}:3: relay.recipient_list:", mx.log())
        # check-config finds it too, as a configuration error.
        check = subprocess.run([mx.bin, "check-config", "-c", mx.config_path], timeout=60,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
        self.assertEqual(check.returncode, 78, check.stderr)
        self.assertIn(f"{path}:3: relay.recipient_list: \"not an address\"", check.stderr)
        replies, _ = self.envelope(mx, ["carol@example.com"], data=False)
        self.assertEqual(replies[0][0], 250, replies[0])
        self.assertEqual(len(sink.wait_for_messages(2)), 2)

    def temp_folder(self):
        folder = tempfile.mkdtemp(prefix="mxgate-verify-")
        self.addCleanup(shutil.rmtree, folder, True)
        return folder
