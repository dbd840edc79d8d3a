#!/usr/bin/env python3
"""Timing per class of refusal, for make bench (scripts/bench.sh).

  mann_whitney.py LATENCIES REFERENCE

LATENCIES holds "transactionID milliseconds" lines (scepbench -l); a
transactionID's class is what precedes its last "-" (e.g. "corrupt-rsa"
for "corrupt-rsa-17").  Each class is compared with REFERENCE by the
Mann-Whitney U test (normal approximation, ties corrected); one line per
class: its count, median, U, z and the two-sided p.  A p above 0.01 means
no timing difference is detectable between the two at these counts.
"""
import math
import sys


def ranks(values):
    """Average ranks (1-based) of values, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return r, ties


def mann_whitney(a, b):
    n1, n2 = len(a), len(b)
    r, ties = ranks(a + b)
    u = sum(r[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    tie = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie))
    z = (u - n1 * n2 / 2) / sigma if sigma > 0 else 0.0
    return u, z, math.erfc(abs(z) / math.sqrt(2))


def median(v):
    s = sorted(v)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    classes = {}
    for line in open(sys.argv[1]):
        tid, ms = line.split()
        classes.setdefault(tid.rsplit("-", 1)[0], []).append(float(ms))
    ref = classes.get(sys.argv[2])
    if not ref:
        sys.exit("no samples of the reference class %s" % sys.argv[2])
    print("%-16s %6s %9s %12s %7s %7s" % ("class", "n", "median_ms", "U",
                                          "z", "p"))
    for name in sorted(classes):
        v = classes[name]
        u, z, p = mann_whitney(v, ref)
        print("%-16s %6d %9.3f %12.0f %7.2f %7.3f%s" % (
            name, len(v), median(v), u, z, p,
            "  (reference)" if name == sys.argv[2] else ""))


if __name__ == "__main__":
    main()
