#!/usr/bin/env python3
"""The try-mode downstream: a small SMTP server that stands in for the mailbox servers behind
mxgate (deploy/try.sh starts it on the address of conf/mxgate.toml's [[route]]). It accepts
every message and writes each to DIR/<time>-<n>.eml: the envelope as X-Sink-* lines, then the
content exactly as relayed (mxgate's Received and Authentication-Results fields on top).

Python's standard library only, so trying mxgate needs no MTA package. (The tests use
Postfix's smtp-sink; this one is not meant for load.)

    deploy/demo/sink.py 127.0.0.1:2526 var/sink
"""

import argparse
import itertools
import os
import signal
import socketserver
import sys
import time

MAX_LINE = 8192
MAX_MESSAGE = 64 * 1024 * 1024
_counter = itertools.count(1)


class Session(socketserver.StreamRequestHandler):
    """One SMTP session (RFC 5321): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Commands are
    answered one by one in order, which is all PIPELINING asks of a server."""

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reset()
        self.reply(f"220 {self.server.name} ESMTP mxgate-try-sink")
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            verb, _, arg = line.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            self.command(verb, arg)

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    def command(self, verb, arg):
        if verb == "EHLO":
            self.reply(f"250-{self.server.name}\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                       f"250-SMTPUTF8\r\n250-SIZE {MAX_MESSAGE}\r\n250 ENHANCEDSTATUSCODES")
        elif verb == "HELO":
            self.reply(f"250 {self.server.name}")
        elif verb == "MAIL":
            self.reset()
            self.mail_from = arg[5:] if arg.upper().startswith("FROM:") else arg
            self.reply("250 2.1.0 Ok")
        elif verb == "RCPT":
            self.rcpts.append(arg[3:] if arg.upper().startswith("TO:") else arg)
            self.reply("250 2.1.5 Ok")
        elif verb == "DATA":
            if self.mail_from is None or not self.rcpts:
                self.reply("503 5.5.1 MAIL and RCPT first")
                return
            self.reply("354 End data with <CR><LF>.<CR><LF>")
            self.data()
        elif verb in ("RSET", "NOOP"):
            if verb == "RSET":
                self.reset()
            self.reply("250 2.0.0 Ok")
        else:
            self.reply("502 5.5.2 Command not implemented")

    def data(self):
        lines = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return  # the client went away: nothing was accepted
            if line in (b".\r\n", b".\n"):
                break
            if line.startswith(b"."):
                line = line[1:]  # transparency (RFC 5321 §4.5.2)
            size += len(line)
            if size <= MAX_MESSAGE:
                lines.append(line)
        if size > MAX_MESSAGE:
            self.reply("552 5.3.4 Message too big")
        else:
            name = self.store(b"".join(lines))
            self.reply(f"250 2.0.0 Ok: stored {name}")
        self.reset()

    def store(self, content):
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_counter):06d}.eml"
        head = f"X-Sink-Mail-From: {self.mail_from}\r\n" + "".join(
            f"X-Sink-Rcpt-To: {r}\r\n" for r in self.rcpts)
        path = os.path.join(self.server.folder, name)
        # Written aside, then renamed: a file in the folder is always a whole message.
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode() + content)
        os.replace(path + ".tmp", path)
        print(f"sink: stored {path} from={self.mail_from} rcpts={','.join(self.rcpts)}",
              flush=True)
        return name


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="host:port to listen on, e.g. 127.0.0.1:2526")
    parser.add_argument("folder", help="where each message is written")
    args = parser.parse_args()
    host, _, port = args.address.rpartition(":")
    os.makedirs(args.folder, exist_ok=True)
    server = Server((host.strip("[]"), int(port)), Session)
    server.folder = args.folder
    server.name = "sink.try.example"
    # SIGTERM from deploy/try.sh ends it like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"sink: listening on {args.address}, messages in {args.folder}/", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
