#!/usr/bin/env python3
"""A TCP proxy in front of PostgreSQL's Unix socket that, while the file
given by --switch exists, holds every message a client sends for --delay
seconds before passing it on: "PostgreSQL delayed 2 s per statement" for
scripts/bench.sh.  With --delay 0 it holds them until the file is gone:
a database that does not answer, for test/integration/stall.sh.  Loopback
only; one thread per direction and connection.

Usage: slow_pg_proxy.py --listen PORT --socket /path/.s.PGSQL.5432
                        --switch FILE [--delay 2]
"""
import argparse
import os
import socket
import threading
import time


def pump(src, dst, delay, switch):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if delay and os.path.exists(switch):
                time.sleep(delay)
            while delay == 0 and switch and os.path.exists(switch):
                time.sleep(0.05)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--socket", required=True)
    p.add_argument("--switch", required=True)
    p.add_argument("--delay", type=float, default=2.0)
    a = p.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.connect(a.socket)
        # Only what the client sends waits: a statement, not its answer.
        threading.Thread(target=pump, args=(c, u, a.delay, a.switch),
                         daemon=True).start()
        threading.Thread(target=pump, args=(u, c, None, None),
                         daemon=True).start()


if __name__ == "__main__":
    main()
