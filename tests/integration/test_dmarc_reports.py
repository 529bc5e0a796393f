"""DMARC aggregate reports (issue 22, RFC 7489 §7.2) end to end: mxgate in inline mode with
[dmarc_reports] on and a short period judges mail from a domain whose DMARC record (served by a
real DNS server, NSD) names four rua destinations: one inside the domain, one outside it that
authorizes the domain (§7.1), one outside that does not, and one whose size limit no report fits.
The messages are signed by python3-dkim. When the period ends, mxgate mails the gzipped XML
report through the spool and [outbound] to the destinations' mail exchanger (smtp-sink), and
only to the two that may have it; the test reads the report back the way a report receiver
does (MIME, gzip, XML). With dmarc_reports.dkim_key the reports are DKIM-signed, and python3-dkim
verifies them. `mxgate dmarc report --dry-run` shows the same plan without sending."""

import email
import email.policy
import gzip
import os
import re
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from dns_server import DEFAULT_ZONES, DnsServer
from harness import (HOSTNAME, MxTestCase, SmtpClient, mxgate_bin, require_tool, run_tool,
                     send_message, wait_until)
from test_auth import stuffed, txt_strings
from test_proxy import proxy_v1

RUA = ("mailto:dmarc@report.test,mailto:agg@collector.test,mailto:x@stranger.test,"
       "mailto:small@collector.test!100")

MESSAGE = (b"From: Alice <alice@report.test>\r\n"
           b"To: bob@example.com\r\n"
           b"Subject: a message DMARC reports on\r\n"
           b"Date: Mon, 07 Dec 2026 20:00:00 +0000\r\n"
           b"Message-ID: <dmarc-report-1@report.test>\r\n"
           b"\r\n"
           b"Hello Bob.\r\n")

KEYS = None
DNS = None

# python3-dkim (for /usr/bin/python3) verifies a message on standard input with the key record
# given, for the one name it should ask; prints "pass", "fail" and the names asked.
VERIFIER = """
import sys, dkim
name, record = sys.argv[1].encode(), sys.argv[2].encode()
asked = []
def dns(query, timeout=5):
    asked.append(query.decode())
    return record if query == name else None
print("pass" if dkim.verify(sys.stdin.buffer.read(), dnsfunc=dns) else "fail", *asked)
"""


def setUpModule():
    global KEYS, DNS
    KEYS = tempfile.TemporaryDirectory(prefix="mxgate-dmarc-")
    for name in ("sel", "reports"):  # the sender's key; mxgate's for its reports
        subprocess.run([require_tool("/usr/bin/dknewkey"), "--ktype", "rsa", name],
                       cwd=KEYS.name, check=True, stdout=subprocess.DEVNULL, timeout=60)
    with open(os.path.join(KEYS.name, "sel.dns")) as f:
        key = f.read().strip()
    report_zone = "\n".join([
        '@ TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        "@ MX 10 mx",
        "mx A 127.0.0.1",
        f"sel._domainkey TXT {txt_strings(key)}",
        f'_dmarc TXT "v=DMARC1; p=reject; rua={RUA}"',
    ])
    collector_zone = "\n".join([
        "@ MX 10 mx",
        "mx A 127.0.0.1",
        # §7.1: collector.test takes report.test's reports.
        'report.test._report._dmarc TXT "v=DMARC1"',
    ])
    stranger_zone = "@ MX 10 mx\nmx A 127.0.0.1\n"  # no authorization record
    DNS = DnsServer(dict(DEFAULT_ZONES, **{"report.test": report_zone,
                                           "collector.test": collector_zone,
                                           "stranger.test": stranger_zone}))
    DNS.start()


def tearDownModule():
    DNS.stop()
    KEYS.cleanup()


def sign(message=MESSAGE):
    return run_tool(["/usr/bin/dkimsign", "--hcanon", "relaxed", "--bcanon", "relaxed", "sel",
                     "report.test", os.path.join(KEYS.name, "sel.key")], input=message).stdout


SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dmarc_rfc7489.xsd")


def read_report(message):
    """The XML document of a report message, as a report receiver reads it, after xmllint has
    validated it against RFC 7489's schema (Appendix C)."""
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    attachments = [part for part in parsed.iter_attachments()
                   if part.get_content_type() == "application/gzip"]
    assert len(attachments) == 1, parsed
    name = attachments[0].get_filename()
    xml = gzip.decompress(attachments[0].get_content())
    checked = run_tool(["xmllint", "--noout", "--schema", SCHEMA, "-"], input=xml)
    assert checked.returncode == 0, checked.stderr.decode() + xml.decode(errors="replace")
    return parsed, name, ET.fromstring(xml)


class DmarcReportsTest(MxTestCase):

    def start(self, sink, period, **settings):
        return self.mxgate(sink, proxy=True, settings={**settings,
            "dns.servers": [DNS.address], "reputation.trusted_networks": [],
            "auth.enabled": True,
            "reputation.defer_at": 100.0, "reputation.reject_at": 100.0,
            "queue.poll_interval": "100ms",
            "outbound.port": int(sink.address.rsplit(":", 1)[1]),
            "dmarc_reports.enabled": True,
            "dmarc_reports.period": period,
            "dmarc_reports.contact": "https://postmaster.test/dmarc"})

    def deliver(self, mx, message, ip, mail_from="a@report.test"):
        with SmtpClient(mx.proxy_port) as c:
            c.send(proxy_v1(ip))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.report.test")
            return send_message(c, mail_from, ["bob@example.com"], stuffed(message))

    def send_three(self, mx):
        """Two aligned messages from 192.0.2.25 and one forgery from 203.0.113.9."""
        signed = sign()
        for _ in range(2):
            self.assertEqual(self.deliver(mx, signed, "192.0.2.25")[0], 250)
        forged = signed.replace(b"Hello Bob.", b"Hello Bob!")
        self.assertEqual(self.deliver(mx, forged, "203.0.113.9")[0], 550)
        mx.wait_sessions_ended(3)

    def test_reports_reach_the_authorized_destinations_only(self):
        sink = self.sink()
        mx = self.start(sink, "3s")
        self.send_three(mx)
        # Reports arrive at the end of the period (or of two, when the messages straddled a
        # boundary): wait until every message is in a report to dmarc@report.test.
        def reported(rcpt):
            return [m for m in sink.messages() if m.rcpts == [f"<{rcpt}>"]]

        def counted(rcpt):
            return sum(int(c.text) for m in reported(rcpt)
                       for c in read_report(m)[2].iter("count"))
        mx.wait_metric('mxgate_dmarc_reports_total{result="queued"}', lambda v: v >= 2,
                       timeout=60)
        wait_until(lambda: counted("dmarc@report.test") == 3 and
                   counted("agg@collector.test") == 3, 60, what="reports of all three messages")
        self.assertEqual(sorted({r for m in sink.messages() for r in m.rcpts}),
                         ["<agg@collector.test>", "<bob@example.com>", "<dmarc@report.test>"])
        report = reported("dmarc@report.test")[0]
        self.assertEqual(report.mail_from, f"<noreply-dmarc@{HOSTNAME}>")
        parsed, name, root = read_report(report)
        self.assertEqual(parsed["From"], f"noreply-dmarc@{HOSTNAME}")
        self.assertEqual(parsed["To"], "dmarc@report.test")
        self.assertRegex(parsed["Subject"],
                         rf"^Report Domain: report\.test Submitter: {re.escape(HOSTNAME)} "
                         r"Report-ID: \S+$")
        self.assertRegex(name, rf"^{re.escape(HOSTNAME)}!report\.test!\d+!\d+\.xml\.gz$")
        self.assertEqual(root.findtext("report_metadata/org_name"), HOSTNAME)
        self.assertEqual(root.findtext("report_metadata/extra_contact_info"),
                         "https://postmaster.test/dmarc")
        begin = int(root.findtext("report_metadata/date_range/begin"))
        end = int(root.findtext("report_metadata/date_range/end"))
        self.assertEqual((begin % 3, end - begin), (0, 2), "a 3 s period, end inclusive")
        self.assertEqual(root.findtext("policy_published/domain"), "report.test")
        self.assertEqual(root.findtext("policy_published/p"), "reject")
        self.assertEqual(root.findtext("policy_published/pct"), "100")
        rows = {}
        for m in reported("dmarc@report.test"):
            for record in read_report(m)[2].iter("record"):
                ip = record.findtext("row/source_ip")
                entry = rows.setdefault(ip, {"count": 0})
                entry["count"] += int(record.findtext("row/count"))
                entry["disposition"] = record.findtext("row/policy_evaluated/disposition")
                entry["dkim"] = record.findtext("row/policy_evaluated/dkim")
                entry["spf"] = record.findtext("row/policy_evaluated/spf")
                entry["header_from"] = record.findtext("identifiers/header_from")
                entry["envelope_from"] = record.findtext("identifiers/envelope_from")
                entry["auth_dkim"] = (record.findtext("auth_results/dkim/domain"),
                                      record.findtext("auth_results/dkim/selector"),
                                      record.findtext("auth_results/dkim/result"))
                entry["auth_spf"] = (record.findtext("auth_results/spf/domain"),
                                     record.findtext("auth_results/spf/result"))
        self.assertEqual(rows["192.0.2.25"], {
            "count": 2, "disposition": "none", "dkim": "pass", "spf": "pass",
            "header_from": "report.test", "envelope_from": "report.test",
            "auth_dkim": ("report.test", "sel", "pass"), "auth_spf": ("report.test", "pass")})
        self.assertEqual(rows["203.0.113.9"], {
            "count": 1, "disposition": "reject", "dkim": "fail", "spf": "fail",
            "header_from": "report.test", "envelope_from": "report.test",
            "auth_dkim": ("report.test", "sel", "fail"), "auth_spf": ("report.test", "fail")})
        self.assertGreaterEqual(mx.metric('mxgate_dmarc_reports_total{result="unauthorized"}'), 1)
        self.assertGreaterEqual(mx.metric('mxgate_dmarc_reports_total{result="too_large"}'), 1)
        self.assertEqual(mx.metric('mxgate_dmarc_report_rows_total{result="recorded"}'), 3)
        self.assertRegex(mx.log(), r"dmarc_report domain=report\.test .*uri=mailto:x@stranger\.test "
                                   r"result=unauthorized why=\"no v=DMARC1 record at "
                                   r"report\.test\._report\._dmarc\.stranger\.test")
        self.assertRegex(mx.log(), r"recipient id=\S+ to=<agg@collector\.test> .*status=sent")

    def test_the_daily_cap_holds_back_the_rest(self):
        sink = self.sink()
        mx = self.start(sink, "2s", **{"dmarc_reports.max_reports_per_day": 1})
        self.send_three(mx)
        mx.wait_metric('mxgate_dmarc_reports_total{result="capped"}', lambda v: v >= 1,
                       timeout=60)
        self.assertEqual(mx.metric('mxgate_dmarc_reports_total{result="queued"}'), 1)
        self.assertRegex(mx.log(), r"dmarc_report domain=report\.test .* result=capped "
                                   r"why=\"dmarc_reports\.max_reports_per_day \(1\) reached\"")
        mx.wait_queue_empty()
        self.assertEqual(len([m for m in sink.messages() if m.rcpts != ["<bob@example.com>"]]), 1)

    def test_reports_are_dkim_signed(self):
        sink = self.sink()
        mx = self.start(sink, "2s", **{
            "dmarc_reports.dkim_key": os.path.join(KEYS.name, "reports.key"),
            "dmarc_reports.dkim_selector": "reports"})
        self.send_three(mx)
        mx.wait_metric('mxgate_dmarc_reports_total{result="queued"}', lambda v: v >= 2,
                       timeout=60)
        mx.wait_queue_empty()
        reports = [m for m in sink.messages() if m.rcpts != ["<bob@example.com>"]]
        self.assertGreaterEqual(len(reports), 2)
        with open(os.path.join(KEYS.name, "reports.dns")) as f:
            record = f.read().strip()
        name = f"reports._domainkey.{HOSTNAME}."

        def verify(content):
            result = run_tool([require_tool("/usr/bin/python3"), "-c", VERIFIER, name, record],
                              input=content)
            self.assertEqual(result.returncode, 0, result.stderr.decode())
            return result.stdout.decode().split()
        for report in reports:
            content = report.content_crlf
            self.assertEqual(verify(content), ["pass", name], content[:600])
            signature = email.message_from_bytes(content)["DKIM-Signature"]
            self.assertRegex(signature, rf"\bd={re.escape(HOSTNAME)};")
            self.assertRegex(signature, r"\bs=reports;")
            self.assertRegex(signature, r"\bc=relaxed/relaxed;")
            # Changed on the way, the report no longer verifies.
            self.assertEqual(verify(content.replace(b"Report Domain", b"Report domain"))[0],
                             "fail")

    def test_dry_run_shows_the_plan_and_sends_nothing(self):
        sink = self.sink()
        mx = self.start(sink, "24h")
        self.send_three(mx)
        mx.wait_metric('mxgate_dmarc_report_rows_total{result="recorded"}', lambda v: v == 3)
        # Stopped, mxgate has flushed its rows; the tool reads the store as the server left it
        # (beside a running server it reads what was flushed, about a second behind).
        mx.stop()
        result = run_tool([mxgate_bin(), "dmarc", "report", "--dry-run", "-c", mx.config_path])
        out = result.stdout.decode()
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        self.assertRegex(out, r"^period \S+ \.\. \S+ \(in progress: sent after \S+\)\n")
        self.assertIn("  report.test p=reject messages=3 rows=2 ", out)
        self.assertRegex(out, r"    mailto:dmarc@report\.test  queue dmarc@report\.test: within "
                              r"the policy's organizational domain\n")
        self.assertRegex(out, r"    mailto:agg@collector\.test  queue agg@collector\.test: "
                              r"authorized by report\.test\._report\._dmarc\.collector\.test\n")
        self.assertRegex(out, r"    mailto:x@stranger\.test  unauthorized: no v=DMARC1 record at "
                              r"report\.test\._report\._dmarc\.stranger\.test")
        self.assertRegex(out, r"    mailto:small@collector\.test!100  too_large "
                              r"small@collector\.test: \d+ bytes gzipped, the limit is 100\n")
        xml = run_tool([mxgate_bin(), "dmarc", "report", "--dry-run", "--xml", "report.test",
                        "-c", mx.config_path]).stdout
        root = ET.fromstring(xml)
        self.assertEqual(sum(int(c.text) for c in root.iter("count")), 3)
        refused = run_tool([mxgate_bin(), "dmarc", "report", "-c", mx.config_path])
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--dry-run", refused.stderr.decode())
        self.assertEqual([m for m in sink.messages() if m.rcpts != ["<bob@example.com>"]], [])


if __name__ == "__main__":
    unittest.main()
