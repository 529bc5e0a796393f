"""A real Postfix as a mailbox server for end-to-end tests: a private instance with its own
config_directory, queue_directory and data_directory in a temporary folder, listening only on
127.0.0.1:<a free port>, that accepts mail for `relay_domains` and refuses at RCPT ("550 5.1.1
... User unknown in relay recipient table") every address missing from its relay_recipient_maps
(a texthash: table), and relays what it accepts to `relayhost` (the test's smtp-sink). Postfix's
own smtp-sink cannot refuse particular users; a real Postfix can.

Postfix's master runs in the foreground (master -d) as a child of the test, every service
without chroot; the instance logs to <folder>/maillog through its postlogd (no syslog needed).
Needs root (tests run as root): the master starts its services as the postfix user."""

import os
import shutil
import subprocess
import tempfile

from harness import require_tool, start_on_free_ports, wait_listening

# master.cf: the services an MTA that receives and relays needs, none chrooted (the private
# queue is not laid out for a chroot). The first line is filled in with the listening port.
# benchmarks/load/queue_run.py uses it too.
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {folder}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mailbox.test
mydomain = mailbox.test
myorigin = mailbox.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = {relay_domains}
relay_recipient_maps = texthash:{folder}/etc/recipients
relayhost = {relayhost}
smtp_host_lookup = native
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = {folder}/maillog
maillog_file_prefixes = {folder}
syslog_name = mxgate-test-postfix
biff = no
smtputf8_enable = no
"""


class Postfix:
    """with Postfix(["example.com"], ["bob@example.com"], "127.0.0.1:2525") as pf: pf.address"""

    def __init__(self, relay_domains, recipients, relayhost, main_cf=None):
        """`main_cf`: more main.cf parameters, e.g. {"smtpd_authorized_xclient_hosts": ...}."""
        self.main_cf = dict(main_cf or {})
        self.relay_domains = list(relay_domains)
        self.recipients = list(recipients)
        host, port = relayhost.rsplit(":", 1)
        self.relayhost = f"[{host}]:{port}"
        self.folder = None
        self.proc = None
        self.port = None
        self._out = None
        self._ports = []

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        postfix = require_tool("postfix")
        self.folder = tempfile.mkdtemp(prefix="mxgate-postfix-")
        try:
            # The services run as the postfix user: it must reach the queue and read the table.
            os.chmod(self.folder, 0o755)
            for sub in ("etc", "queue", "data"):
                os.mkdir(os.path.join(self.folder, sub), 0o755)
            shutil.chown(os.path.join(self.folder, "data"), user="postfix")
            with open(os.path.join(self.folder, "etc", "recipients"), "w") as f:
                f.writelines(f"{r} OK\n" for r in self.recipients)
            with open(os.path.join(self.folder, "etc", "main.cf"), "w") as f:
                f.write(_MAIN_CF.format(folder=self.folder,
                                        relay_domains=", ".join(self.relay_domains),
                                        relayhost=self.relayhost))
                f.writelines(f"{k} = {v}\n" for k, v in self.main_cf.items())
            self._write_master(0)
            # Creates the queue's directories with their owners and modes.
            subprocess.run([postfix, "-c", self.etc, "check"], check=True, timeout=60,
                           stdin=subprocess.DEVNULL)
            self.master = os.path.join(
                subprocess.run(["postconf", "-c", self.etc, "-h", "daemon_directory"],
                               check=True, capture_output=True, text=True,
                               timeout=30).stdout.strip(), "master")
            self._ports = start_on_free_ports("postfix", 1, self._start)
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    @property
    def etc(self):
        return os.path.join(self.folder, "etc")

    def _write_master(self, port):
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=port))

    def _start(self, ports):
        self.port = ports[0]
        self._write_master(self.port)
        self._out = open(os.path.join(self.folder, "master.out"), "ab")
        self.proc = subprocess.Popen([self.master, "-c", self.etc, "-d"],
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT)
        try:
            wait_listening(self.proc, [self.port], "postfix master", self.log)
        except BaseException:
            self._stop()
            raise

    def log(self):
        """The master's output and the instance's maillog."""
        text = ""
        for name in ("master.out", "maillog"):
            try:
                with open(os.path.join(self.folder, name), errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def _stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the master stops its services
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self._out:
            self._out.close()
            self._out = None

    def __exit__(self, *exc):
        self._stop()
        for port in self._ports:
            port.release()
        self._ports = []
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        return False


def start_postfix(test, relayhost, recipients, domains=("example.com",), **main_cf):
    """A Postfix for `test` (an MxTestCase) for `domains`: stopped at the end of the test, its
    log printed when the test failed."""
    pf = Postfix(domains, recipients, relayhost, main_cf=main_cf)
    pf.__enter__()
    test.addCleanup(pf.__exit__, None, None, None)

    def print_on_failure():
        if test._failed():
            print("---- postfix log ----\n" + pf.log()[-6000:])

    test.addCleanup(print_on_failure)
    return pf
