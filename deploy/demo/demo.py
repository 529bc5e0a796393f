#!/usr/bin/env python3
"""The demo (deploy/demo.sh runs it): sends mail through the PROXY listener of the mxgate that
deploy/try.sh runs, as four senders from the documentation address ranges, and shows what each
got and where to look. The senders and their DNS are deploy/demo/zones/ (NSD serves them):

  good     192.0.2.10     mail.good.example: PTR and A agree, SPF pass, DKIM signed with the
                          demo key (dkimsign from python3-dkim), DMARC p=reject aligned
                          -> 250, with the Authentication-Results header the relayed copy got
  no-rdns  198.51.100.23  no PTR, a HELO name that does not resolve, no SPF, no DKIM
                          -> refused: the scores add up over the session (see below)
  listed   203.0.113.66   in order, but listed in the demo DNSBL (dnsbl.example)
                          -> 554 Blocked at connect
  flood    2001:db8:b::25 in order, but new: the new-IP ramp admits 100 accepted messages a day
                          (throttle.ramp_floor, as shipped) -> 421 Deferred at message 101

Nothing here is faked: every line printed is a reply mxgate sent or a file or metric it wrote.
Exit status 0 when each case got the kind of answer above, 1 otherwise.

Standard library only, plus the dkimsign command. PROXY protocol v1 (HAProxy's
proxy-protocol.txt): one line before SMTP starts, as a load balancer would send it.
"""

import argparse
import email
import email.utils
import glob
import os
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DKIM_KEY = os.path.join(HERE, "dkim-demo-only.key")  # demo only: its public half is in the zone
RCPT = "user@example.com"  # the route of conf/mxgate.toml: relayed to the sink
# The new-IP ramp's floor (throttle.ramp_floor as shipped): the flood sends a little more.
FLOOD_MESSAGES = 120


class ProxySMTP(smtplib.SMTP):
    """smtplib.SMTP that opens its connection with a PROXY v1 line for `client`."""

    def __init__(self, client, **kwargs):
        self.client = client
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        family = "TCP6" if ":" in self.client else "TCP4"
        dest = "::1" if family == "TCP6" else "127.0.0.1"
        sock.sendall(f"PROXY {family} {self.client} {dest} 40000 25\r\n".encode())
        return sock


def load_env(var):
    path = os.path.join(var, "try", "try.env")
    try:
        with open(path) as f:
            lines = [line.strip() for line in f if "=" in line and not line.startswith("#")]
    except FileNotFoundError:
        sys.exit(f"demo: {path} not found: start ./deploy/try.sh first (in another terminal)")
    return dict(line.split("=", 1) for line in lines)


def reply_text(code, msg):
    """The reply's last line (mxgate's banner is a 220- line, then the final one)."""
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return f"{code} {text.splitlines()[-1] if text else ''}"


class Demo:
    def __init__(self, env):
        self.env = env
        host, _, port = env["proxy"].rpartition(":")
        self.proxy = (host, int(port))
        self.outcomes = {}

    # -- one SMTP session

    def session(self, client, helo, show=True):
        """Connects as `client`; returns (smtp, None) after the banner, or (None, reply) when
        the connection was refused."""
        started = time.monotonic()
        try:
            smtp = ProxySMTP(client, timeout=60)
            code, msg = smtp.connect(*self.proxy)
        except smtplib.SMTPServerDisconnected as e:
            return None, (0, f"disconnected before the banner ({e})")
        waited = time.monotonic() - started
        if code != 220:
            smtp.close()
            return None, (code, msg)
        if show:
            print(f"  {'connect':<32} -> {reply_text(code, msg)}"
                  + (f"  (after {waited:.1f} s: the greet pause)" if waited > 0.5 else ""))
        code, msg = smtp.ehlo(helo)
        if show:
            print(f"  {'EHLO ' + helo:<32} -> {code} ...")
        return smtp, None

    def transaction(self, smtp, sender, message, show=True):
        """MAIL, RCPT, DATA; returns the first reply that was not positive, or the final 250."""
        steps = [("MAIL FROM:<" + sender + ">", lambda: smtp.mail(sender)),
                 ("RCPT TO:<" + RCPT + ">", lambda: smtp.rcpt(RCPT)),
                 ("DATA", lambda: smtp.data(message))]
        for label, step in steps:
            try:
                code, msg = step()
            except smtplib.SMTPServerDisconnected:
                return 0, "connection closed"
            if show:
                print(f"  {label:<32} -> {reply_text(code, msg)}")
            if code >= 400:
                return code, msg
        return code, msg

    @staticmethod
    def close(smtp):
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    # -- what to look at

    def where(self, client, refused):
        print(f"  log:     grep 'client={client} ' {_shown(self.env['log'])}")
        if refused:
            print(f"  portal:  {self.env['portal_url']}?ip={client}")

    def record(self, name, expected, got, ok):
        self.outcomes[name] = (expected, got, ok)

    # -- the cases

    def good(self):
        client = "192.0.2.10"
        print(f"\n== good: {client} (mail.good.example; SPF, DKIM and DMARC pass) ==")
        message_id = f"<demo-{time.time_ns()}@good.example>"
        body = (f"From: Alice <alice@good.example>\r\nTo: <{RCPT}>\r\n"
                f"Subject: mxgate demo: a good sender\r\nDate: {email.utils.formatdate()}\r\n"
                f"Message-ID: {message_id}\r\n\r\nHello from the demo.\r\n")
        signed = subprocess.run(["dkimsign", "demo", "good.example", DKIM_KEY],
                                input=body.encode(), capture_output=True, check=True).stdout
        smtp, refused = self.session(client, "mail.good.example")
        if refused:
            return self.refused_at_connect("good", client, refused, "250")
        code, msg = self.transaction(smtp, "alice@good.example", signed)
        self.close(smtp)
        ok = code == 250
        if ok:
            self.show_relayed(message_id)
        self.where(client, refused=not ok)
        self.record("good", "250", reply_text(code, msg), ok)

    def show_relayed(self, message_id):
        folder = self.env["sink_folder"]

        def find():
            for path in sorted(glob.glob(os.path.join(folder, "*.eml")), reverse=True):
                with open(path, "rb") as f:
                    raw = f.read()
                if message_id.encode() in raw:
                    return path, raw
            return None
        deadline = time.monotonic() + 10
        found = find()
        while found is None and time.monotonic() < deadline:
            time.sleep(0.1)
            found = find()
        if found is None:
            print(f"  relayed: not found in {folder}/ (Message-ID {message_id})")
            return
        path, raw = found
        print(f"  relayed: {_shown(path)}")
        parsed = email.message_from_bytes(raw)
        for value in parsed.get_all("Authentication-Results", []):
            print("  Authentication-Results: " + value.replace("\r\n", "\n  "))

    def no_rdns(self):
        client = "198.51.100.23"
        print(f"\n== no-rdns: {client} (no PTR, HELO name unknown, no SPF, not signed) ==")
        # rdns_missing (3) at connect, helo_mismatch (1) at EHLO: 4, under defer_at (5); at the
        # end of the data, unauthenticated (2): 6, so the message is deferred. Default scoring.
        body = (f"From: <bob@nordns.example>\r\nTo: <{RCPT}>\r\n"
                f"Subject: mxgate demo: no reverse DNS\r\nDate: {email.utils.formatdate()}\r\n"
                f"Message-ID: {email.utils.make_msgid(domain='nordns.example')}\r\n"
                f"\r\nHello.\r\n").encode()
        smtp, refused = self.session(client, "host23.nordns.example")
        if refused:
            return self.refused_at_connect("no-rdns", client, refused, "4xx")
        code, msg = self.transaction(smtp, "bob@nordns.example", body)
        self.close(smtp)
        self.where(client, refused=True)
        self.record("no-rdns", "4xx Deferred", reply_text(code, msg),
                    400 <= code < 500 and b"Deferred" in _bytes(msg))

    def listed(self):
        client = "203.0.113.66"
        print(f"\n== listed: {client} (in the demo DNSBL dnsbl.example) ==")
        # try.sh adds the list with action = "reject": a listing refuses at connect on its own,
        # as operators configure a list they trust (zen.spamhaus.org's SBL, say).
        smtp, refused = self.session(client, "mail.listed.example")
        if refused is None:
            code, msg = self.transaction(smtp, "carol@listed.example",
                                         b"Subject: listed\r\n\r\nHello.\r\n")
            self.close(smtp)
            refused = (code, msg)
        else:
            print(f"  {'connect':<32} -> {reply_text(*refused)}")
        self.where(client, refused=True)
        code, msg = refused
        self.record("listed", "554 Blocked", reply_text(code, msg),
                    code == 554 and b"Blocked" in _bytes(msg))

    def refused_at_connect(self, name, client, refused, expected):
        print(f"  {'connect':<32} -> {reply_text(*refused)}")
        self.where(client, refused=True)
        self.record(name, expected, reply_text(*refused), False)

    def flood(self):
        client = "2001:db8:b::25"
        print(f"\n== flood: {client} (new; sends up to {FLOOD_MESSAGES} messages in one "
              f"session) ==")
        smtp, refused = self.session(client, "mail.bulk.example")
        if refused:
            return self.refused_at_connect("flood", client, refused, "421 Deferred")
        accepted, last = 0, None
        for n in range(1, FLOOD_MESSAGES + 1):
            body = (f"From: <news@bulk.example>\r\nTo: <{RCPT}>\r\nSubject: flood {n}\r\n"
                    f"Date: {email.utils.formatdate()}\r\n"
                    f"Message-ID: {email.utils.make_msgid(domain='bulk.example')}\r\n"
                    f"\r\nMessage {n}.\r\n").encode()
            code, msg = self.transaction(smtp, "news@bulk.example", body, show=False)
            last = (n, code, msg)
            if code != 250:
                break
            accepted += 1
        self.close(smtp)
        n, code, msg = last
        print(f"  messages 1-{accepted}: 250 (relayed)" if accepted else
              "  no message accepted: the ramp's count for today is spent already (it lives in "
              "the store, across restarts)")
        if code != 250:
            print(f"  message {n}: MAIL FROM:<news@bulk.example> -> {reply_text(code, msg)}")
        self.where(client, refused=code != 250)
        self.record("flood", "421 Deferred", reply_text(code, msg),
                    code == 421 and b"Deferred" in _bytes(msg))

    # -- the end

    def metrics(self):
        url = f"http://{self.env['http']}/metrics"
        wanted = ("mxgate_verdicts_total", "mxgate_throttle_deferrals_total",
                  "mxgate_auth_results_total", "mxgate_dnsbl_listed_total")
        print(f"\n== metrics: curl -s {url} | grep -E '{'|'.join(wanted)}' ==")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                text = r.read().decode()
        except OSError as e:
            print(f"  {url}: {e}")
            return
        lines = [line for line in text.splitlines()
                 if line.startswith(wanted) and not line.endswith(" 0")]
        for line in lines[:30]:
            print("  " + line)

    def summary(self):
        print("\n== summary ==")
        ok_all = True
        for name, (expected, got, ok) in self.outcomes.items():
            ok_all &= ok
            print(f"  {'ok  ' if ok else 'FAIL'} {name:<9} expected {expected:<13} got {got}")
        return ok_all


def _shown(path):
    """A path as the user would type it from the repository."""
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def _bytes(msg):
    return msg if isinstance(msg, bytes) else str(msg).encode()


def main():
    parser = argparse.ArgumentParser(description="the mxgate demo (start ./deploy/try.sh first)")
    cases = ["good", "no-rdns", "listed", "flood"]
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help=f"the cases to run, of {', '.join(cases)} (default: all)")
    args = parser.parse_args()
    for case in args.cases:
        if case not in cases:
            parser.error(f"unknown case {case!r}; the cases: {', '.join(cases)}")
    args.cases = args.cases or cases
    var = os.environ.get("MXGATE_TRY_VAR", os.path.join(ROOT, "var"))
    demo = Demo(load_env(var))
    print(f"demo: sending through the PROXY listener {demo.env['proxy']} "
          f"(each client's address in a PROXY v1 line)")
    for case in args.cases:
        getattr(demo, case.replace("-", "_"))()
    demo.metrics()
    sys.exit(0 if demo.summary() else 1)


if __name__ == "__main__":
    main()
