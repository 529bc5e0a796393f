"""Fleet mode (issue 19), end to end: three mxgate processes share their decisions through a
real redis-server (and redis-sentinel with a replica for the fail-over), all on loopback. What
a postmaster sees: a block set on one node refuses on the others within a second, a delisting
approved on one node clears it everywhere, limits and a new sender's ramp hold fleet-wide,
every node's history counters are the fleet's sums, nodes keep serving from their own state while Redis
is gone or stalled and catch up when it is back, `mxgate fleet status`, /readyz and the
mxgate_fleet_* metrics."""

import os
import subprocess
import time
import unittest
import urllib.parse

from fleet_peers import RedisSentinel, RedisServer
from harness import (MxTestCase, SmtpClient, module_tempdir, mxgate_bin, run_tool,
                     wait_until)
from test_portal import fetch

URL = "https://postmaster.example.net/postmaster/"


class FleetTest(MxTestCase):

    def peer(self, peer):
        peer.__enter__()
        self.addCleanup(peer.__exit__, None, None, None)
        return peer

    def nodes(self, count=3, redis=None, sentinels=None, extra_tables=(), **settings):
        sink = self.sink()
        fleet = {"fleet.enabled": True, "fleet.flush_interval": "200ms",
                 "reputation.flush_interval": "200ms", "reputation.trusted_networks": []}
        if sentinels:
            fleet["fleet.sentinels"] = [s.address for s in sentinels]
        else:
            fleet["fleet.redis"] = redis.address
        fleet.update(settings)
        nodes = [self.mxgate(sink, settings=dict(fleet, **{"fleet.node_name": f"n{i + 1}"}),
                             extra_tables=list(extra_tables))
                 for i in range(count)]
        # Connected, and past the first read of the fleet's state (what a node applies from
        # then on comes from the stream alone, so its applied count is exact).
        for node in nodes:
            node.wait_metric("mxgate_fleet_connected", lambda v: v == 1, timeout=15)
            node.wait_metric("mxgate_fleet_resyncs_total", lambda v: v >= 1, timeout=15)
        return nodes

    def banner(self, mx, source):
        with SmtpClient(mx.port, source=source) as c:
            return c.reply()[0]

    def message(self, mx, source):
        """The reply to the end of one message's data, or the code that ended the session."""
        with SmtpClient(mx.port, source=source) as c:
            code = c.reply()[0]
            if code != 220:
                return code
            c.ehlo("mail.example.test")
            code, _ = c.cmd("MAIL FROM:<news@example.test>")
            if code != 250:
                return code
            self.assertEqual(c.cmd("RCPT TO:<user@example.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: fleet\r\n\r\nhello\r\n.\r\n")
            return c.reply()[0]

    def record(self, mx, target):
        status, text = mx.admin("GET", f"/admin/rep/{target}")
        self.assertIn(status, (200, 404), text)  # 404: no record (yet)
        return text

    def fleet_status(self, mx):
        return subprocess.run([mxgate_bin(), "fleet", "status", "-c", mx.config_path],
                              capture_output=True, text=True, timeout=30)

    def block(self, mx, ip, reason="spam trap hits"):
        status, text = mx.admin("PUT", f"/admin/rep/{ip}", {"action": "block", "reason": reason})
        self.assertEqual(status, 200, text)

    def test_a_block_on_one_node_refuses_on_every_node_within_a_second(self):
        redis = self.peer(RedisServer())
        n1, n2, n3 = self.nodes(redis=redis)
        self.assertEqual(self.banner(n2, "127.0.0.3"), 220)
        self.block(n1, "127.0.0.3")
        wait_until(lambda: self.banner(n2, "127.0.0.3") == 554 and
                   self.banner(n3, "127.0.0.3") == 554, 10, interval=0.01,
                   what="the block on nodes 2 and 3")
        # Within a second, by the nodes' own measure: the age of the change when they applied it.
        for node in (n2, n3):
            self.assertLess(node.metric("mxgate_fleet_lag_seconds"), 1.0)
        with SmtpClient(n3.port, source="127.0.0.3") as c:
            self.assertEqual(c.reply(), (554, f"5.7.1 Blocked - see {URL}?ip=127.0.0.3"))
        self.assertEqual(self.banner(n2, "127.0.0.4"), 220)  # nothing else changed
        self.assertGreaterEqual(n2.metric("mxgate_fleet_applied_total"), 1)
        self.assertEqual(n1.metric("mxgate_fleet_published_total"), 1)
        self.assertEqual(n1.metric("mxgate_fleet_applied_total"), 0)  # its own is not echoed
        # The listing, with its reason, is the same record on node 3's portal.
        _, _, page = fetch(n3.portal_port, "/postmaster/?ip=127.0.0.3")
        self.assertIn("spam trap hits", page)

    def test_a_delisting_approved_on_one_node_clears_it_everywhere(self):
        redis = self.peer(RedisServer())
        n1, n2, n3 = self.nodes(redis=redis)
        self.block(n1, "127.0.0.5", "listed by hand")
        wait_until(lambda: self.banner(n3, "127.0.0.5") == 554, 5, what="the block on node 3")
        # The sender asks on node 3's portal; an operator approves on node 2.
        body = urllib.parse.urlencode({"ip": "127.0.0.5", "contact": "postmaster@example.test",
                                       "explanation": "We removed the infected host."}).encode()
        status, _, text = fetch(n3.portal_port, "/postmaster/delist", "application/json",
                                method="POST", data=body)
        self.assertEqual(status, 202, text)
        wait_until(lambda: "127.0.0.5" in n2.admin("GET", "/admin/delist")[1], 5,
                   what="the request on node 2")
        status, text = n2.admin("POST", "/admin/delist/127.0.0.5/approve")
        self.assertEqual(status, 200, text)
        for node in (n1, n2, n3):
            wait_until(lambda node=node: self.banner(node, "127.0.0.5") == 220, 5,
                       what=f"the delisting on {node.settings()['fleet.node_name']}")
        self.assertIn("approved", n1.admin("GET", "/admin/delist?state=all")[1])

    def test_nodes_serve_while_redis_is_gone_and_catch_up_when_it_is_back(self):
        redis = self.peer(RedisServer())
        n1, n2 = self.nodes(count=2, redis=redis)
        self.block(n1, "127.0.0.6")
        wait_until(lambda: self.banner(n2, "127.0.0.6") == 554, 5, what="the first block")
        redis.kill()
        n2.wait_metric("mxgate_fleet_connected", lambda v: v == 0, timeout=10)
        self.assertEqual(self.banner(n2, "127.0.0.6"), 554)  # its own copy
        self.assertEqual(self.banner(n2, "127.0.0.7"), 220)
        status, text = n2.http("/readyz")
        self.assertEqual(status, 200, text)  # still ready
        self.assertTrue(text.startswith("ready\nfleet: redis"), text)
        self.block(n1, "127.0.0.8")  # decided while Redis is away: queued
        n1.wait_metric("mxgate_fleet_queued", lambda v: v == 1, timeout=5)
        self.assertEqual(self.banner(n2, "127.0.0.8"), 220)
        redis.restart()
        wait_until(lambda: self.banner(n2, "127.0.0.8") == 554, 15, what="the catch-up")
        n1.wait_metric("mxgate_fleet_queued", lambda v: v == 0, timeout=5)
        self.assertEqual(n2.http("/readyz")[1], "ready\n")

    def test_the_smtp_path_never_waits_for_a_stalled_redis(self):
        redis = self.peer(RedisServer())
        n1, n2 = self.nodes(count=2, redis=redis)
        self.block(n1, "127.0.0.9")
        wait_until(lambda: self.banner(n2, "127.0.0.9") == 554, 5, what="the block")
        redis.freeze()
        try:
            self.block(n1, "127.0.0.10")  # the admin API does not wait for Redis either
            latencies = []
            for _ in range(20):
                started = time.monotonic()
                self.assertEqual(self.banner(n2, "127.0.0.9"), 554)
                self.assertEqual(self.banner(n1, "127.0.0.11"), 220)
                latencies.append(time.monotonic() - started)
            print(f"two banners during a Redis stall: max {max(latencies) * 1000:.1f} ms, "
                  f"mean {sum(latencies) / len(latencies) * 1000:.1f} ms")
            # Every banner came while Redis was still stopped: none waited for it.
            self.assertTrue(redis.frozen())
        finally:
            redis.thaw()
        wait_until(lambda: self.banner(n2, "127.0.0.10") == 554, 15, what="the catch-up")

    def test_fleet_status_lists_the_nodes(self):
        redis = self.peer(RedisServer())
        n1, n2 = self.nodes(count=2, redis=redis)
        self.block(n1, "127.0.0.12")
        wait_until(lambda: self.banner(n2, "127.0.0.12") == 554, 5, what="the block")
        # Both nodes reported since (every flush_interval).
        wait_until(lambda: redis.cli("HGET", "mxgate:node:n1", "published") == "1" and
                   redis.cli("HGET", "mxgate:node:n2", "applied") == "1", 5,
                   what="the nodes' reports")
        out = self.fleet_status(n1)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], f"redis {redis.address} connected changes=1 state=1")
        self.assertEqual(sorted(line.split()[1] for line in lines[1:]), ["n1", "n2"], out.stdout)
        self.assertIn("published=1", next(line for line in lines if line.startswith("node n1")))
        redis.kill()
        out = self.fleet_status(n1)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("cannot reach Redis", out.stderr)

    def test_a_limit_holds_fleet_wide_when_connections_alternate_between_nodes(self):
        # 100 connections an hour per IP, 9 back to back: 10 at once for the whole fleet, where
        # three nodes that did not share their counts would admit 30. Each admitted connection
        # is waited for until the two other nodes have counted it (their charges metric), so
        # the fleet is in step before the next one and holds the limit exactly; the error when
        # connections come faster than flush_interval is measured by the fleet benchmark.
        redis = self.peer(RedisServer())
        limit = {"name": "per-ip", "key": "ip", "count": "connections", "rate": 100,
                 "period": "1h", "burst": 9}
        nodes = self.nodes(redis=redis, extra_tables=[("limit", limit)])
        counted = [0, 0, 0]  # the events of other nodes each node has counted
        admitted = 0
        for i in range(30):
            code = self.banner(nodes[i % 3], "127.0.0.20")
            self.assertIn(code, (220, 421))
            if code != 220:
                continue
            admitted += 1
            for j, node in enumerate(nodes):
                if j == i % 3:
                    continue
                counted[j] += 1
                node.wait_metric("mxgate_fleet_charges_total",
                                 lambda v, want=counted[j]: v >= want, timeout=10)
        self.assertEqual(admitted, 10)

    def test_every_node_holds_the_fleets_history_counters(self):
        # Messages accepted on two nodes: all three count all of them, and the fleet's first
        # sighting, so a node that never saw the sender judges it by its history.
        redis = self.peer(RedisServer())
        nodes = self.nodes(redis=redis)
        for node in (nodes[0], nodes[0], nodes[1]):
            self.assertEqual(self.message(node, "127.0.0.30"), 250)
        for node in nodes:
            wait_until(lambda node=node: "accepted=3 " in self.record(node, "127.0.0.30"), 10,
                       what=f"the fleet's three messages on {node.config_path}")
            self.assertGreaterEqual(node.metric("mxgate_fleet_counts_total"),
                                    0 if node is nodes[2] else 1)
        self.assertGreaterEqual(nodes[2].metric("mxgate_fleet_counts_total"), 2)
        self.assertNotIn("first_seen never", self.record(nodes[2], "127.0.0.30"))
        self.assertIn("accepted=3 ", self.record(nodes[2], "domain:example.test"))

    def test_a_new_senders_ramp_holds_fleet_wide(self):
        # A new sender may deliver ramp_floor = 4 messages today: 4 for the whole fleet, where
        # three nodes on their own would take 12. Each accepted message is waited for until
        # every node counts it toward today's allowance, so the fleet is in step before the
        # next one (the error when messages come faster is the limits' one: flush_interval).
        redis = self.peer(RedisServer())
        nodes = self.nodes(redis=redis, **{"throttle.ramp_floor": 4})
        accepted = 0
        codes = []
        for i in range(9):
            code = self.message(nodes[i % 3], "127.0.0.31")
            codes.append(code)
            if code != 250:
                continue
            accepted += 1
            for node in nodes:
                wait_until(lambda node=node: f"({accepted} so far)" in
                           self.record(node, "127.0.0.31"), 10,
                           what=f"message {accepted} counted on {node.config_path}")
        self.assertEqual(accepted, 4, codes)
        self.assertEqual(codes[4:], [421] * 5)

    def test_a_bulk_import_on_one_node_reaches_every_node_without_loss(self):
        # 20,000 listings through node 1's admin API, with room for 1,000 queued changes: the
        # import waits for Redis rather than dropping any.
        redis = self.peer(RedisServer())
        nodes = self.nodes(redis=redis, **{"fleet.max_queued": 1000})
        feed = os.path.join(module_tempdir(), "fleet-feed.csv")
        with open(feed, "w") as f:
            f.write("127.0.3.7,block,feed listing\n127.0.4.0/24,block,feed network\n")
            for i in range(19998):
                f.write(f"10.{i // 65536}.{i // 256 % 256}.{i % 256},block,feed bulk\n")
        result = run_tool([mxgate_bin(), "rep", "import", feed, "-c", nodes[0].config_path],
                          timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        self.assertIn("imported 20000 listings", result.stdout.decode())
        for node in nodes[1:]:
            node.wait_metric("mxgate_fleet_applied_total", lambda v: v >= 20000, timeout=60)
            self.assertEqual(self.banner(node, "127.0.3.7"), 554)
            self.assertEqual(self.banner(node, "127.0.4.9"), 554)
            self.assertIn("feed bulk", self.record(node, "10.0.40.1"))
        self.assertEqual(nodes[0].metric("mxgate_fleet_dropped_total"), 0)
        self.assertEqual(nodes[0].metric("mxgate_fleet_published_total"), 20000)

    def test_a_sentinel_failover_is_followed(self):
        master = self.peer(RedisServer())
        replica = self.peer(RedisServer(replica_of=master))
        sentinel = self.peer(RedisSentinel(master))
        wait_until(lambda: "connected_slaves:1" in master.cli("INFO", "replication"), 15,
                   what="the replica")
        n1, n2 = self.nodes(count=2, sentinels=[sentinel])
        self.block(n1, "127.0.0.13")
        wait_until(lambda: self.banner(n2, "127.0.0.13") == 554, 5, what="the first block")
        master.kill()
        wait_until(lambda: sentinel.master_address() == replica.address, 20,
                   what="the fail-over to the replica")
        self.block(n2, "127.0.0.14")
        wait_until(lambda: self.banner(n1, "127.0.0.14") == 554, 15,
                   what="a block after the fail-over")
        self.assertEqual(self.banner(n2, "127.0.0.13"), 554)  # the first block stays
        self.assertGreaterEqual(int(replica.cli("XLEN", "mxgate:changes")), 1)


if __name__ == "__main__":
    unittest.main()
