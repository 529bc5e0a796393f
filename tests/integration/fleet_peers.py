"""Real Redis peers for fleet mode's end-to-end tests (issue 19): a redis-server (optionally a
replica of another, optionally with a password) and a redis-sentinel, each on a held loopback
port with its files in its own temp folder; Debian's redis-server and redis-sentinel, which
deploy/install-deps.sh --tests installs.
    with RedisServer() as redis:
        redis.address                       # "127.0.0.1:PORT" for [fleet] redis
        redis.cli("XLEN", "mxgate:changes") # redis-cli's answer, stripped
        redis.freeze(); redis.thaw()        # SIGSTOP / SIGCONT: a stalled Redis
        redis.kill(); redis.restart()       # gone, then back on the same port
    with RedisSentinel(master, "mxgate") as sentinel:
        sentinel.address
stop() ends a peer with SIGTERM (SIGKILL after a bound), kill() with SIGKILL at once.
"""

import os
import signal
import subprocess

from harness import TOOL_PACKAGES, require_tool
from milter_peers import _Peer

TOOL_PACKAGES.setdefault("redis-server", "redis-server")
TOOL_PACKAGES.setdefault("redis-sentinel", "redis-sentinel")
TOOL_PACKAGES.setdefault("redis-cli", "redis-tools")


class RedisServer(_Peer):
    """redis-server on 127.0.0.1, no persistence."""

    what = "redis"

    def __init__(self, password=None, replica_of=None):
        super().__init__()
        self.password = password
        self.replica_of = replica_of  # a RedisServer

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _args(self):
        args = [require_tool("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"]
        if self.password:
            args += ["--requirepass", self.password, "--masterauth", self.password]
        if self.replica_of:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of.port)]
        return args

    def cli(self, *args, timeout=10):
        command = [require_tool("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port), "--raw"]
        if self.password:
            command += ["--no-auth-warning", "-a", self.password]
        out = subprocess.run(command + [str(a) for a in args], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=timeout)
        return out.stdout.decode(errors="replace").strip()

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def frozen(self):
        """Whether it is stopped (freeze()), from /proc."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"

    def restart(self):
        """Starts it again on the same port (after stop() or kill())."""
        self._start_on([self.port])


class RedisSentinel(_Peer):
    """redis-sentinel watching `master` (a RedisServer) as `name`; quorum 1, quick fail-over."""

    what = "sentinel"

    def __init__(self, master, name="mxgate", down_after_ms=500):
        super().__init__()
        self.master = master
        self.name = name
        self.down_after_ms = down_after_ms

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _args(self):
        # Sentinel rewrites its configuration file: it lives in the peer's folder.
        config = os.path.join(self.dir, "sentinel.conf")
        lines = [f"port {self.port}", "bind 127.0.0.1", "protected-mode no", f"dir {self.dir}",
                 f"sentinel monitor {self.name} 127.0.0.1 {self.master.port} 1",
                 f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}",
                 f"sentinel failover-timeout {self.name} 2000"]
        if self.master.password:
            lines.append(f"sentinel auth-pass {self.name} {self.master.password}")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [require_tool("redis-sentinel"), config]

    def master_address(self):
        out = subprocess.run([require_tool("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port),
                              "--raw", "SENTINEL", "get-master-addr-by-name", self.name],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        host, _, port = out.stdout.decode().strip().partition("\n")
        return f"{host}:{port}"
