"""A test milter (the filter side of the Sendmail/Postfix milter protocol v6) for mxgate's
milter client, written with pymilter (Debian's python3-milter; run it with /usr/bin/python3).

Started by milter_peers.TestMilter, one process per test, on inet:PORT@127.0.0.1. What it does
to every message is chosen by options; with none it continues at every stage and accepts at
the end of the message.

    --record PATH                 what it saw, one JSON object a line (see below)
    --add-header NAME:VALUE       at end of message, add a header (repeatable)
    --change-header NAME:INDEX:VALUE   change the INDEX-th (1-based) NAME header; an empty
                                  VALUE deletes it (repeatable)
    --delete-header NAME          delete the first NAME header (repeatable)
    --replace-body TEXT           replace the body with TEXT (\\n in TEXT: CRLF)
    --quarantine REASON           at end of message, quarantine with REASON
    --discard | --tempfail | --reject "550 5.7.1 text"
                                  the verdict at --reject-at (default: end of message)
    --reject-at STAGE             stage of the verdict above
    --hang-at STAGE               never answer at STAGE (waits until it is stopped)
    --eom-continue                answer "continue" rather than "accept" at the end of message
                                  (the state from which libmilter takes QUIT_NC)
    --symlist STAGE:NAME,NAME     ask the MTA for these macros at STAGE (setsymlist; repeatable)
STAGE is one of connect, helo, mail, rcpt, data, header, eoh, body, eom.

Record lines, in the order of the callbacks of one connection (`conn` numbers connections):
    {"conn": 1, "stage": "negotiate", "actions": A, "protocol": P}
        the actions the MTA offered; the protocol flags libmilter lets the milter choose from
        (the MTA's offer and the flags libmilter emulates itself)
    {"conn": 1, "stage": "connect", "hostname": H, "family": F, "address": [ip, port] or path,
     "macros": {...}}
    {"conn": 1, "stage": "helo", "helo": H, "macros": {...}}
    {"conn": 1, "stage": "mail", "args": ["<a@b>", "SIZE=10"], "macros": {...}}
    {"conn": 1, "stage": "rcpt", "args": [...], "macros": {...}}
    {"conn": 1, "stage": "data", "macros": {...}}
    {"conn": 1, "stage": "header", "name": N, "value": V}
    {"conn": 1, "stage": "eoh", "macros": {...}}
    {"conn": 1, "stage": "body", "length": L}                         one per chunk
    {"conn": 1, "stage": "eom", "body_length": L, "body_sha256": S, "macros": {...}}
    {"conn": 1, "stage": "abort"}, {"conn": 1, "stage": "close"}
`macros` holds those of MACRO_NAMES that the MTA defined (libmilter can only be asked for a
macro by name; names outside the list are not seen).
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import threading

import Milter

STAGES = ["connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body", "eom"]
# libmilter's macro stage indexes for setsymlist
SYMLIST_STAGES = {"connect": Milter.M_CONNECT, "helo": Milter.M_HELO, "mail": Milter.M_ENVFROM,
                  "rcpt": Milter.M_ENVRCPT, "data": Milter.M_DATA, "eoh": Milter.M_EOH,
                  "eom": Milter.M_EOM}
# Set by nothing: a hanging callback waits on it until the process is stopped.
NEVER = threading.Event()
MACRO_NAMES = [
    "j", "_", "i", "v", "{daemon_name}", "{daemon_addr}", "{daemon_port}", "{if_name}",
    "{if_addr}", "{client_addr}", "{client_port}", "{client_name}", "{client_ptr}",
    "{client_resolve}", "{client_connections}", "{tls_version}", "{cipher}", "{cipher_bits}",
    "{cert_subject}", "{cert_issuer}", "{auth_type}", "{auth_authen}", "{auth_author}",
    "{auth_ssf}", "{mail_mailer}", "{mail_host}", "{mail_addr}", "{rcpt_mailer}",
    "{rcpt_host}", "{rcpt_addr}", "{msg_id}", "{nrcpts}"]


class Behaviour:
    """The parsed options, shared by every connection."""

    def __init__(self, args):
        self.add_headers = [split_n(v, 2, "--add-header") for v in args.add_header]
        self.change_headers = []
        for v in args.change_header:
            name, index, value = split_n(v, 3, "--change-header")
            self.change_headers.append((name, int(index), value))
        self.delete_headers = list(args.delete_header)
        self.replace_body = (None if args.replace_body is None
                             else args.replace_body.replace("\\n", "\r\n").encode())
        self.quarantine = args.quarantine
        self.hang_at = args.hang_at
        self.eom_continue = args.eom_continue
        self.verdict = None  # (kind, reply text or None)
        if args.reject is not None:
            self.verdict = ("reject", args.reject)
        elif args.tempfail:
            self.verdict = ("tempfail", None)
        elif args.discard:
            self.verdict = ("discard", None)
        self.verdict_at = args.reject_at or "eom"
        self.symlists = {}
        for v in args.symlist:
            stage, names = split_n(v, 2, "--symlist")
            self.symlists[SYMLIST_STAGES[stage]] = names.split(",")
        self.record_path = args.record
        self._record_lock = threading.Lock()

    def record(self, entry):
        if not self.record_path:
            return
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._record_lock, open(self.record_path, "a") as f:
            f.write(line)


def split_n(value, n, option):
    parts = value.split(":", n - 1)
    if len(parts) != n:
        raise SystemExit(f"{option} wants {n} fields separated by ':', got {value!r}")
    return parts


BEHAVIOUR = None
_CONNECTIONS = [0]
_CONNECTIONS_LOCK = threading.Lock()


class TestMilter(Milter.Base):
    """One connection from the MTA."""

    def __init__(self):
        with _CONNECTIONS_LOCK:
            _CONNECTIONS[0] += 1
            self.conn = _CONNECTIONS[0]
        self.body_hash = hashlib.sha256()
        self.body_length = 0

    def negotiate(self, opts):
        BEHAVIOUR.record({"conn": self.conn, "stage": "negotiate", "actions": opts[0],
                          "protocol": opts[1]})
        for stage, names in BEHAVIOUR.symlists.items():
            # Milter.Base.setsymlist hands bytes to a C function that wants str (pymilter
            # 1.0.5 under Python 3): call the context directly.
            self._ctx.setsymlist(stage, " ".join(names))
        return super().negotiate(opts)

    def _macros(self):
        out = {}
        for name in MACRO_NAMES:
            value = self.getsymval(name)
            if value is not None:
                out[name] = value
        return out

    def _stage(self, stage, entry, with_macros=True):
        """Records the stage and returns its verdict."""
        entry = dict(entry, conn=self.conn, stage=stage)
        if with_macros:
            entry["macros"] = self._macros()
        BEHAVIOUR.record(entry)
        if BEHAVIOUR.hang_at == stage:
            NEVER.wait()
        if BEHAVIOUR.verdict and BEHAVIOUR.verdict_at == stage:
            kind, text = BEHAVIOUR.verdict
            if kind == "reject":
                if text:
                    code, _, rest = text.partition(" ")
                    xcode, _, msg = rest.partition(" ")
                    if not (xcode[:1].isdigit() and "." in xcode):
                        xcode, msg = None, rest
                    self.setreply(code, xcode, msg)
                return Milter.REJECT
            return Milter.TEMPFAIL if kind == "tempfail" else Milter.DISCARD
        return Milter.CONTINUE

    def connect(self, hostname, family, hostaddr):
        address = list(hostaddr) if isinstance(hostaddr, tuple) else hostaddr
        fam = {1: "unix", 2: "inet", 10: "inet6"}.get(family, family)
        return self._stage("connect", {"hostname": hostname, "family": fam,
                                       "address": address})

    def hello(self, hostname):
        return self._stage("helo", {"helo": hostname})

    def envfrom(self, mailfrom, *params):
        self.body_hash = hashlib.sha256()
        self.body_length = 0
        return self._stage("mail", {"args": [mailfrom, *params]})

    def envrcpt(self, to, *params):
        return self._stage("rcpt", {"args": [to, *params]})

    def data(self):
        return self._stage("data", {})

    @Milter.decode("bytes")
    def header(self, name, value):
        return self._stage("header", {"name": name, "value": value.decode(errors="replace")},
                           with_macros=False)

    def eoh(self):
        return self._stage("eoh", {})

    def body(self, chunk):
        self.body_hash.update(chunk)
        self.body_length += len(chunk)
        return self._stage("body", {"length": len(chunk)}, with_macros=False)

    def eom(self):
        for name, value in BEHAVIOUR.add_headers:
            self.addheader(name, value)
        for name, index, value in BEHAVIOUR.change_headers:
            self.chgheader(name, index, value)
        for name in BEHAVIOUR.delete_headers:
            self.chgheader(name, 1, "")
        if BEHAVIOUR.replace_body is not None:
            self.replacebody(BEHAVIOUR.replace_body)
        if BEHAVIOUR.quarantine:
            self.quarantine(BEHAVIOUR.quarantine)
        verdict = self._stage("eom", {"body_length": self.body_length,
                                      "body_sha256": self.body_hash.hexdigest()})
        if verdict == Milter.CONTINUE and not BEHAVIOUR.eom_continue:
            return Milter.ACCEPT
        return verdict

    def abort(self):
        BEHAVIOUR.record({"conn": self.conn, "stage": "abort"})
        return Milter.CONTINUE

    def close(self):
        BEHAVIOUR.record({"conn": self.conn, "stage": "close"})
        return Milter.CONTINUE


def main():
    global BEHAVIOUR
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record")
    parser.add_argument("--add-header", action="append", default=[])
    parser.add_argument("--change-header", action="append", default=[])
    parser.add_argument("--delete-header", action="append", default=[])
    parser.add_argument("--replace-body")
    parser.add_argument("--quarantine")
    verdict = parser.add_mutually_exclusive_group()
    verdict.add_argument("--reject")
    verdict.add_argument("--tempfail", action="store_true")
    verdict.add_argument("--discard", action="store_true")
    parser.add_argument("--reject-at", choices=STAGES)
    parser.add_argument("--hang-at", choices=STAGES)
    parser.add_argument("--symlist", action="append", default=[])
    parser.add_argument("--eom-continue", action="store_true")
    args = parser.parse_args()
    BEHAVIOUR = Behaviour(args)

    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.QUARANTINE |
                     Milter.SETSYMLIST)
    # libmilter notices SIGTERM only every 5 s (MI_CHK_TIME) and then waits for its
    # connections, one of which may be hanging on purpose: the main thread takes SIGTERM
    # itself (libmilter blocks it only in its own threads) and exits at once. Every record is
    # written whole as it happens, so nothing is lost.
    signal.signal(signal.SIGTERM, lambda signum, frame: stop("SIGTERM"))
    signal.signal(signal.SIGINT, lambda signum, frame: stop("SIGINT"))
    failed = []
    runner = threading.Thread(target=run, args=(args.port, failed), daemon=True)
    runner.start()
    while runner.is_alive():
        runner.join(1)
    stop("libmilter stopped", 1 if failed else 0)


def run(port, failed):
    print(f"milter_server: starting on inet:{port}@127.0.0.1", flush=True)
    try:
        Milter.runmilter("mxgate-test-milter", f"inet:{port}@127.0.0.1", 600)
    except Milter.error as e:
        failed.append(e)
        # libmilter tells syslog why; the harness looks for "in use" to pick another port.
        print(f"milter_server: {e}{port_in_use(port)}", flush=True)


def port_in_use(port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as e:
            return f" (127.0.0.1:{port}: {e.strerror}, address in use)"
    return ""


def stop(why, status=0):
    print(f"milter_server: stopped ({why})", flush=True)
    # os._exit: a connection hanging in a callback would keep the interpreter from exiting.
    os._exit(status)


if __name__ == "__main__":
    main()
