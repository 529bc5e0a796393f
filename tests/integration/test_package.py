"""The Debian package, as an operator gets it: built with cpack from the CTest build tree,
installed with dpkg -i, served from its own /etc/mxgate/mxgate.toml as the mxgate user with
systemd's readiness protocol, and purged.

Runs as root on a throwaway Debian 12 machine (it installs and purges a package and adds the
mxgate user); skipped only when not root or without dpkg. It refuses to run where an mxgate
package is installed already, and leaves the machine as it found it: the package is purged
and the user and group it created are removed even when an assertion fails.
Environment: MXGATE_BUILD_DIR (the CMake build tree; tests/integration/CMakeLists.txt sets it),
MXGATE_SOURCE_DIR.
"""

import contextlib
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Port, SmtpClient, require_tool, wait_until

PACKAGE = "mxgate"
BINARY = "/usr/sbin/mxgate"
CONFIG = "/etc/mxgate/mxgate.toml"
UNIT = "/lib/systemd/system/mxgate.service"
STATE = "/var/lib/mxgate"

# path -> (owner, group, mode) of what the package installs
INSTALLED = {
    BINARY: ("root", "root", 0o755),
    CONFIG: ("root", "root", 0o644),
    UNIT: ("root", "root", 0o644),
    "/usr/lib/sysusers.d/mxgate.conf": ("root", "root", 0o644),
    "/usr/lib/tmpfiles.d/mxgate.conf": ("root", "root", 0o644),
    "/usr/share/man/man8/mxgate.8.gz": ("root", "root", 0o644),
    "/usr/share/man/man5/mxgate.toml.5.gz": ("root", "root", 0o644),
    "/usr/share/doc/mxgate/copyright": ("root", "root", 0o644),
    "/usr/share/doc/mxgate/changelog.gz": ("root", "root", 0o644),
    STATE: ("mxgate", "mxgate", 0o750),
}

# What must not exist once the package is purged (the user and group stay: see postrm).
PURGED = [path for path in INSTALLED] + [
    "/etc/mxgate",
    "/usr/share/doc/mxgate",
    "/etc/systemd/system/mxgate.service",  # the mask of a removed unit
    "/etc/systemd/system/multi-user.target.wants/mxgate.service",
]

COMMAND_TIMEOUT = 120
BUILD_TIMEOUT = 1200  # the build is done already under ctest; by hand it may have to link


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def run(args, **kwargs):
    kwargs.setdefault("timeout", COMMAND_TIMEOUT)
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          **kwargs)


def traced_pid(trace, binary):
    """The pid that exec'd `binary` in an `strace -f -o trace` file."""
    with open(trace) as f:
        for line in f:
            if f'execve("{binary}"' in line and line.rstrip().endswith("= 0"):
                return int(line.split()[0])
    raise AssertionError(f"no execve of {binary} in {trace}")


def traced_syscalls(trace, binary):
    """The names of the system calls made after `binary` was exec'd (not setpriv's)."""
    names, seen_exec = set(), False
    syscall = re.compile(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]")
    with open(trace) as f:
        for line in f:
            if not seen_exec:
                seen_exec = f'execve("{binary}"' in line and line.rstrip().endswith("= 0")
                continue
            match = syscall.match(line)
            if match:
                names.add(match.group(1))
    return names


def syscall_group(name):
    """Every system call in a systemd seccomp group (`systemd-analyze syscall-filter`), its
    nested groups expanded."""
    result = run(["systemd-analyze", "syscall-filter", "--no-pager"])
    assert result.returncode == 0, result.stderr
    groups, current = {}, None
    for line in result.stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], [])
        elif line.strip() and not line.strip().startswith("#") and current is not None:
            current.append(line.split()[0])

    def expand(group):
        names = set()
        for entry in groups.get(group, []):
            names |= expand(entry) if entry.startswith("@") else {entry}
        return names
    return expand(name)


def as_mxgate(args):
    """args run as the mxgate user and group, without capabilities (setpriv execs: a signal
    to the process reaches mxgate itself)."""
    return ["setpriv", "--reuid=mxgate", "--regid=mxgate", "--init-groups",
            "--inh-caps=-all", "--"] + args


class NotifySocket:
    """The service manager's side of sd_notify(3): a datagram socket bound to a path that the
    mxgate user may write to."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mxgate-notify-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.received = []

    def wait_for(self, state, timeout, since=0):
        """Waits for a datagram holding the line `state` ("KEY=VALUE") among those from the
        `since`th on; returns its index."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(since, len(self.received)):
                if state in self.received[i].split("\n"):
                    return i
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {state} within {timeout}s; got {self.received}")
            self.sock.settimeout(remaining)
            try:
                self.received.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0, "installs a package: root only")
@unittest.skipUnless(shutil.which("dpkg"), "a Debian package needs dpkg")
class PackageTest(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        build_dir = os.environ.get("MXGATE_BUILD_DIR")
        if not build_dir or not os.path.isfile(os.path.join(build_dir, "CPackConfig.cmake")):
            raise AssertionError(f"MXGATE_BUILD_DIR={build_dir!r} is not a configured build tree "
                                 "(ctest sets it; see tests/integration/CMakeLists.txt)")
        installed = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE])
        if "installed" in installed.stdout:
            raise AssertionError("an mxgate package is installed on this machine; this test "
                                 "would replace and purge it. Run it on a throwaway machine.")
        # cpack installs what is built; it builds nothing itself (CMAKE_SKIP_INSTALL_ALL_...).
        for args in (["cmake", "--build", build_dir, "--target", "mxgate"], ["cpack"]):
            result = run(args, cwd=build_dir, timeout=BUILD_TIMEOUT)
            if result.returncode != 0:
                raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        debs = glob.glob(os.path.join(build_dir, "deb", f"{PACKAGE}_*.deb"))
        if len(debs) != 1:
            raise AssertionError(f"expected one package in {build_dir}/deb, found {debs}")
        cls.deb = debs[0]

    def setUp(self):
        self.had_user = user_exists("mxgate")
        self.had_group = group_exists("mxgate")
        self.addCleanup(self.restore_machine)

    def restore_machine(self):
        run(["dpkg", "--purge", PACKAGE])
        # The package keeps the user on purge (as Debian does); the test removes what it made.
        if not self.had_user and user_exists("mxgate"):
            run(["userdel", "mxgate"])
        if not self.had_group and group_exists("mxgate"):
            run(["groupdel", "mxgate"])

    def test_package_control_fields(self):
        fields = run(["dpkg-deb", "-f", self.deb, "Package", "Depends", "Section"]).stdout
        self.assertIn("Package: mxgate", fields)
        self.assertIn("Section: mail", fields)
        # dpkg-shlibdeps found the libraries the binary links.
        for library in ("libc6", "librocksdb", "libssl3", "libc-ares2", "libstdc++6"):
            self.assertIn(library, fields)
        self.assertIn("systemd", fields)

    def test_install_serve_and_purge(self):
        result = run(["dpkg", "-i", self.deb])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

        with self.subTest("the user and group"):
            user = pwd.getpwnam("mxgate")
            group = grp.getgrnam("mxgate")
            self.assertEqual(user.pw_gid, group.gr_gid)
            self.assertEqual(user.pw_dir, STATE)
            self.assertEqual(user.pw_shell, "/usr/sbin/nologin")
            self.assertLess(user.pw_uid, 1000, "not a system user")

        with self.subTest("files, owners and modes"):
            for path, (owner, group_name, mode) in INSTALLED.items():
                info = os.stat(path)
                self.assertEqual((pwd.getpwuid(info.st_uid).pw_name,
                                  grp.getgrgid(info.st_gid).gr_name,
                                  stat.S_IMODE(info.st_mode)),
                                 (owner, group_name, mode), path)
            conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE]).stdout
            self.assertIn(CONFIG, conffiles)

        with self.subTest("the shipped configuration"):
            with open(CONFIG) as f:
                config = f.read()
            self.assertRegex(config, r'(?m)^path = "/var/lib/mxgate"$')
            self.assertRegex(config, r'(?m)^path = "/var/lib/mxgate/queue"$')
            self.assertRegex(config, r'(?m)^listen = \["0\.0\.0\.0:25"\]$')
            self.assertRegex(config, r'(?m)^listen = "127\.0\.0\.1:8025"$')
            self.assertNotIn("../var", config)

        with self.subTest("the unit"):
            self.check_unit()

        with self.subTest("check-config as mxgate"):
            result = run(as_mxgate([BINARY, "check-config", "-c", CONFIG]))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("configuration ok", result.stderr)
            self.assertIn(STATE, result.stdout)

        with self.subTest("the man pages"):
            pages = {}
            for page in (["8", "mxgate"], ["5", "mxgate.toml"]):
                result = run(["man", "-P", "cat"] + page, env=dict(os.environ, MANWIDTH="80"))
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("SEE ALSO", result.stdout)
                self.assertEqual(result.stderr, "", page)
                pages[page[1]] = result.stdout
            # mxgate(8) has an entry under COMMANDS for every command `mxgate --help` lists.
            help_text = run([BINARY, "--help"]).stdout
            commands = re.findall(r"(?m)^  ([a-z][a-z-]+)  ", help_text.partition("Subcommands:")[2])
            self.assertIn("serve", commands)
            section = pages["mxgate"].partition("\nCOMMANDS\n")[2].partition("\nSIGNALS\n")[0]
            for command in commands:
                self.assertRegex(section, r"(?m)^ {7}" + re.escape(command) + r"\b", command)

        with self.subTest("it serves"):
            self.check_serves()

        result = run(["dpkg", "--purge", PACKAGE])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("installed", run(["dpkg-query", "-W", "-f=${Status}", PACKAGE]).stdout)
        left = [path for path in PURGED if os.path.lexists(path)]
        left += glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/mxgate*", recursive=True)
        self.assertEqual(left, [], "left behind by dpkg --purge")
        # The user stays (files elsewhere may still be its); restore_machine() removes it.
        self.assertTrue(user_exists("mxgate"))

    def check_unit(self):
        # systemd-analyze verify needs no running systemd: it loads the unit from disk, parses
        # every directive, checks that the executables exist and that the Documentation= man
        # pages open. Everything it says is a problem: a clean unit prints nothing.
        verify = run(["systemd-analyze", "verify", UNIT])
        self.assertEqual((verify.returncode, verify.stdout + verify.stderr), (0, ""))
        # ... and it does fail here when the unit is wrong, so the check above means something.
        with tempfile.TemporaryDirectory() as scratch:
            broken = os.path.join(scratch, "mxgate.service")
            with open(UNIT) as source, open(broken, "w") as target:
                target.write(source.read().replace(BINARY, "/usr/sbin/mxgate-missing"))
            self.assertNotEqual(run(["systemd-analyze", "verify", broken]).returncode, 0)
        with open(UNIT) as f:
            unit = f.read()
        for line in ("Type=notify", "User=mxgate", "ExecStart=/usr/sbin/mxgate serve -c " + CONFIG,
                     "ProtectSystem=strict", "StateDirectory=mxgate",
                     "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                     "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"):
            self.assertRegex(unit, "(?m)^" + re.escape(line) + "$")
        # The hardening, as systemd scores it (0 = fully locked down, 10 = exposed; "OK" <= 4.9,
        # "MEDIUM" <= 6.9). Offline: the unit file itself.
        security = run(["systemd-analyze", "security", "--offline=true", "--threshold=30",
                        "--no-pager", UNIT])
        self.assertEqual(security.returncode, 0, security.stdout + security.stderr)
        match = re.search(r"Overall exposure level for mxgate\.service: (\d+\.\d+)",
                          security.stdout)
        self.assertIsNotNone(match, security.stdout)
        self.assertLessEqual(float(match.group(1)), 3.0, security.stdout)

    def check_serves(self):
        notify = NotifySocket()
        self.addCleanup(notify.close)
        http, portal = Port(), Port()  # held: mxgate binds them with SO_REUSEADDR
        self.addCleanup(http.release)
        self.addCleanup(portal.release)
        scratch = tempfile.mkdtemp(prefix="mxgate-package-")
        self.addCleanup(shutil.rmtree, scratch, True)
        trace = os.path.join(scratch, "strace")
        # Under strace, to hold the system calls mxgate makes to the unit's SystemCallFilter.
        proc = subprocess.Popen(
            [require_tool("strace"), "-f", "-qq", "-o", trace] +
            as_mxgate([BINARY, "serve", "-c", CONFIG,
                       "-o", 'server.listen=["127.0.0.1:0"]',
                       "-o", f"http.listen=127.0.0.1:{http.number}",
                       "-o", f"portal.listen=127.0.0.1:{portal.number}"]),
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": notify.path},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log = []
        reader = threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True)
        reader.start()
        mxgate = []  # its pid, once known

        def stop():
            # Killing strace would leave mxgate running, detached: kill mxgate first.
            if not mxgate:
                with contextlib.suppress(AssertionError, OSError):
                    mxgate.append(traced_pid(trace, BINARY))
            for pid in mxgate:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            reader.join(timeout=10)
            proc.stdout.close()
        self.addCleanup(stop)

        try:
            notify.wait_for("READY=1", timeout=60)
        except AssertionError as e:
            raise AssertionError(f"{e}\nmxgate's log:\n{''.join(log)}") from None
        mxgate.append(traced_pid(trace, BINARY))
        # READY=1 comes once the listeners are bound, so the started line is already there.
        started = re.compile(r" started .* listen=127\.0\.0\.1:(\d+) ")
        port = wait_until(lambda: next((int(m.group(1)) for m in map(started.search, list(log))
                                        if m), None),
                          timeout=10, what="the started line")
        with SmtpClient(port) as client:
            code, text = client.reply(timeout=30)  # after pregreet's greet pause, if any
            self.assertEqual(code, 220, text)
            self.assertEqual(client.cmd("EHLO client.example")[0], 250)
            self.assertEqual(client.cmd("QUIT")[0], 221)
        # SIGHUP (systemctl reload): RELOADING=1 with the monotonic time, then READY=1 again.
        os.kill(mxgate[0], signal.SIGHUP)
        try:
            reloading = notify.wait_for("RELOADING=1", timeout=30)
        except AssertionError as e:
            raise AssertionError(f"{e}\nmxgate's log:\n{''.join(log)}") from None
        self.assertIn("MONOTONIC_USEC=", notify.received[reloading])
        notify.wait_for("READY=1", timeout=30, since=reloading + 1)
        wait_until(lambda: any(" reloaded " in line for line in list(log)), timeout=10,
                   what="the reloaded line")
        token = os.stat(os.path.join(STATE, "admin.token"))
        self.assertEqual((pwd.getpwuid(token.st_uid).pw_name, stat.S_IMODE(token.st_mode)),
                         ("mxgate", 0o600))

        os.kill(mxgate[0], signal.SIGTERM)
        notify.wait_for("STOPPING=1", timeout=30)
        # strace exits with the status of the command it ran.
        self.assertEqual(proc.wait(timeout=60), 0, "".join(log))
        reader.join(timeout=10)
        self.assertTrue(any(" stopped" in line for line in log), "".join(log))

        # Every system call of that run (start, a session, a reload, a drain) is one the unit's
        # SystemCallFilter=@system-service allows: systemd would not make it fail with EPERM.
        allowed = syscall_group("@system-service")
        self.assertGreater(len(allowed), 100)
        made = traced_syscalls(trace, BINARY)
        self.assertIn("accept", " ".join(made))
        self.assertEqual(sorted(made - allowed), [], "system calls outside @system-service")

if __name__ == "__main__":
    unittest.main()
