"""The log answers "why did my mail to bob@ bounce?" (issue 20): one "recipient" line per
recipient with its status, DSN code and the downstream's reply, in inline mode (refused at RCPT,
or the downstream's answer to the message) and in queue mode (refused at RCPT, then one line per
delivery attempt, a bounce naming the DSN it caused); the Message-ID on the transaction line.
With [log] format = "json" every line is one JSON object that json.loads reads, and the
recipient lines carry the same fields. Real binary, Postfix's smtp-sink downstreams."""

import json
import re
import signal

from harness import MxTestCase, SmtpClient, send_message, wait_until

MESSAGE_ID = "<log-test.1@example.com>"
# Refused by mxgate itself (no route), with quotes and a backslash to escape.
ODD = '"odd \\"q\\" \\\\x"@unrouted.test'
CONTENT = (f"Message-ID: {MESSAGE_ID}\r\nSubject: logged\r\n\r\nbody\r\n").encode()


class LoggingTest(MxTestCase):

    def start(self, log_format, queue=False):
        """mxgate with example.com routed to a sink and example.net to a sink that refuses
        every recipient (550 5.1.1)."""
        self.good = self.sink()
        self.refusing = self.sink(extra_args=["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        settings = {"log.format": log_format}
        if queue:
            settings.update({"relay.mode": "queue", "queue.poll_interval": "100ms",
                             "queue.retry": ["1s"]})
        return self.mxgate(settings=settings, routes=[
            {"domains": ["example.com"], "downstream": [self.good.address]},
            {"domains": ["example.net"], "downstream": [self.refusing.address]}])

    def send(self, mx, rcpts, accepted):
        """One message from sender@example.com (a DSN to it reaches the good sink)."""
        with SmtpClient(mx.port) as client:
            client.reply()
            client.cmd("EHLO client.example.org")
            client.cmd("MAIL FROM:<sender@example.com>")
            codes = [client.cmd(f"RCPT TO:<{rcpt}>")[0] for rcpt in rcpts]
            self.assertEqual([code == 250 for code in codes], accepted, codes)
            code, text = client.cmd("DATA")
            self.assertEqual(code, 354, text)
            client.send(CONTENT + b".\r\n")
            code, text = client.reply()
            self.assertEqual(code, 250, text)
            client.cmd("QUIT")

    # -- the text format

    def recipient_lines(self, mx, address):
        return [line for line in mx.log().splitlines()
                if " recipient id=" in line and f" to=<{address}> " in line]

    def wait_recipient(self, mx, address, status):
        def found():
            lines = [line for line in self.recipient_lines(mx, address)
                     if f" status={status} " in line]
            return lines[-1] if lines else None
        return wait_until(found, 30, what=f"the {status} line of {address}")

    def test_inline_mode_logs_each_recipient_in_text(self):
        mx = self.start("text")
        self.send(mx, ["bob@example.net", "alice@example.com", ODD], [False, True, False])
        sent = self.wait_recipient(mx, "alice@example.com", "sent")
        self.assertRegex(sent, r" relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d delay=\d+\.\d{3} "
                         r"dsn=2\.0\.0 status=sent reply=\"250 2\.0\.0 " % self.good.port)
        refused = self.wait_recipient(mx, "bob@example.net", "refused")
        self.assertRegex(refused, r" relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d delay=\S+ dsn=5\.1\.1 "
                         r"status=refused reply=\"550 5\.1\.1 No such user\"" % self.refusing.port)
        odd = [line for line in mx.log().splitlines()
               if " recipient id=" in line and "unrouted.test" in line]
        self.assertEqual(len(odd), 1, mx.log()[-3000:])
        self.assertIn(' to="<\\"odd \\\\\\"q\\\\\\" \\\\\\\\x\\"@unrouted.test>" relay=none ', odd[0])
        self.assertIn(" dsn=5.7.1 status=refused ", odd[0])
        # The refused lines name the recipient too, and the transaction line the Message-ID.
        self.assertRegex(mx.log(), r"refused session=\S+ client=\S+ stage=rcpt "
                         r"rcpt=bob@example\.net by=relay ")
        transaction = wait_until(lambda: re.search(r"^.* transaction id=.*$", mx.log(), re.M),
                                 30, what="the transaction line").group(0)
        self.assertIn(f" message_id={MESSAGE_ID} ", transaction)
        ids = {re.search(r" recipient id=(\S+) ", line).group(1)
               for line in (sent, refused, odd[0])}
        self.assertEqual(ids, {re.search(r" transaction id=(\S+) ", transaction).group(1)})

    def test_queue_mode_logs_each_delivery_attempt_in_text(self):
        mx = self.start("text", queue=True)
        self.send(mx, ["alice@example.com", "bob@example.net", "carol@unrouted.test"],
                  [True, True, False])
        self.assertEqual(len(self.good.wait_for_messages(2, timeout=60)), 2, "message and DSN")
        sent = self.wait_recipient(mx, "alice@example.com", "sent")
        self.assertRegex(sent, r" relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d delay=\S+ dsn=2\.0\.0 "
                         % self.good.port)
        bounced = self.wait_recipient(mx, "bob@example.net", "bounced")
        self.assertRegex(bounced, r" dsn=5\.1\.1 status=bounced reply=\"550 5\.1\.1 No such user\""
                         r" bounce=[0-9A-F]{16}$")
        bounce_id = bounced.rpartition("bounce=")[2]
        # The DSN's own delivery, to the sender.
        dsn = self.wait_recipient(mx, "sender@example.com", "sent")
        self.assertIn(f" recipient id={bounce_id} ", dsn)
        refused = self.wait_recipient(mx, "carol@unrouted.test", "refused")
        self.assertIn(" relay=none ", refused)
        self.assertIn(" dsn=5.7.1 ", refused)
        transaction = [line for line in mx.log().splitlines() if " transaction id=" in line]
        self.assertIn(f" message_id={MESSAGE_ID} ", transaction[0])

    # -- the JSON format

    def records(self, mx):
        """Every line of the log as JSON (the harness's "$ mxgate serve" lines aside)."""
        records = []
        for line in mx.log().splitlines():
            if line.startswith("$ "):
                continue
            try:
                records.append(json.loads(line))
            except ValueError as e:
                self.fail(f"not a JSON line ({e}): {line!r}")
        return records

    def wait_record(self, mx, address, status):
        def found():
            for record in self.records(mx):
                if (record.get("event") == "recipient" and record.get("to") == f"<{address}>"
                        and record.get("status") == status):
                    return record
            return None
        return wait_until(found, 30, what=f"the {status} record of {address}")

    def check_records(self, mx):
        records = self.records(mx)
        for record in records:
            self.assertEqual(list(record)[:3], ["timestamp", "level", "event"], record)
            self.assertRegex(record["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        transaction = [r for r in records if r["event"] == "transaction"]
        self.assertEqual(transaction[0]["message_id"], MESSAGE_ID)
        return records

    def test_inline_mode_logs_json(self):
        mx = self.start("json")
        self.send(mx, ["bob@example.net", "alice@example.com", ODD], [False, True, False])
        sent = self.wait_record(mx, "alice@example.com", "sent")
        self.assertEqual(sent["relay"], f"127.0.0.1[127.0.0.1]:{self.good.port}")
        self.assertEqual(sent["dsn"], "2.0.0")
        self.assertIsInstance(sent["delay"], float)
        self.assertTrue(sent["reply"].startswith("250 2.0.0 "), sent)
        refused = self.wait_record(mx, "bob@example.net", "refused")
        self.assertEqual(refused["dsn"], "5.1.1")
        self.assertEqual(refused["reply"], "550 5.1.1 No such user")
        odd = self.wait_record(mx, ODD, "refused")
        self.assertEqual((odd["relay"], odd["dsn"]), ("none", "5.7.1"))
        self.assertEqual(sent["id"], refused["id"])
        records = self.check_records(mx)
        started = [r for r in records if r["event"] == "started"]
        self.assertIsInstance(started[0]["workers"], int)
        self.assertEqual(started[0]["listen"], f"127.0.0.1:{mx.port}")

    def test_queue_mode_logs_json(self):
        mx = self.start("json", queue=True)
        self.send(mx, ["alice@example.com", "bob@example.net"], [True, True])
        self.assertEqual(len(self.good.wait_for_messages(2, timeout=60)), 2, "message and DSN")
        sent = self.wait_record(mx, "alice@example.com", "sent")
        bounced = self.wait_record(mx, "bob@example.net", "bounced")
        self.assertEqual(sent["id"], bounced["id"])
        self.assertEqual((bounced["dsn"], bounced["reply"]), ("5.1.1", "550 5.1.1 No such user"))
        self.assertEqual(bounced["relay"], f"127.0.0.1[127.0.0.1]:{self.refusing.port}")
        dsn = self.wait_record(mx, "sender@example.com", "sent")
        self.assertEqual(dsn["id"], bounced["bounce"])
        records = self.check_records(mx)
        deliveries = [r for r in records if r["event"] == "delivery"]
        self.assertEqual(sorted(r["outcome"] for r in deliveries), ["done", "done"])

    def test_a_reload_switches_the_format(self):
        mx = self.start("text")
        mx.write_config(log__format="json")
        mx.signal(signal.SIGHUP)
        reloaded = wait_until(lambda: re.search(r'^\{.*"event":"reloaded".*$', mx.log(), re.M),
                              30, what="the reloaded line, in JSON")
        self.assertEqual(json.loads(reloaded.group(0))["level"], "info")
        self.send(mx, ["alice@example.com"], [True])

        def after():
            return mx.log().partition(reloaded.group(0))[2].splitlines()[1:]
        wait_until(lambda: any('"event":"recipient"' in line for line in after()), 30,
                   what="a recipient line after the reload")
        records = [json.loads(line) for line in after()]  # every line after it is JSON
        sent = [r for r in records if r["event"] == "recipient"][0]
        self.assertEqual((sent["to"], sent["status"], sent["dsn"]),
                         ("<alice@example.com>", "sent", "2.0.0"))
