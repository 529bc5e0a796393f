#!/usr/bin/env python3
"""DKIM verifications per second against `openssl speed` verify for the same key types, in one
run (issue 5's benchmark), plus SPF evaluations per second from a warm cache. Runs
build/benchmarks/micro/auth_bench (AUTH_BENCH to override) and `openssl speed -seconds N
rsa2048 ed25519`, both on one core, and prints the ratios. Standard library only.
    benchmarks/micro/auth_speed.py            # about 30 s
    SECONDS_PER_CASE=5 benchmarks/micro/auth_speed.py
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = os.environ.get("AUTH_BENCH", str(REPO / "build" / "benchmarks" / "micro" / "auth_bench"))
SECONDS = int(os.environ.get("SECONDS_PER_CASE", "3"))


def openssl_verify_per_second():
    out = subprocess.run(["openssl", "speed", "-seconds", str(SECONDS), "rsa2048", "ed25519"],
                         capture_output=True, text=True, timeout=20 * SECONDS + 60,
                         check=True).stdout
    rsa = re.search(r"^rsa 2048 bits .*\s([\d.]+)\s*$", out, re.M)
    ed = re.search(r"EdDSA \(Ed25519\).*\s([\d.]+)\s*$", out, re.M)
    if not rsa or not ed:
        sys.exit(f"cannot read openssl speed's output:\n{out}")
    return {"rsa2048": float(rsa.group(1)), "ed25519": float(ed.group(1))}


def bench_per_second():
    out = subprocess.run([BENCH, f"--benchmark_min_time={SECONDS}", "--benchmark_format=json"],
                         capture_output=True, text=True, timeout=30 * SECONDS + 60,
                         check=True).stdout
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        # CPU time: the machine is shared, and openssl speed reports CPU-bound rates as well.
        rates[b["name"]] = 1e9 / b["cpu_time"] if b["time_unit"] == "ns" else None
    return rates


def main():
    openssl = openssl_verify_per_second()
    ours = bench_per_second()
    print(f"{'case':34} {'mxgate/s':>10} {'openssl/s':>10} {'ratio':>6}")
    for key in ("rsa2048", "ed25519"):
        for name in (f"BM_DkimVerify/{key}", f"BM_DkimVerifyParsedKey/{key}",
                     f"BM_GatewayMessage/{key}"):
            print(f"{name:34} {ours[name]:10.0f} {openssl[key]:10.0f} "
                  f"{ours[name] / openssl[key]:6.2f}")
    print(f"{'BM_SpfWarm':34} {ours['BM_SpfWarm']:10.0f}")


if __name__ == "__main__":
    main()
