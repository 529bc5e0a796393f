"""The README's shell commands, run as written, in order, against what `./deploy/try.sh` runs.

Every ```sh block of README.md is run, except one preceded by a line starting with
"<!-- readme-test: skip" (the first block: try.sh and test.sh themselves). Plain ``` blocks
(output, synopses) are not commands. In a block:
  - a line that does not start with "#" is a command (a trailing "\\" continues it);
  - the "# ..." lines right after a command are its expected output: each must appear in the
    command's output (stdout and stderr, whitespace runs compared as one space; "..." stands
    for anything); a line starting "#   " continues the previous one;
  - "# (exit N)": the command's expected exit status (default 0).

The environment is try.sh itself (test_try.TryRun: MXGATE_BIN, NSD with the demo zone, the try
downstream) on free ports, its state in a temp folder. The command text is rewritten to it:
  ./mxgate             -> $MXGATE_BIN (the build's; ./mxgate runs build-release's)
  conf/mxgate.toml     -> a copy with the test's addresses and storage.path
  var/                 -> the run's MXGATE_TRY_VAR folder (var/mxgate, var/sink, var/try, ...)
  127.0.0.1:2525 SMTP, :2526 downstream, :2527 PROXY, :2553 DNS, :8025 HTTP, :8080 portal
                       -> the run's ports (test_try.SHIPPED), in expected output too
Commands run with the repository as working directory and MXGATE_TRY_VAR set, so
./deploy/demo.sh finds the run.
"""

import os
import re
import subprocess
import unittest

import test_try
from harness import SOURCE_DIR

SKIP_MARK = "<!-- readme-test: skip"
EXIT = re.compile(r"^\(exit (\d+)\)$")


class Command:
    def __init__(self, line_number, text):
        self.line_number = line_number
        self.text = text
        self.expected = []  # output lines
        self.exit_code = 0

    def __repr__(self):
        return f"README.md:{self.line_number}: {self.text}"


def readme_commands(path):
    """The commands of the README's ```sh blocks, in order, with their expected outputs."""
    with open(path) as f:
        lines = f.read().split("\n")
    commands = []
    previous = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "```sh":
            block_start = i + 1
            i += 1
            block = []
            while i < len(lines) and lines[i].strip() != "```":
                block.append(lines[i])
                i += 1
            if not previous.startswith(SKIP_MARK):
                commands += _parse_block(block, block_start)
        if line.strip():
            previous = line.strip()
        i += 1
    return commands


def _parse_block(block, first_index):
    commands = []
    current = None
    pending = ""
    for offset, raw in enumerate(block):
        text = raw.strip()
        if not text:
            continue
        if text.startswith("#"):
            if current is None:
                continue  # a comment before any command
            comment = text[1:]
            exit_match = EXIT.match(comment.strip())
            if exit_match:
                current.exit_code = int(exit_match.group(1))
            elif comment.startswith("   ") and current.expected:
                current.expected[-1] += " " + comment.strip()
            else:
                current.expected.append(comment.strip())
            continue
        if pending:
            pending += " " + text
        else:
            start_line = first_index + offset + 1  # 1-based line number in README.md
            pending = text
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        current = Command(start_line, pending)
        commands.append(current)
        pending = ""
    return commands


def rewrite(text, run):
    text = text.replace("./mxgate ", run.env["MXGATE_BIN"] + " ")
    text = text.replace("conf/mxgate.toml", run.config)
    text = re.sub(r"(?<![\w/.])var/", run.var + "/", text)
    for name, address in test_try.SHIPPED.items():
        text = text.replace(address, run.addresses[name])
    return text


def _normalized(text):
    return " ".join(text.split())


def expected_pattern(line):
    parts = [re.escape(_normalized(part)) for part in line.split("...")]
    return re.compile(r"\s*.*?\s*".join(parts), re.DOTALL)


class ReadmeCommands(test_try.WithTryRun):
    @classmethod
    def setUpClass(cls):
        cls.readme = os.path.join(SOURCE_DIR, "README.md")
        cls.commands = readme_commands(cls.readme)
        super().setUpClass()

    def test_two_commands_come_first(self):
        with open(self.readme) as f:
            head = f.read().split("\n")[:40]
        self.assertIn("## Two commands", head)
        self.assertIn("./deploy/try.sh", "\n".join(head))

    def test_commands_run_as_written(self):
        self.assertGreater(len(self.commands), 20, "the README's commands were not found")
        for command in self.commands:
            with self.subTest(command=repr(command)):
                self.check(command)

    def check(self, command):
        text = rewrite(command.text, self.run_)
        result = subprocess.run(["bash", "-c", text], cwd=SOURCE_DIR, env=self.run_.env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                errors="replace", timeout=240)
        output = result.stdout + result.stderr
        explain = (f"\n$ {text}\n(exit {result.returncode})\n{output[-4000:]}"
                   f"\n----- mxgate log -----\n{self.run_.log()[-3000:]}")
        self.assertEqual(result.returncode, command.exit_code, explain)
        normalized = _normalized(output)
        for line in command.expected:
            pattern = expected_pattern(rewrite(line, self.run_))
            self.assertRegex(normalized, pattern, f"expected output {line!r}" + explain)


if __name__ == "__main__":
    unittest.main()
