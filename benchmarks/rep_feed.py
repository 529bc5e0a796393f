#!/usr/bin/env python3
"""Writes a listing feed for `mxgate rep import` benchmarks (format: server/rep_format.hpp).

    benchmarks/rep_feed.py 10000000 /tmp/feed-10m.csv

Line i lists a distinct IPv4 address (a bijection of the 32-bit space, so the keys come in
scrambled order and the import has to sort them); every 50th line is a /24 network and every
100th an IPv6 /64 instead. Reasons (some quoted, with commas) and expiries (never, durations,
RFC 3339 times, Unix seconds) rotate. Standard library only; about 40 bytes a line.
"""

import sys

REASONS = ["spam trap hits", '"listed, by feed"', "snowshoe", "", "botnet C&C"]
EXPIRIES = ["", "7d", "2099-06-30T00:00:00Z", "30d", "4102444800"]


def line(i):
    x = (i * 2654435761 + 12345) & 0xFFFFFFFF
    if i % 100 == 99:
        target = f"2001:db8:{x >> 16:x}:{x & 0xffff:x}::/64"
    elif i % 50 == 49:
        target = f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.0/24"
    else:
        target = f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}"
    return f"{target},block,{REASONS[i % 5]},{EXPIRIES[(i // 5) % 5]}\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: rep_feed.py LINES FILE")
    count = int(sys.argv[1])
    with open(sys.argv[2], "w", buffering=1 << 20) as out:
        for start in range(0, count, 100_000):
            out.writelines(line(i) for i in range(start, min(count, start + 100_000)))


if __name__ == "__main__":
    main()
