"""Self-check of milter_peers.py without mxgate: a minimal milter client (the MTA side of the
milter protocol v6) drives Rspamd and the test milter through a whole message and checks what
they answer. Not a CTest test: run it by hand after changing a peer,

    cd tests/integration && python3 milter_peers_check.py [-v]

and it prints one line per case with the response packets it got (-v: every packet).

The client also documents what each peer answers. A packet is a 4-byte big-endian length of
(command byte + data), the command byte, the data; strings end with NUL. The client offers
version 6, actions 0x1ff and the protocol flags given (default 0: the milter may not skip a
stage nor leave a reply out), then sends the stages the milter did not turn off (SMFIP_NO*)
and waits for a reply where it did not say it sends none (SMFIP_NR_*).
"""

import argparse
import hashlib
import socket
import struct
import sys
import time

from milter_peers import (GTUBE, GTUBE_ADD_HEADER, GTUBE_NO_ACTION, GTUBE_REWRITE_SUBJECT,
                          RSPAMD_HEADERS, RSPAMD_SUBJECT, Rspamd, TestMilter)

# Protocol flags (libmilter's mfapi.h SMFIP_*)
SMFIP = {
    "NOCONNECT": 0x1, "NOHELO": 0x2, "NOMAIL": 0x4, "NORCPT": 0x8, "NOBODY": 0x10,
    "NOHDRS": 0x20, "NOEOH": 0x40, "NR_HDR": 0x80, "NOUNKNOWN": 0x100, "NODATA": 0x200,
    "SKIP": 0x400, "RCPT_REJ": 0x800, "NR_CONN": 0x1000, "NR_HELO": 0x2000,
    "NR_MAIL": 0x4000, "NR_RCPT": 0x8000, "NR_DATA": 0x10000, "NR_UNKN": 0x20000,
    "NR_EOH": 0x40000, "NR_BODY": 0x80000, "HDR_LEADSPC": 0x100000, "MDS_256K": 0x10000000,
    "MDS_1M": 0x20000000,
}
# Actions (SMFIF_*)
SMFIF = {"ADDHDRS": 0x1, "CHGBODY": 0x2, "ADDRCPT": 0x4, "DELRCPT": 0x8, "CHGHDRS": 0x10,
         "QUARANTINE": 0x20, "CHGFROM": 0x40, "ADDRCPT_PAR": 0x80, "SETSYMLIST": 0x100}
# What Postfix 3.7 offers (all stages may be skipped or left without a reply).
POSTFIX_PROTOCOL = 0x1fffff
# stage -> (command, the SMFIP_NO* flag that turns it off, the SMFIP_NR_* flag: no reply)
STAGES = {
    "connect": (b"C", "NOCONNECT", "NR_CONN"), "helo": (b"H", "NOHELO", "NR_HELO"),
    "mail": (b"M", "NOMAIL", "NR_MAIL"), "rcpt": (b"R", "NORCPT", "NR_RCPT"),
    "data": (b"T", "NODATA", "NR_DATA"), "header": (b"L", "NOHDRS", "NR_HDR"),
    "eoh": (b"N", "NOEOH", "NR_EOH"), "body": (b"B", "NOBODY", "NR_BODY"),
    "eom": (b"E", None, None),
}
# Replies that end a stage; the others ('h', 'i', 'm', 'b', 'q', '+', '-', 'e', '2', 'p') are
# modifications (end of message only) or progress.
VERDICTS = set(b"acrtdys")
BODY_CHUNK = 65535
GTUBE_MESSAGE = ("From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: gtube\r\n"
                 "Message-ID: <gtube-1@example.org>\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
                 "\r\nThis is the GTUBE, the Generic Test for Unsolicited Bulk Email:\r\n\r\n"
                 f"{GTUBE}\r\n")
CLEAN_MESSAGE = ("From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: hello\r\n"
                 "Message-ID: <clean-1@example.org>\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
                 "X-Spam: yes\r\n"
                 "\r\nHello,\r\n\r\njust a few words about the meeting tomorrow at ten.\r\n"
                 "See you there.\r\n")


def packet(command, data=b""):
    return struct.pack(">I", len(data) + 1) + command + data


def cstr(text):
    return (text.encode() if isinstance(text, str) else text) + b"\0"


def show(cmd, data):
    """A packet as the report shows it: 'h' b'X-Spam-Status\\x00No, score=0.00\\x00'."""
    return f"{chr(cmd)!r} {data!r}"


class MilterClient:
    """One milter connection, synchronous, every read bounded by `timeout` seconds."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.protocol = 0
        self.log = []  # ("->" or "<-", text)

    def close(self):
        self.sock.close()

    def send(self, command, data=b""):
        self.log.append(("->", show(command[0], data)))
        self.sock.sendall(packet(command, data))

    def read(self, timeout=None):
        """The next response packet (cmd int, data bytes); raises TimeoutError, EOFError."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 4:
                (length,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) >= 4 + length:
                    cmd, data = self.buf[4], self.buf[5:4 + length]
                    self.buf = self.buf[4 + length:]
                    self.log.append(("<-", show(cmd, data)))
                    return cmd, data
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the milter closed the connection")
            self.buf += chunk

    def negotiate(self, version=6, actions=0x1ff, protocol=0):
        """OPTNEG; returns (version, actions, protocol, {stage index: macro names})."""
        self.send(b"O", struct.pack(">III", version, actions, protocol))
        cmd, data = self.read()
        if cmd != ord("O"):
            raise AssertionError(f"expected 'O' to OPTNEG, got {show(cmd, data)}")
        v, a, p = struct.unpack(">III", data[:12])
        macros = {}
        rest = data[12:]
        while len(rest) >= 4:
            (stage,) = struct.unpack(">I", rest[:4])
            names, _, rest = rest[4:].partition(b"\0")
            macros[stage] = names.decode()
        self.protocol = p
        return v, a, p, macros

    def stage(self, name, data=b"", macros=None, timeout=None):
        """Sends one stage (its macros first); returns the replies up to a verdict ([] when the
        milter turned the stage off or sends no reply for it)."""
        command, off, noreply = STAGES[name]
        if off and self.protocol & SMFIP[off]:
            return []
        if macros:
            self.send(b"D", command + b"".join(cstr(k) + cstr(v) for k, v in macros.items()))
        self.send(command, data)
        if noreply and self.protocol & SMFIP[noreply]:
            return []
        replies = []
        while True:
            cmd, data = self.read(timeout)
            if cmd == ord("p"):
                continue  # progress: the milter is still working
            replies.append((cmd, data))
            if cmd in VERDICTS:
                return replies


def message_stages(content):
    """(headers [(name, value)], body bytes) of a CRLF message."""
    head, _, body = content.encode().partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            headers.append((name, value.lstrip(b" ")))
    return headers, body


def transaction(client, content, timeout=None, stop_at_verdict=True):
    """Drives one connection through a whole message; returns [(stage, replies)] up to the
    first stage whose verdict is not 'c' (continue)."""
    out = []

    def step(name, data=b"", macros=None):
        replies = client.stage(name, data, macros, timeout)
        out.append((name, replies))
        final = replies[-1][0] if replies else ord("c")
        return final == ord("c") or not stop_at_verdict

    connect = cstr("client.example.org") + b"4" + struct.pack(">H", 40000) + cstr("192.0.2.10")
    if not step("connect", connect, {"j": "mx.test.example", "{daemon_name}": "mxgate",
                                     "{client_addr}": "192.0.2.10", "{client_port}": "40000",
                                     "{client_name}": "client.example.org"}):
        return out
    if not step("helo", cstr("client.example.org")):
        return out
    if not step("mail", cstr("<sender@example.org>") + cstr("SIZE=1000"),
                {"{mail_addr}": "sender@example.org", "i": "4AbCdEf123"}):
        return out
    if not step("rcpt", cstr("<rcpt@example.com>"), {"{rcpt_addr}": "rcpt@example.com"}):
        return out
    if not step("data", b"", {"i": "4AbCdEf123"}):
        return out
    headers, body = message_stages(content)
    for name, value in headers:
        if not step("header", cstr(name) + cstr(value)):
            return out
    if not step("eoh"):
        return out
    for i in range(0, len(body), BODY_CHUNK):
        if not step("body", body[i:i + BODY_CHUNK]):
            return out
    step("eom", b"", {"i": "4AbCdEf123"})
    return out


class Check:
    def __init__(self, verbose):
        self.verbose = verbose
        self.failures = []
        self.lines = []

    def report(self, case, ok, detail, client=None):
        self.lines.append(f"{'ok  ' if ok else 'FAIL'} {case}: {detail}")
        print(self.lines[-1], flush=True)
        if not ok:
            self.failures.append(case)
        if client is not None and (self.verbose or not ok):
            for direction, text in client.log:
                print(f"       {direction} {text}")


def replies_of(result, stage):
    return next((r for s, r in result if s == stage), None)


def describe(result):
    return "; ".join(f"{s}: {' '.join(show(c, d) for c, d in r) or '-'}" for s, r in result
                     if r or s in ("connect", "eom"))


def check_rspamd(check, protocol):
    with Rspamd() as rspamd:
        check.report(f"rspamd up (protocol offered {protocol:#x})", True, rspamd.address)
        # GTUBE: a reject at the end of the message.
        client = MilterClient(rspamd.port)
        v, a, p, macros = client.negotiate(protocol=protocol)
        check.report("rspamd optneg", v == 6 and p == 0xff080 and not macros,
                     f"version {v}, actions {a:#x}, protocol {p:#x}, macros {macros}")
        result = transaction(client, GTUBE_MESSAGE)
        eom = replies_of(result, "eom") or []
        rejected = eom == [(ord("y"), b"554 5.7.1 Gtube pattern\0")]
        check.report("rspamd GTUBE rejected", rejected, describe(result), client)
        # QUIT_NC ('K'): the next message on the same connection, without a new OPTNEG.
        client.send(b"K")
        try:
            result = transaction(client, CLEAN_MESSAGE, timeout=5)
            eom = replies_of(result, "eom") or []
            check.report("rspamd keeps the connection after QUIT_NC 'K'",
                         eom[-1:] == [(ord("a"), b"")], describe(result), client)
        except (EOFError, OSError) as e:
            check.report("rspamd keeps the connection after QUIT_NC 'K'", False,
                         f"closed the connection ({e})", client)
        client.close()

        # A clean message on a new connection: headers added, then accept.
        client = MilterClient(rspamd.port)
        client.negotiate(protocol=protocol)
        result = transaction(client, CLEAN_MESSAGE)
        eom = replies_of(result, "eom") or []
        added = {d.split(b"\0")[0].decode().lower() for c, d in eom if c == ord("h")}
        ok = (bool(eom) and eom[-1] == (ord("a"), b"") and added == set(RSPAMD_HEADERS)
              and (ord("m"), struct.pack(">I", 1) + b"X-Spam\0\0") in eom)
        check.report("rspamd clean message gets headers", ok, describe(result), client)
        # QUIT: Rspamd closes its side.
        client.send(b"Q")
        try:
            closed = f"answered {show(*client.read(timeout=5))}"
        except EOFError:
            closed = "closed the connection"
        check.report("rspamd QUIT 'Q'", closed == "closed the connection", closed)
        client.close()

        # Rspamd's test patterns: the other actions.
        subject = RSPAMD_SUBJECT.replace("%s", "gtube").encode()
        for case, pattern, want in [
                ("add_header", GTUBE_ADD_HEADER,
                 [(ord("m"), struct.pack(">I", 1) + b"X-Spam\0Yes\0"), (ord("a"), b"")]),
                ("rewrite_subject", GTUBE_REWRITE_SUBJECT,
                 [(ord("m"), struct.pack(">I", 1) + b"Subject\0" + subject + b"\0"),
                  (ord("a"), b"")]),
                ("no action", GTUBE_NO_ACTION, [(ord("a"), b"")])]:
            client = MilterClient(rspamd.port)
            client.negotiate(protocol=protocol)
            result = transaction(client, GTUBE_MESSAGE.replace(GTUBE, pattern))
            check.report(f"rspamd test pattern {case}", replies_of(result, "eom") == want,
                         describe(result), client)
            client.close()

        # An MTA that ignores the SMFIP_NR_* flags Rspamd set waits for ever at connect.
        client = MilterClient(rspamd.port)
        client.negotiate(protocol=protocol)
        client.protocol = 0
        try:
            client.stage("connect", cstr("h") + b"4" + struct.pack(">H", 1) + cstr("192.0.2.1"),
                         timeout=2)
            check.report("rspamd sends no reply to 'C'", False, "it did", client)
        except TimeoutError:
            check.report("rspamd sends no reply to 'C'", True, "none within 2 s")
        client.close()

        # Actions: offered none, Rspamd still modifies (and says actions 0x3f).
        client = MilterClient(rspamd.port)
        v, a, p, macros = client.negotiate(actions=0, protocol=protocol)
        result = transaction(client, CLEAN_MESSAGE)
        eom = replies_of(result, "eom") or []
        check.report("rspamd offered actions 0", True,
                     f"answers actions {a:#x}; eom: {' '.join(show(c, d) for c, d in eom)}")
        client.close()
        if check.verbose:
            print(rspamd.log()[-3000:])

    for option, want in [("discard_on_reject = true;", [(ord("d"), b"")]),
                         ("quarantine_on_reject = true;",
                          [(ord("q"), b"Spam message quarantined\0"), (ord("a"), b"")])]:
        with Rspamd(worker_options=[option]) as rspamd:
            client = MilterClient(rspamd.port)
            client.negotiate(protocol=protocol)
            result = transaction(client, GTUBE_MESSAGE)
            check.report(f"rspamd {option} GTUBE", replies_of(result, "eom") == want,
                         describe(result), client)
            client.close()


def expect_eom(check, case, options, want, protocol=0):
    """Runs a clean message through a TestMilter with `options`; `want(eom replies)` says
    whether the end-of-message replies are right."""
    with TestMilter(options) as milter:
        client = MilterClient(milter.port)
        client.negotiate(protocol=protocol)
        result = transaction(client, CLEAN_MESSAGE)
        eom = replies_of(result, "eom") or []
        check.report(case, want(eom), describe(result), client)
        client.send(b"Q")
        client.close()
        return milter.records()


def check_test_milter(check, protocol):
    with TestMilter() as milter:
        client = MilterClient(milter.port)
        v, a, p, macros = client.negotiate(protocol=protocol)
        check.report(f"test milter optneg (protocol offered {protocol:#x})", v == 6,
                     f"version {v}, actions {a:#x}, protocol {p:#x}, macros {macros}")
        result = transaction(client, CLEAN_MESSAGE)
        client.send(b"Q")
        client.close()
        eom = replies_of(result, "eom") or []
        check.report("test milter default accepts", eom == [(ord("a"), b"")], describe(result))
        records = milter.wait_for_record(lambda r: r["stage"] == "close") and milter.records()
        stages = [r["stage"] for r in records]
        _, body = message_stages(CLEAN_MESSAGE)
        eom_rec = next(r for r in records if r["stage"] == "eom")
        connect_rec = next(r for r in records if r["stage"] == "connect")
        ok = (eom_rec["body_sha256"] == hashlib.sha256(body).hexdigest()
              and eom_rec["body_length"] == len(body)
              and connect_rec["address"] == ["192.0.2.10", 40000]
              and connect_rec["macros"].get("{daemon_name}") == "mxgate"
              and eom_rec["macros"].get("i") == "4AbCdEf123")
        check.report("test milter records what it saw", ok, f"stages {stages}; connect "
                     f"{connect_rec}; eom {eom_rec}")

    with TestMilter(["--symlist", "connect:{client_addr},j", "--symlist", "eom:i"]) as milter:
        client = MilterClient(milter.port)
        v, a, p, macros = client.negotiate(protocol=protocol)
        check.report("test milter --symlist", macros == {0: "{client_addr} j", 5: "i"},
                     f"optneg reply {client.log[1][1]}", client)
        client.close()

    with TestMilter(["--delay", "rcpt:1.5"]) as milter:
        client = MilterClient(milter.port)
        client.negotiate(protocol=protocol)
        started = time.monotonic()
        result = transaction(client, CLEAN_MESSAGE, timeout=10)
        took = time.monotonic() - started
        check.report("test milter --delay rcpt:1.5", 1.5 <= took < 10 and
                     replies_of(result, "eom") == [(ord("a"), b"")], f"{took:.1f} s", client)
        client.close()

    expect_eom(check, "add header", ["--add-header", "X-Test:added"],
               lambda r: (ord("h"), b"X-Test\0added\0") in r and r[-1][0] == ord("a"))
    expect_eom(check, "change header", ["--change-header", "Subject:1:changed"],
               lambda r: (ord("m"), struct.pack(">I", 1) + b"Subject\0changed\0") in r)
    expect_eom(check, "delete header", ["--delete-header", "X-Spam"],
               lambda r: (ord("m"), struct.pack(">I", 1) + b"X-Spam\0\0") in r)
    expect_eom(check, "replace body", ["--replace-body", "new body\\n"],
               lambda r: (ord("b"), b"new body\r\n") in r)
    expect_eom(check, "quarantine", ["--quarantine", "held for review"],
               lambda r: (ord("q"), b"held for review\0") in r)
    expect_eom(check, "discard", ["--discard"], lambda r: r[-1:] == [(ord("d"), b"")])
    expect_eom(check, "tempfail", ["--tempfail"], lambda r: r[-1:] == [(ord("t"), b"")])
    expect_eom(check, "reject with reply", ["--reject", "550 5.7.1 no thanks"],
               lambda r: r[-1:] == [(ord("y"), b"550 5.7.1 no thanks\0")])

    for stage in ("connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body"):
        with TestMilter(["--reject", "554 5.7.1 not at " + stage, "--reject-at", stage]) as m:
            client = MilterClient(m.port)
            client.negotiate(protocol=protocol)
            result = transaction(client, CLEAN_MESSAGE)
            last_stage, replies = result[-1]
            ok = (last_stage == stage
                  and replies[-1:] == [(ord("y"), f"554 5.7.1 not at {stage}\0".encode())])
            check.report(f"reject at {stage}", ok, describe(result[-1:]), client)
            client.close()

    for stage in ("connect", "helo", "mail", "rcpt", "header", "eoh", "body", "eom"):
        with TestMilter(["--hang-at", stage]) as m:
            client = MilterClient(m.port)
            client.negotiate(protocol=protocol)
            started = time.monotonic()
            try:
                result = transaction(client, CLEAN_MESSAGE, timeout=2)
                check.report(f"hang at {stage}", False, f"answered: {describe(result)}")
            except TimeoutError:
                check.report(f"hang at {stage}", True,
                             f"no answer in {time.monotonic() - started:.1f} s")
            client.close()
            # stop() must not wait for the sleeping callback.
            started = time.monotonic()
        check.report(f"hang at {stage}: stopped", time.monotonic() - started < 15,
                     f"in {time.monotonic() - started:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--only", choices=["rspamd", "milter"])
    args = parser.parse_args()
    check = Check(args.verbose)
    for protocol in (0, POSTFIX_PROTOCOL):
        if args.only in (None, "rspamd"):
            check_rspamd(check, protocol)
        if args.only in (None, "milter"):
            check_test_milter(check, protocol)
    print(f"\n{len(check.lines) - len(check.failures)} ok, {len(check.failures)} failed"
          + (f": {', '.join(check.failures)}" if check.failures else ""))
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
