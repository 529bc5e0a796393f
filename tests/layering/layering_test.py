"""The layout's rules (README "Layout", ARCHITECTURE.md): every folder is one library, a folder
includes only the folders below it, and the pure folders include no Asio or Beast. A new
dependency is a line in ALLOWED, made on purpose.

Run by CTest (label unit); by hand: python3 tests/layering/layering_test.py
"""

import re
import subprocess
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The folders each folder may include, bottom up.
BELOW = {
    "common": set(),
    "smtp": {"common"},
    "reputation": {"common", "smtp"},
    "conf": {"common", "reputation"},
    "throttle": {"common", "reputation", "conf"},
    "io": {"common"},
    "dns": {"common", "io"},
    "milter": {"common", "io"},
    "fleet": {"common", "io", "conf"},
    "content": {"common"},
    "auth": {"common", "smtp", "io", "dns", "content"},
    "storage": {"common", "reputation", "io"},
    "http": {"common", "conf", "io"},
}
BELOW["policy"] = set(BELOW) - {"http"}
BELOW["relay"] = {"common", "smtp", "conf", "io", "storage", "dns"}
BELOW["postmaster"] = set(BELOW) - {"postmaster"}
BELOW["admin"] = set(BELOW) - {"admin"}
BELOW["server"] = set(BELOW) - {"server"}
PURE = {"common", "smtp", "reputation", "conf", "throttle", "content"}
INCLUDE = re.compile(r'^#include [<"]([\w.+-]+)/', re.M)


def sources(folder):
    out = subprocess.run(["git", "ls-files", f"{folder}/*.cpp", f"{folder}/*.hpp"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.split()]


class Layering(unittest.TestCase):
    def test_every_folder_includes_only_folders_below_it(self):
        problems = []
        for folder, below in BELOW.items():
            for path in sources(folder):
                for used in INCLUDE.findall(path.read_text()):
                    if used in BELOW and used != folder and used not in below:
                        problems.append(f"{path.relative_to(ROOT)} includes {used}/")
        self.assertEqual(problems, [])

    def test_pure_folders_include_no_asio(self):
        problems = [f"{path.relative_to(ROOT)}" for folder in PURE for path in sources(folder)
                    if re.search(r"#include <boost/(asio|beast)", path.read_text())]
        self.assertEqual(problems, [])

    def test_every_library_folder_is_listed(self):
        folders = {p.parent.name for p in ROOT.glob("*/CMakeLists.txt")}
        self.assertEqual(folders - set(BELOW) - {"tests", "benchmarks"}, set())


if __name__ == "__main__":
    sys.exit(unittest.main())
