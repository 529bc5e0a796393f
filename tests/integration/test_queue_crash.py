"""Queue mode (relay.mode = "queue") when things go wrong: the real binary with Python's smtplib
as the clients and Postfix's smtp-sink downstream.

- Crash: concurrent clients send while mxgate is killed with SIGKILL at random moments, round
  after round, and restarted on the same storage and ports. A message whose DATA got "250 2.0.0
  Ok: queued as <id>" must reach the sink after a last restart drains the queue; a message may
  arrive twice (a crash between the downstream's 250 and the queue's "done"), never zero times.
  Each message carries an X-Test-Id header to match the sink's copies with the clients' 250s.
  The seed of the random kill moments is printed (MXGATE_CRASH_SEED=<n> repeats a run).
- Disk full: the queue on a small tmpfs (mounted by the test; root only). A message that does
  not fit is answered 451 4.3.0, never 250, and the process stays up; once space is freed, new
  messages are queued again; after a crash (SIGKILL) every message answered 250, before the
  disk filled and after, is recovered and delivered; the queue opens cleanly afterwards
  (`mxgate queue stats`).
- A downstream 5xx to the end of the data (the message refused, not a recipient: that case is
  in test_queue) becomes a DSN to the sender, delivered through the same relay.
"""

import collections
import errno
import os
import random
import re
import smtplib
import sys
import tempfile
import threading
import time

from harness import MxTestCase, Sink, mxgate_bin, run_tool, wait_until

QUEUED = re.compile(r"2\.0\.0 Ok: queued as ([0-9A-F]{16})$")
TEST_ID = re.compile(rb"^X-Test-Id: (\S+)$", re.MULTILINE)
QUEUE_SETTINGS = {"relay.mode": "queue", "queue.poll_interval": "100ms", "queue.retry": ["1s"],
                  "relay.breaker_cooldown": "1s"}


def message(test_id, body=b"body\r\n"):
    return (b"From: <sender@example.org>\r\nTo: <user@example.com>\r\n"
            b"Subject: test %s\r\nX-Test-Id: %s\r\n\r\n" % (test_id.encode(), test_id.encode())
            + body)


def sink_ids(sink):
    """Counter of X-Test-Id over the complete transactions at the sink."""
    counts = collections.Counter()
    for m in sink.messages():
        if not m.raw.endswith(b"\n\n"):
            continue  # still being written
        match = TEST_ID.search(m.content)
        if match:
            counts[match.group(1).decode()] += 1
    return counts


def send_one(port, test_id, body=b"body\r\n"):
    """One message on its own connection: (code, text) of the reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.example.org")
        code, text = client.mail("sender@example.org")
        if code != 250:
            return code, text.decode(errors="replace")
        code, text = client.rcpt("user@example.com")
        if code != 250:
            return code, text.decode(errors="replace")
        code, text = client.data(message(test_id, body))
        return code, text.decode(errors="replace")


class Clients:
    """`count` threads, each sending one message after another on one connection (a new one
    after any error) until stop(). Only a DATA reply "250 2.0.0 Ok: queued as <id>" puts the
    message's test id in `accepted`; a dropped connection or a missing reply does not.
    `up` is set while mxgate runs: the test clears it before a kill and sets it once mxgate
    has started again, and a client that lost its connection waits for it."""

    def __init__(self, port, count):
        self.port = port
        self.accepted = set()
        self.sent = 0  # DATA content sent (the reply may never have come)
        self.errors = collections.Counter()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.up = threading.Event()
        self.up.set()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True)
                        for n in range(count)]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self, timeout=30):
        self.done.set()
        self.up.set()  # wakes the clients that wait for mxgate
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        if alive:
            raise AssertionError(f"client threads still running after {timeout}s: {alive}")

    def count_accepted(self):
        with self.lock:
            return len(self.accepted)

    def run(self, n):
        client = None
        seq = 0
        while not self.done.is_set():
            test_id = f"c{n}-{seq}"
            seq += 1
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
                    client.ehlo("client.example.org")
                code, text = client.mail("sender@example.org")
                if code != 250:
                    raise smtplib.SMTPResponseException(code, text)
                code, text = client.rcpt("user@example.com")
                if code != 250:
                    raise smtplib.SMTPResponseException(code, text)
                with self.lock:
                    self.sent += 1
                code, text = client.data(message(test_id))
                if code == 250 and QUEUED.match(text.decode(errors="replace")):
                    with self.lock:
                        self.accepted.add(test_id)
                else:
                    with self.lock:
                        self.errors[f"DATA {code}"] += 1
            except (smtplib.SMTPException, OSError) as e:
                with self.lock:
                    self.errors[type(e).__name__] += 1
                if client is not None:
                    try:
                        client.close()
                    except OSError:
                        pass
                    client = None
                if self.up.is_set():
                    # An error while mxgate runs (the kill may be under way): not a busy loop.
                    self.done.wait(0.05)
                else:
                    self.up.wait(60)  # mxgate is down: until it has started again
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


class QueueCrashTest(MxTestCase):

    MIN_ROUNDS = 5
    MAX_ROUNDS = 40
    MIN_ACCEPTED = 1000
    CLIENTS = 10
    SEND_BUDGET = 50  # seconds of kill rounds at most
    ACCEPTED_PER_ROUND = (20, 250)  # messages accepted before the kill, at random
    ROUND_TIMEOUT = 60
    DRAIN_TIMEOUT = 60

    def test_sigkill_at_random_moments_loses_no_accepted_message(self):
        seed = int(os.environ.get("MXGATE_CRASH_SEED") or random.randrange(1 << 32))
        rng = random.Random(seed)
        started = time.monotonic()
        sink = self.sink()
        # fsync on (the default): a 250 means the message is on disk.
        mx = self.mxgate(sink=sink, settings=QUEUE_SETTINGS)
        clients = Clients(mx.port, self.CLIENTS)
        clients.start()
        self.addCleanup(clients.stop)
        rounds = 0
        deadline = started + self.SEND_BUDGET
        for _ in range(self.MAX_ROUNDS):
            # A random moment of the round: after a random number of messages more were
            # accepted (the other clients are somewhere in their transactions then).
            target = clients.count_accepted() + rng.randint(*self.ACCEPTED_PER_ROUND)
            wait_until(lambda: clients.count_accepted() >= target, self.ROUND_TIMEOUT,
                       interval=0.01, what=f"{target} messages accepted")
            clients.up.clear()
            self.assertEqual(mx.kill(), -9)
            rounds += 1
            if rounds >= self.MIN_ROUNDS and clients.count_accepted() >= self.MIN_ACCEPTED:
                break
            if time.monotonic() > deadline:
                break
            mx.restart()
            clients.up.set()
        clients.stop()
        accepted = set(clients.accepted)
        self.assertGreaterEqual(rounds, self.MIN_ROUNDS)
        self.assertGreaterEqual(
            len(accepted), self.MIN_ACCEPTED,
            f"only {len(accepted)} messages accepted in {rounds} rounds "
            f"({clients.sent} sent; errors {dict(clients.errors)})")

        # The last start: nothing sends; the queue drains to the sink.
        mx.restart()
        try:
            wait_until(lambda: accepted <= sink_ids(sink).keys(), self.DRAIN_TIMEOUT,
                       interval=0.25, what="every accepted message at the sink")
        except AssertionError:
            missing = sorted(accepted - sink_ids(sink).keys())
            raise AssertionError(
                f"{len(missing)} of {len(accepted)} accepted messages never reached the sink "
                f"within {self.DRAIN_TIMEOUT}s (seed {seed}): {missing[:30]}") from None
        # Every delivery is over: the sink holds every copy it will get.
        mx.wait_queue_empty()
        counts = sink_ids(sink)
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        unacknowledged = sorted(set(counts) - accepted)
        self.assertEqual(sorted(accepted - counts.keys()), [])
        sys.stderr.write(
            f"\ncrash test: {len(accepted)} accepted, {len(accepted & counts.keys())} delivered "
            f"({sum(counts.values())} copies at the sink), {len(duplicates)} duplicates over "
            f"{rounds} rounds; {clients.sent} sent, {len(unacknowledged)} delivered without "
            f"a 250; client errors {dict(clients.errors)}; "
            f"{time.monotonic() - started:.1f}s, seed {seed}\n")
        if duplicates:
            sys.stderr.write(f"crash test duplicates: {duplicates[:50]}\n")


class DiskFullTest(MxTestCase):

    SIZE = "24m"
    LEAVE = 8192  # bytes left free on the tmpfs: less than one message
    BIG = b"x" * 76 + b"\r\n"  # a 78-byte body line

    def mount_tmpfs(self):
        folder = tempfile.mkdtemp(prefix="mxgate-tmpfs-")
        result = run_tool(["mount", "-t", "tmpfs", "-o", f"size={self.SIZE},mode=0755",
                           "tmpfs", folder])
        if result.returncode != 0:
            os.rmdir(folder)
            reason = (result.stderr or result.stdout).decode(errors="replace").strip()
            raise AssertionError(
                f"mount -t tmpfs failed: {reason}. This test needs a small full disk: run the "
                f"integration tests as root (or with CAP_SYS_ADMIN) so that it can mount a "
                f"tmpfs (mount, from the Debian package mount)")
        self.addCleanup(self.unmount, folder)
        return folder

    @staticmethod
    def unmount(folder):
        if run_tool(["umount", folder]).returncode != 0:
            run_tool(["umount", "-l", folder])
        try:
            os.rmdir(folder)
        except OSError:
            pass

    def fill(self, folder):
        """Writes a filler file until the tmpfs is full, then gives LEAVE bytes back."""
        path = os.path.join(folder, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            chunk = b"\0" * (1 << 20)
            written = 0
            for _ in range(1000):  # 24 MiB in 1 MiB writes; bounded all the same
                try:
                    n = os.write(fd, chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
                written += n
            else:
                raise AssertionError(f"the tmpfs at {folder} never filled up")
            os.ftruncate(fd, max(0, written - self.LEAVE))
        finally:
            os.close(fd)
        return path

    def test_a_full_disk_answers_451_and_the_queue_recovers_when_space_is_freed(self):
        folder = self.mount_tmpfs()
        port = self.reserve_port()  # the downstream is down until the end: the queue holds all
        settings = dict(QUEUE_SETTINGS)
        settings["queue.path"] = os.path.join(folder, "queue")
        mx = self.mxgate(downstream=f"127.0.0.1:{port}", settings=settings)
        accepted = []

        def send(test_id, lines=10):
            code, text = send_one(mx.port, test_id, self.BIG * lines)
            if code == 250:
                self.assertRegex(text, QUEUED)
                accepted.append(test_id)
            return code, text

        for i in range(3):
            self.assertEqual(send(f"before-{i}")[0], 250)
        wait_until(lambda: mx.log().count("outcome=deferred") >= 3, 30,
                   what="the first messages deferred (the downstream is down)")

        filler = self.fill(folder)
        # 64 KB of content does not fit into the few KB left.
        code, text = send("full-0", lines=840)
        self.assertEqual((code, text[:5]), (451, "4.3.0"), text)
        self.assertTrue(mx.alive(), "mxgate died on a full disk")
        code, text = send("full-1", lines=840)
        self.assertEqual((code, text[:5]), (451, "4.3.0"), text)
        self.assertTrue(mx.alive(), "mxgate died on a full disk")
        sys.stderr.write(f"\ndisk full: DATA answered {code} {text}\n")

        os.unlink(filler)
        # Recovery may take a moment (the store resumes after the error): the sender's retry.
        replies = []

        def queued_again():
            reply = send(f"after-{len(replies)}")
            replies.append(reply)
            return reply[0] == 250
        try:
            wait_until(queued_again, 30, interval=0.5, what="a 250 once space is freed")
        except AssertionError:
            raise AssertionError(
                f"still no 250 30s after space was freed ({len(replies)} tries, the process "
                f"{'alive' if mx.alive() else 'dead'}): the last reply {replies[-1]}") from None
        finally:
            sys.stderr.write(f"disk full, after freeing space: {replies[-1]} after "
                             f"{len(replies)} tries\n")
        for i in range(3):
            code, text = send(f"later-{i}")
            self.assertEqual(code, 250, text)
        self.assertTrue(mx.alive())

        # A crash now: every message answered 250, before the disk filled and after, is
        # recovered from the write-ahead log that had a write fail in it.
        self.assertEqual(mx.kill(), -9)
        mx.restart()
        opened = re.findall(r"queue_opened path=\S+ depth=(\d+) ", mx.log())
        self.assertEqual(opened[-1:], [str(len(accepted))], accepted)

        sink = Sink(port=port)
        sink.__enter__()
        self.addCleanup(sink.__exit__, None, None, None)
        self._peers.append(sink)
        try:
            wait_until(lambda: set(accepted) <= sink_ids(sink).keys(), 60, interval=0.2,
                       what="every accepted message at the sink")
        except AssertionError:
            raise AssertionError(f"not delivered: {sorted(set(accepted) - sink_ids(sink).keys())}"
                                 f" of {accepted}") from None
        self.assertNotIn("full-0", sink_ids(sink))
        mx.wait_queue_empty()
        self.assertTrue(mx.alive())
        self.assertEqual(mx.stop(), 0)

        stats = run_tool([mxgate_bin(), "queue", "stats", "-c", mx.config_path])
        self.assertEqual(stats.returncode, 0, stats.stdout + stats.stderr)
        self.assertEqual(stats.stdout, b"depth 0\noldest -\ndead 0\n")


class DataRefusalTest(MxTestCase):
    """test_queue bounces a recipient refused at RCPT; here the downstream refuses the message
    itself, with a 5xx reply to the end of the data."""

    def test_a_5xx_to_the_end_of_data_is_bounced_to_the_sender_through_the_same_relay(self):
        refusing = self.sink(extra_args=["-f", ".", "-B", "554 5.6.0 Content refused"])
        senders = self.sink()
        mx = self.mxgate(downstream=refusing.address, settings=QUEUE_SETTINGS, routes=[
            {"domains": ["example.com"], "downstream": [refusing.address]},
            {"domains": ["example.org"], "downstream": [senders.address]}])
        code, text = send_one(mx.port, "refused-0")
        self.assertEqual(code, 250, text)
        queued = QUEUED.match(text).group(1)
        (dsn,) = senders.wait_for_messages(1, timeout=60)
        self.assertEqual(dsn.mail_from, "<>")
        self.assertEqual(dsn.rcpts, ["<sender@example.org>"])
        content = dsn.content.decode()
        self.assertIn("Content-Type: multipart/report; report-type=delivery-status;", content)
        self.assertIn("Final-Recipient: rfc822; user@example.com\nAction: failed\nStatus: 5.6.0\n"
                      "Diagnostic-Code: smtp; 554 5.6.0 Content refused", content)
        self.assertIn(f"X-Mxgate-Queue-ID: {queued}", content)
        self.assertIn("X-Test-Id: refused-0", content, "the original header is attached")
        wait_until(lambda: mx.log().count("outcome=done") >= 2, 30,
                   what="the message and its DSN done")
        self.assertEqual(mx.metric("mxgate_queue_dsns_total"), 1)
        self.assertEqual(mx.metric('mxgate_queue_deliveries_total{result="done"}'), 2)
        self.assertEqual(mx.metric('mxgate_queue_deliveries_total{result="deferred"}'), 0,
                         "a refusal for good is not retried")
