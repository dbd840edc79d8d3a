#!/usr/bin/env python3
"""Slow and stuck HTTP clients for test/integration/slowloris.sh.

  slow_client.py dribble PORT header|body INTERVAL MAXSECS
      one connection that sends a request one byte every INTERVAL s (the
      request line and headers, or whole headers and then the body);
      prints "cut after N of M bytes" when the server ends the connection,
      "complete" if the whole request went out, "still open" after MAXSECS.
  slow_client.py idle PORT IDLE
      a whole GetCACaps, IDLE s of silence on the kept-alive connection,
      a second whole GetCACaps: prints the two status codes.
  slow_client.py crowd PORT N SRC[,SRC...] STATUS STOP
      N connections from the source addresses in turn, each sending one
      header byte a second and opening again when the server ends it,
      until the file STOP exists; STATUS is rewritten each second with
      "open=O cuts=C".
  slow_client.py hold PORT N STOP
      N connections that send nothing, until STOP exists; prints how many
      were established.
"""
import asyncio
import os
import socket
import sys
import time

HEAD = (b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-Slow: " + b"a" * 200 + b"\r\n\r\n")
BODY = b"x" * 1000
POST = (b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-pki-message\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY))


def dribble(port, what, interval, maxsecs):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if what == "body":
        s.sendall(POST)
        data = BODY
    else:
        data = HEAD
    s.settimeout(interval)
    end = time.monotonic() + maxsecs
    sent = 0
    while sent < len(data) and time.monotonic() < end:
        try:
            s.send(data[sent:sent + 1])
        except OSError:
            break
        sent += 1
        try:
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    else:
        print("complete" if sent == len(data) else "still open")
        return
    print("cut after %d of %d bytes" % (sent, len(data)))


def answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    return head.split(b" ")[1].decode()


def idle(port, secs):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(HEAD)
    first = answer(s)
    time.sleep(secs)
    s.sendall(HEAD)
    print(first, answer(s))


async def crowd(port, n, srcs, status, stop):
    st = {"open": 0, "cuts": 0}

    async def one(src):
        while not os.path.exists(stop):
            try:
                r, w = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(src, 0))
            except OSError:
                await asyncio.sleep(0.5)
                continue
            st["open"] += 1
            i = 0
            try:
                while not os.path.exists(stop):
                    w.write(HEAD[i % (len(HEAD) - 4):][:1])
                    i += 1
                    await w.drain()
                    try:
                        if await asyncio.wait_for(r.read(1), 1.0) == b"":
                            break
                    except asyncio.TimeoutError:
                        pass
            except OSError:
                pass
            st["open"] -= 1
            if not os.path.exists(stop):
                st["cuts"] += 1
            w.close()

    async def report():
        while not os.path.exists(stop):
            with open(status + ".tmp", "w") as f:
                f.write("open=%d cuts=%d\n" % (st["open"], st["cuts"]))
            os.rename(status + ".tmp", status)
            await asyncio.sleep(1)

    tasks = [asyncio.ensure_future(one(srcs[i % len(srcs)]))
             for i in range(n)]
    await asyncio.gather(report(), *tasks)
    print("open=%d cuts=%d" % (st["open"], st["cuts"]))


def hold(port, n, stop):
    conns = []
    for _ in range(n):
        try:
            conns.append(socket.create_connection(("127.0.0.1", port),
                                                  timeout=2))
        except OSError:
            break
    print(len(conns), flush=True)
    while not os.path.exists(stop):
        time.sleep(0.1)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    a = sys.argv[3:]
    if mode == "dribble":
        dribble(port, a[0], float(a[1]), float(a[2]))
    elif mode == "idle":
        idle(port, float(a[0]))
    elif mode == "crowd":
        asyncio.run(crowd(port, int(a[0]), a[1].split(","), a[2], a[3]))
    elif mode == "hold":
        hold(port, int(a[0]), a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
