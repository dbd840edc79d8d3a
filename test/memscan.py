#!/usr/bin/env python3
"""memscan.py PID KEY: how many times a piece of KEY's private part is in
the memory of process PID.

KEY is a PEM RSA private key.  The pieces are 32 bytes from the middle of
each prime and of the private exponent, in big-endian order (as DER and
files hold them) and little-endian (as OpenSSL's BIGNUMs hold them in
memory on this machine).  Prints the count; exits 2 if the memory cannot
be read (no permission to trace PID).
"""
import re
import subprocess
import sys

CHUNK = 16 << 20
BIGGEST = 4 << 30


def pieces(key):
    text = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    out = []
    for name in ("privateExponent", "prime1", "prime2"):
        m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
        mid = len(raw) // 2
        chunk = raw[mid - 16:mid + 16]
        out += [chunk, chunk[::-1]]
    return out


def main():
    pid, key = sys.argv[1], sys.argv[2]
    want = pieces(key)
    found = 0
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", 0)
    except PermissionError:
        sys.exit(2)
    for line in maps:
        addr, perms = line.split()[:2]
        if "r" not in perms:
            continue
        lo, hi = (int(x, 16) for x in addr.split("-"))
        # A sanitizer's shadow memory: terabytes reserved, nothing of ours.
        if hi - lo > BIGGEST:
            continue
        # In chunks that overlap by a piece's length less one.
        at = lo
        while at < hi:
            n = min(CHUNK, hi - at)
            try:
                mem.seek(at)
                data = mem.read(n + 31 if at + n < hi else n)
            except (OSError, ValueError, OverflowError):
                break
            # (A piece in an overlap may count twice: 0 or not is the point.)
            for w in want:
                found += data.count(w)
            at += n
    print(found)


main()
