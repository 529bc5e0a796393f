"""The postmaster portal end to end (issue 8): the real binary with its portal listener, NSD
serving the reverse and forward DNS of the addresses asked about, listings made through the
admin API, Python's urllib as the HTTP client, and Debian's headless Chromium rendering the page.

Lookups of blocked, deferred (by a throttle limit) and clean IPs, in HTML and in JSON; what a
delisting request would lead to, said before the form and done by the POST; an invalid IP gets
400 with a message; hostile input is escaped; every response carries the
security headers; the portal serves no metrics; a client over portal.requests_per_minute gets
429; the reverse-DNS checks are run at request time."""

import json
import os
import shutil
import smtplib
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

from dns_server import DEFAULT_ZONES, DnsServer
from harness import MxTestCase, SmtpClient, mxgate_bin, require_tool, run_tool, wait_until
from test_proxy import proxy_v1

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def fetch(port, path, accept=None, method="GET", data=None, timeout=30):
    """(status, headers, body text)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=data)
    if accept:
        request.add_header("Accept", accept)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode(errors="replace")


class PortalCase(MxTestCase):
    """An NSD for the whole class; mxgate with its portal, PROXY clients untrusted."""

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(DEFAULT_ZONES)
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def start(self, limits=(), sink=None, **settings):
        config = {"dns.servers": [self.dns.address], "reputation.trusted_networks": []}
        config.update(settings)
        mx = self.mxgate(sink, settings=config, proxy=True,
                         extra_tables=[("limit", limit) for limit in limits])
        self.proxy_port = mx.proxy_port
        return mx

    def block(self, mx, ip, reason, source="admin-api"):
        status, text = mx.admin("PUT", f"/admin/rep/{ip}",
                                {"action": "block", "reason": reason, "source": source})
        self.assertEqual(status, 200, text)

    def portal(self, mx, path, accept=None):
        return fetch(mx.portal_port, path, accept)

    def assert_secure(self, headers):
        csp = headers["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Cache-Control"], "no-store")


class PortalTest(PortalCase):

    def test_a_blocked_ip_in_html_and_json_with_its_reason_escaped_and_live_rdns(self):
        mx = self.start()
        self.block(mx, "192.0.2.7", HOSTILE)
        status, headers, page = self.portal(mx, "/postmaster/?ip=192.0.2.7")
        self.assertEqual(status, 200)
        self.assert_secure(headers)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn("Status: <strong>blocked</strong>", page)
        self.assertIn('data-signal="manual_block"', page)
        self.assertNotIn("<script>", page)
        self.assertNotIn("<img", page)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img", page)
        self.assertIn('href="/postmaster/best-practices#listing"', page)
        # 192.0.2.7's PTR names liar.example.test, which resolves elsewhere: no FCrDNS.
        self.assertIn("<code>liar.example.test</code>", page)
        self.assertIn("does not resolve back", page)
        self.assertIn('<strong id="rdns" class="fail">fail</strong>', page)
        self.assertIn('id="delist"', page)

        status, headers, text = self.portal(mx, "/postmaster/?ip=192.0.2.7", "application/json")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assert_secure(headers)
        self.assertNotIn("<", text)
        report = json.loads(text)
        self.assertEqual(report["ip"], "192.0.2.7")
        self.assertEqual(report["status"], "blocked")
        self.assertIsNotNone(report["since"])
        self.assertEqual([r["signal"] for r in report["reasons"]], ["manual_block"])
        self.assertEqual(report["reasons"][0]["detail"], HOSTILE)
        self.assertEqual(report["reasons"][0]["link"], "/postmaster/best-practices#listing")
        self.assertEqual(report["checks"]["ptr"], "liar.example.test")
        self.assertFalse(report["checks"]["forward_confirmed"])
        self.assertFalse(report["checks"]["reverse_dns_pass"])
        self.assertNotIn("allowed", report)
        self.assertFalse(report["allow_listed"])
        self.assertEqual(report["cause"], "listing")
        # An operator's listing and failing reverse DNS: a request goes to an operator.
        self.assertEqual(report["delisting"]["outcome"], "review")
        self.assertEqual(report["delisting"]["review_because"], ["manual-listing", "reverse-dns"])

    def test_a_clean_ip_with_confirmed_reverse_dns(self):
        mx = self.start()
        status, _, text = self.portal(mx, "/postmaster/?ip=192.0.2.25", "application/json")
        self.assertEqual(status, 200, text)
        report = json.loads(text)
        self.assertEqual(report["status"], "not listed")
        self.assertEqual(report["reasons"], [])
        self.assertEqual(report["checks"]["ptr"], "mail.example.test")
        self.assertTrue(report["checks"]["forward_confirmed"])
        self.assertTrue(report["checks"]["reverse_dns_pass"])
        self.assertEqual(report["delisting"]["outcome"], "not-listed")
        self.assertEqual(mx.metric('mxgate_portal_lookups_total{status="not_listed"}'), 1)
        status, _, page = self.portal(mx, "/postmaster/?ip=192.0.2.25")
        self.assertIn("Status: <strong>not listed</strong>", page)
        self.assertIn('<strong id="rdns" class="pass">pass</strong>', page)
        self.assertNotIn('id="delist"', page)
        # A generic name that confirms still fails the check, and says why.
        report = json.loads(self.portal(mx, "/postmaster/?ip=192.0.2.99", "application/json")[2])
        self.assertTrue(report["checks"]["forward_confirmed"])
        self.assertIsNotNone(report["checks"]["generic"])
        self.assertFalse(report["checks"]["reverse_dns_pass"])

    def test_a_block_list_listing_is_checked_live_and_shown(self):
        mx = self.mxgate(settings={"dns.servers": [self.dns.address]},
                         extra_tables=[("dnsbl", {"zone": "zone.example", "weight": 10.0,
                                                  "probe": False})])
        status, _, text = self.portal(mx, "/postmaster/?ip=127.0.0.2", "application/json")
        self.assertEqual(status, 200, text)
        report = json.loads(text)
        self.assertEqual(report["checks"]["dnsbls"], ["zone.example"])
        self.assertEqual(report["status"], "blocked")  # weight 10 = reputation.reject_at
        self.assertIn({"signal": "dnsbl_listed", "detail": "listed on zone.example",
                       "link": "/postmaster/best-practices#dnsbl"},
                      [{k: r[k] for k in ("signal", "detail", "link")} for r in report["reasons"]])
        report = json.loads(self.portal(mx, "/postmaster/?ip=127.0.0.1", "application/json")[2])
        self.assertEqual((report["status"], report["checks"]["dnsbls"]), ("not listed", []))
        page = self.portal(mx, "/postmaster/?ip=127.0.0.2")[2]
        self.assertIn("Listed on <code>zone.example</code>", page)

    def test_an_ip_deferred_by_a_throttle_limit(self):
        mx = self.start(limits=[{"name": "ip-connections", "key": "ip", "count": "connections",
                                 "rate": 1, "period": "1h", "burst": 1}])
        banners = []
        for _ in range(5):  # the limit's burst first, then a deferral
            with SmtpClient(self.proxy_port) as c:
                c.send(proxy_v1("192.0.2.50"))
                banners.append(c.reply()[0])
            if banners[-1] != 220:
                break
        self.assertEqual(banners[-1], 421, banners)
        status, _, text = self.portal(mx, "/postmaster/?ip=192.0.2.50", "application/json")
        self.assertEqual(status, 200, text)
        report = json.loads(text)
        self.assertEqual(report["status"], "deferred")
        self.assertEqual(report["reasons"][0]["signal"], "rate_limited")
        self.assertIn("ip-connections", report["reasons"][0]["detail"])
        self.assertEqual(report["reasons"][0]["link"], "/postmaster/best-practices#volume")
        self.assertIsNotNone(report["since"])
        self.assertEqual(report["cause"], "deferral")
        self.assertEqual(report["delisting"]["outcome"], "wait")
        page = self.portal(mx, "/postmaster/?ip=192.0.2.50")[2]
        self.assertIn("Status: <strong>deferred</strong>", page)
        self.assertIn("No request is needed: this deferral ends by itself", page)
        self.assertNotIn('id="delist"', page)

    def test_an_invalid_ip_gets_400_with_a_message_and_hostile_input_is_not_echoed(self):
        mx = self.start()
        for value in ["not-an-ip", "192.0.2.300", HOSTILE, "1" * 500]:
            query = urllib.parse.urlencode({"ip": value})
            status, headers, page = self.portal(mx, f"/postmaster/?{query}")
            self.assertEqual(status, 400, value)
            self.assert_secure(headers)
            self.assertIn("Not an IP address", page)
            self.assertNotIn("<script", page)
            status, _, text = self.portal(mx, f"/postmaster/?{query}", "application/json")
            self.assertEqual(status, 400)
            self.assertIn("Not an IP address", json.loads(text)["error"])
        self.assertEqual(self.portal(mx, "/postmaster/?ip=%zz")[0], 200)  # a broken escape: the form

    def test_best_practices_the_form_and_nothing_else(self):
        mx = self.start()
        status, headers, page = self.portal(mx, "/postmaster/best-practices")
        self.assertEqual(status, 200)
        self.assert_secure(headers)
        for anchor in ["rdns", "helo", "spf", "dkim", "dmarc", "tls", "compliance", "ramp",
                       "complaints", "recipients", "dnsbl"]:
            self.assertIn(f'<section id="{anchor}">', page)
        status, _, page = self.portal(mx, "/postmaster/")
        self.assertEqual(status, 200)
        self.assertIn('<form method="get" action="/postmaster/">', page)
        status, headers, css = self.portal(mx, "/postmaster/style.css")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/css"))
        self.assertEqual(self.portal(mx, "/metrics")[0], 404, "no metrics on the public listener")
        self.assertEqual(self.portal(mx, "/admin/rep/192.0.2.7")[0], 404)
        self.assertEqual(fetch(mx.portal_port, "/postmaster/", method="DELETE")[0], 405)

    def test_a_client_over_the_request_limit_gets_429(self):
        mx = self.start(**{"portal.requests_per_minute": 5})
        statuses = [self.portal(mx, "/postmaster/best-practices")[0] for _ in range(6)]
        self.assertEqual(statuses, [200] * 5 + [429])
        status, headers, _ = self.portal(mx, "/postmaster/")
        self.assertEqual(status, 429)
        self.assertEqual(headers["Retry-After"], "60")
        self.assertEqual(mx.metric("mxgate_portal_rate_limited_total"), 2)
        result = run_tool(["promtool", "check", "metrics"], input=mx.metrics().encode())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)



class DelistTest(PortalCase):
    """POST /postmaster/delist: validated; approved at once for an automatic listing whose
    reverse DNS passes (and the next connection is accepted); queued for an operator when the
    listing was an operator's, reverse DNS fails or it was delisted in the last 30 days, as the
    lookup page says before its form; one open request per IP; a daily limit per contact."""

    def ask(self, mx, ip, contact="postmaster@example.test",
            explanation="We fixed the PTR record and removed the infected host."):
        body = urllib.parse.urlencode({"ip": ip, "contact": contact,
                                       "explanation": explanation}).encode()
        status, headers, text = fetch(mx.portal_port, "/postmaster/delist", "application/json",
                                      method="POST", data=body)
        return status, json.loads(text) if text.startswith("{") else text

    def banner(self, ip):
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1(ip))
            return c.reply()

    def test_an_automatic_listing_is_delisted_at_once_and_the_next_connection_accepted(self):
        mx = self.start()
        self.block(mx, "192.0.2.25", "spam trap hits", source="auto-traps")
        self.assertEqual(self.banner("192.0.2.25")[0], 554)
        page = self.portal(mx, "/postmaster/?ip=192.0.2.25")[2]
        self.assertIn("A request is <strong>approved at once</strong>", page)
        status, answer = self.ask(mx, "192.0.2.25")
        self.assertEqual((status, answer["result"]), (200, "approved"), answer)
        self.assertIn("takes effect at once", answer["message"])
        self.assertTrue(any("30 days" in step for step in answer["next_steps"]), answer)
        self.assertEqual(self.banner("192.0.2.25")[0], 220)
        self.assertEqual(mx.metric('mxgate_delist_requests_total{outcome="approved"}'), 1)
        report = json.loads(self.portal(mx, "/postmaster/?ip=192.0.2.25", "application/json")[2])
        self.assertEqual(report["status"], "not listed")
        # Delisted within 30 days: a second listing goes to an operator, as the page says.
        self.block(mx, "192.0.2.25", "spam trap hits", source="auto-traps")
        report = json.loads(self.portal(mx, "/postmaster/?ip=192.0.2.25", "application/json")[2])
        self.assertEqual(report["delisting"]["review_because"], ["relisted"])
        self.assertEqual(report["delisting"]["request"]["state"], "approved")
        status, answer = self.ask(mx, "192.0.2.25")
        self.assertEqual((status, answer["result"], answer["review_because"]),
                         (202, "queued", ["relisted"]), answer)

    def test_failing_reverse_dns_sends_the_request_to_an_operator_as_the_page_said(self):
        # An automatic listing for spam traps, and 192.0.2.7's PTR does not confirm forward.
        mx = self.start()
        self.block(mx, "192.0.2.7", "spam trap hits", source="auto-traps")
        page = self.portal(mx, "/postmaster/?ip=192.0.2.7")[2]
        fix = page.index("Reverse DNS of this address fails")
        self.assertLess(fix, page.index('id="delist"'), "said before the form")
        self.assertIn("Fix this first and your request can be approved at once.", page)
        self.assertIn("an operator reviews your request", page)
        self.assertIn(">Send to an operator</button>", page)
        body = urllib.parse.urlencode({"ip": "192.0.2.7", "contact": "a@example.test",
                                       "explanation": "We removed the trap addresses."}).encode()
        status, _, page = fetch(mx.portal_port, "/postmaster/delist", method="POST", data=body)
        self.assertEqual(status, 202, page)
        self.assertIn("waiting for an operator", page)
        self.assertIn("reverse DNS of this address fails.", page)
        self.assertIn("Until then 192.0.2.7 stays blocked", page)
        self.assertIn("If the operator approves, the delisting takes effect at once.", page)
        self.assertIn("listed again within 30 days", page)
        # The lookup page now shows the open request instead of a second form; a second
        # request gets 409 with the same next steps.
        page = self.portal(mx, "/postmaster/?ip=192.0.2.7")[2]
        self.assertIn("Request state: <strong>waiting for an operator</strong>", page)
        self.assertNotIn('id="delist"', page)
        self.assertNotIn("a@example.test", page, "the contact is not shown to anyone")
        status, answer = self.ask(mx, "192.0.2.7")
        self.assertEqual((status, answer["result"]), (409, "already-open"), answer)
        self.assertIn("you need not ask again", answer["message"])
        self.assertTrue(any("30 days" in step for step in answer["next_steps"]), answer)
        self.assertEqual(answer["status_url"], "/postmaster/?ip=192.0.2.7")
        self.assertEqual(mx.metric('mxgate_delist_requests_total{outcome="queued"}'), 1)

    def test_an_operators_listing_is_queued_once_and_a_contact_has_a_daily_limit(self):
        mx = self.start(**{"portal.delist_requests_per_day": 1})
        self.block(mx, "192.0.2.25", "listed by hand")
        self.block(mx, "2001:db8::25", "listed by hand")
        status, answer = self.ask(mx, "192.0.2.25")
        self.assertEqual((status, answer["result"]), (202, "queued"), answer)
        self.assertEqual(self.ask(mx, "192.0.2.25", contact="other@example.test")[1]["result"],
                         "already-open")
        status, answer = self.ask(mx, "2001:db8::25")
        self.assertEqual((status, answer["result"]), (429, "quota"), answer)
        self.assertEqual(self.banner("192.0.2.25")[0], 554, "still listed until reviewed")

    def test_invalid_input_gets_400_and_a_clean_ip_needs_nothing(self):
        mx = self.start()
        for ip, contact, explanation in [
                ("not-an-ip", "a@example.test", "a long enough explanation"),
                ("192.0.2.25", "no-at-sign", "a long enough explanation"),
                ("192.0.2.25", "a@example.test", "short"),
                ("192.0.2.25", "a@example.test", "x" * 2001),
                ("192.0.2.25", "a@example.test", "bell \x07 in the explanation"),
                ("192.0.2.25", HOSTILE, "a long enough explanation")]:
            status, answer = self.ask(mx, ip, contact, explanation)
            self.assertEqual((status, answer["result"]), (400, "invalid"), (ip, contact))
        status, answer = self.ask(mx, "192.0.2.25")
        self.assertEqual((status, answer["result"]), (200, "not-listed"))
        self.assertEqual(fetch(mx.portal_port, "/postmaster/delist")[0], 405)


ARF = """From: <fbl@provider.example>
To: <abuse@mx.example.test>
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b1"

--b1
Content-Type: text/plain

A recipient marked this message as spam.

--b1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ProviderFBL/1.0
Version: 1
Source-IP: {ip}
Original-Mail-From: <news@sender.example>
Reported-Domain: sender.example

--b1
Content-Type: message/rfc822

From: <news@sender.example>
Subject: offers

buy
--b1--
"""


class AdminTest(PortalCase):
    """`mxgate admin` against the running server: the token is required; delisting requests are
    listed, approved (the listing cleared, the next connection accepted) and denied; complaint
    reports raise the complaint rate until the sender is deferred; reload and drain."""

    def admin(self, mx, *args, input=None, config=None):
        return run_tool([mxgate_bin(), "admin", *args, "-c", config or mx.config_path],
                        input=input)

    def send(self, ip, count):
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1(ip))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            for i in range(count):
                self.assertEqual(c.cmd("MAIL FROM:<news@example.test>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<user@example.com>")[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(b"Subject: %d\r\n\r\nhello\r\n.\r\n" % i)
                self.assertEqual(c.reply()[0], 250)
            c.cmd("QUIT")

    def test_the_token_is_required(self):
        mx = self.start()
        self.assertEqual(fetch(mx.http_port, "/admin/delist")[0], 401)
        self.assertEqual(mx.admin("GET", "/admin/delist")[0], 200)

    def test_delisting_requests_are_listed_approved_and_denied(self):
        mx = self.start()
        self.block(mx, "192.0.2.25", "listed by hand")
        self.block(mx, "2001:db8::25", "listed by hand")
        for ip in ("192.0.2.25", "2001:db8::25"):
            body = urllib.parse.urlencode({"ip": ip, "contact": f"pm{len(ip)}@example.test",
                                           "explanation": "We cleaned the host up."}).encode()
            self.assertEqual(fetch(mx.portal_port, "/postmaster/delist", method="POST",
                                   data=body)[0], 202)
        listed = self.admin(mx, "delist", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        lines = listed.stdout.decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(all("\topen\t" in line for line in lines), lines)
        approved = self.admin(mx, "delist", "approve", "192.0.2.25", "--note", "fixed, checked")
        self.assertEqual(approved.returncode, 0, approved.stderr)
        self.assertEqual(approved.stdout, b"192.0.2.25 approved\n")
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1("192.0.2.25"))
            self.assertEqual(c.reply()[0], 220, "an operator's listing is cleared on approval")
        denied = self.admin(mx, "delist", "deny", "2001:db8::25", "--note", "still spamming")
        self.assertEqual(denied.returncode, 0, denied.stderr)
        self.assertEqual(self.admin(mx, "delist", "deny", "2001:db8::25").returncode, 1, "not open")
        self.assertEqual(self.admin(mx, "delist", "approve", "192.0.2.99").returncode, 1)
        everything = self.admin(mx, "delist", "list", "--state", "all").stdout.decode()
        self.assertIn("192.0.2.25\tapproved\t", everything)
        self.assertIn("2001:db8::25\tdenied\t", everything)
        self.assertEqual(self.admin(mx, "delist", "list").stdout, b"")
        self.assertEqual(self.admin(mx, "delist", "list").stderr,
                         b"no delisting requests (state: open)\n")

    def test_complaint_reports_raise_the_complaint_rate_until_the_sender_is_deferred(self):
        sink = self.sink()
        mx = self.start(sink=sink, **{"reputation.flush_interval": "100ms",
                                      "reputation.model.complaint_min_delivered": 2})
        self.send("192.0.2.25", 2)
        sink.wait_for_messages(2)
        counted = self.admin(mx, "arf", "-", input=ARF.format(ip="192.0.2.25").encode())
        self.assertEqual(counted.returncode, 0, counted.stderr)
        self.assertEqual(counted.stdout, b"counted ip=192.0.2.25 domains=sender.example\n")
        self.assertEqual(mx.metric('mxgate_complaints_total{source="api"}'), 1)
        status, text = mx.admin("POST", "/admin/arf")
        self.assertEqual(status, 400, text)

        def deferred():
            report = json.loads(self.portal(mx, "/postmaster/?ip=192.0.2.25",
                                            "application/json")[2])
            return report["status"] == "deferred" and report
        # The complaint reaches the store within flush_interval.
        report = wait_until(deferred, 30, interval=0.1,
                            what="the complaint rate deferring the sender")
        self.assertIn("complaint_rate", [r["signal"] for r in report["reasons"]])
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1("192.0.2.25"))
            code, text = c.reply()
            self.assertEqual(code, 421, text)

    def test_a_sender_domain_listing_refuses_its_mail_at_mail_from(self):
        mx = self.start()
        self.block(mx, "domain:example.test", "phishing from this domain")
        status, text = mx.admin("GET", "/admin/rep/domain:example.test")
        self.assertEqual(status, 200, text)
        self.assertIn("phishing from this domain", text)
        with SmtpClient(self.proxy_port) as c:
            c.send(proxy_v1("192.0.2.25"))
            self.assertEqual(c.reply()[0], 220)
            c.ehlo("mail.example.test")
            code, text = c.cmd("MAIL FROM:<news@example.test>")
            self.assertEqual(code, 550, text)
            self.assertIn("5.7.1 Blocked - see", text)
            self.assertEqual(c.cmd("MAIL FROM:<news@other.example>")[0] // 100, 2)
        self.assertEqual(mx.admin("DELETE", "/admin/rep/domain:example.test")[0], 200)

    def test_complaint_reports_by_mail_to_the_feedback_address(self):
        sink = self.sink()
        mx = self.start(sink=sink, **{"feedback.address": "FBL@mx.example.test"})
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=10) as client:
            client.ehlo("fbl.provider.example")
            client.mail("fbl@provider.example")
            self.assertEqual(client.rcpt("fbl@MX.example.test")[0], 250)
            code, text = client.rcpt("user@example.com")
            self.assertEqual((code, text[:5]), (452, b"4.5.3"), "one kind per transaction")
            code, text = client.data(ARF.format(ip="192.0.2.99").replace("\n", "\r\n").encode())
            self.assertEqual((code, text), (250, b"2.0.0 Ok: complaint counted"))
            client.mail("fbl@provider.example")
            client.rcpt("fbl@mx.example.test")
            code, text = client.data(b"Subject: not a report\r\n\r\nhello\r\n")
            self.assertEqual(code, 550)
            self.assertIn(b"5.6.0 Not a complaint report", text)
            client.mail("someone@example.org")
            self.assertEqual(client.rcpt("user@example.com")[0], 250)
            self.assertEqual(client.rcpt("fbl@mx.example.test")[0], 452)
            self.assertEqual(client.data(b"Subject: ordinary\r\n\r\nmail\r\n")[0], 250)
        self.assertEqual(len(sink.wait_for_messages(1)), 1, "only the ordinary mail is relayed")
        self.assertEqual(mx.metric('mxgate_complaints_total{source="mail"}'), 1)
        self.assertIn("complaint source=mail feedback_type=abuse ip=192.0.2.99", mx.log())

    def test_reload_and_drain(self):
        mx = self.start()
        reloaded = self.admin(mx, "reload")
        self.assertEqual((reloaded.returncode, reloaded.stdout), (0, b"reloaded\n"))
        good = mx.config_path + ".good"  # the command's own configuration stays valid
        shutil.copy(mx.config_path, good)
        mx.write_config(text="[server]\nmax_recipients = \"lots\"\n")
        refused = self.admin(mx, "reload", config=good)
        self.assertEqual(refused.returncode, 1)
        self.assertIn(b"the configuration was not reloaded", refused.stderr)
        drained = self.admin(mx, "drain", config=good)
        self.assertEqual((drained.returncode, drained.stdout), (0, b"draining\n"))
        self.assertEqual(mx.wait_exit(15), 0)


class PortalBrowserTest(PortalCase):
    """Headless Chromium loads the page, prints the DOM it rendered (--dump-dom) and takes
    screenshots: of a blocked address, a deferred one, one inside a network listing and an
    unlisted one. The PNGs go to the test's temporary directory, and to MXGATE_SCREENSHOT_DIR
    when it is set (to look at them)."""

    def chromium(self, *args):
        chromium = require_tool("chromium")
        with tempfile.TemporaryDirectory() as profile:
            result = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-extensions", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 *args],
                capture_output=True, timeout=60, env=dict(os.environ, HOME=profile))
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace")[-2000:])
        return result.stdout.decode()

    def render(self, url):
        return self.chromium("--dump-dom", url)

    def screenshot(self, url, name):
        """Saves the page as NAME.png (a tall window: the whole page of a report)."""
        directory = tempfile.mkdtemp(prefix="portal-screens-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, name + ".png")
        self.chromium("--hide-scrollbars", "--window-size=1000,1700",
                      f"--screenshot={path}", url)
        with open(path, "rb") as png:
            self.assertEqual(png.read(8), b"\x89PNG\r\n\x1a\n", path)
        wanted = os.environ.get("MXGATE_SCREENSHOT_DIR")
        if wanted:
            os.makedirs(wanted, exist_ok=True)
            shutil.copy(path, os.path.join(wanted, name + ".png"))
        return path

    def test_chromium_renders_the_status_reasons_and_checks(self):
        mx = self.start()
        self.block(mx, "192.0.2.7", HOSTILE)
        dom = self.render(f"http://127.0.0.1:{mx.portal_port}/postmaster/?ip=192.0.2.7")
        self.assertIn("Status: <strong>blocked</strong>", dom)
        self.assertIn('<li data-signal="manual_block">', dom)
        self.assertIn("liar.example.test", dom)
        # The hostile reason stayed text: no element was made of it.
        self.assertNotIn("<img src", dom)
        self.assertNotIn("<script>alert", dom)
        self.assertIn("&lt;script&gt;", dom)

    def test_four_kinds_of_address_as_a_sender_sees_them(self):
        mx = self.start(limits=[{"name": "ip-connections", "key": "ip", "count": "connections",
                                 "rate": 1, "period": "1h", "burst": 1}])
        self.block(mx, "192.0.2.7", "spam trap hits", source="auto-traps")
        self.block(mx, "198.51.100.0/24", "snowshoe range", source="spamhaus-drop")
        for _ in range(5):  # the limit's burst, then a deferral of 192.0.2.50
            with SmtpClient(self.proxy_port) as c:
                c.send(proxy_v1("192.0.2.50"))
                if c.reply()[0] == 421:
                    break
        else:
            self.fail("192.0.2.50 was never deferred")
        base = f"http://127.0.0.1:{mx.portal_port}/postmaster/?ip="
        pages = {"blocked": "192.0.2.7", "deferred": "192.0.2.50",
                 "network": "198.51.100.9", "not-listed": "192.0.2.25"}
        dom = {}
        for name, ip in pages.items():
            dom[name] = self.render(base + ip)
            self.screenshot(base + ip, f"portal-{name}")

        blocked = dom["blocked"]
        self.assertIn("Status: <strong>blocked</strong>", blocked)
        self.assertIn("192.0.2.7 is blocked: we refuse mail from it, and your server returns that "
                      "mail to its senders as undeliverable.", blocked)
        self.assertIn("Our systems listed this address automatically", blocked)
        self.assertIn("Reason given:", blocked)
        self.assertRegex(blocked, r"Listed since <time datetime=\"[0-9T:Z-]+\">\d+ \w+ \d{4}, "
                                  r"\d\d:\d\d UTC</time> \((just now|\d+ \w+ ago)\)")
        self.assertLess(blocked.index("Fix this first and your request can be approved at once."),
                        blocked.index('id="delist"'))
        self.assertNotIn("on the lookup page", blocked)
        self.assertNotIn("messages a day", blocked)

        deferred = dom["deferred"]
        self.assertIn("Status: <strong>deferred</strong>", deferred)
        self.assertIn("192.0.2.50 is deferred: we refuse its mail for now", deferred)
        self.assertIn("The deferral ends", deferred)
        self.assertIn("No request is needed: this deferral ends by itself", deferred)
        self.assertIn("For support: <code>rate_limited", deferred)
        self.assertNotIn('id="delist"', deferred)

        network = dom["network"]
        self.assertIn("The network <strong>198.51.100.0/24</strong>, which contains 198.51.100.9, "
                      "is blocked", network)
        self.assertIn("Our operators listed the network 198.51.100.0/24.", network)
        self.assertIn("snowshoe range", network)
        self.assertIn("the listing covers the whole network 198.51.100.0/24", network)
        report = json.loads(self.portal(mx, "/postmaster/?ip=198.51.100.9", "application/json")[2])
        self.assertEqual((report["status"], report["listed_network"]),
                         ("blocked", "198.51.100.0/24"))

        clean = dom["not-listed"]
        self.assertIn("Status: <strong>not listed</strong>", clean)
        self.assertIn("192.0.2.25 is not listed: we accept mail from it.", clean)
        self.assertIn('<strong id="rdns" class="pass">pass</strong>', clean)
        self.assertNotIn('id="delist"', clean)
        self.assertNotIn("may send up to", clean)


if __name__ == "__main__":
    unittest.main()
