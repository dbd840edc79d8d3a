#!/usr/bin/env python3
"""Recording HTTP proxy for the interop tests: shows what a client sends.

Listens on 127.0.0.1:PORT, forwards every GET and POST to TARGET (a base
URL such as http://127.0.0.1:18100) unchanged, answers with the target's
status, Content-Type and body, and writes the body of each POST to
OUTDIR/post-N.der before forwarding it, N the lowest number not yet in
OUTDIR (1, 2, ... in arrival order; empty OUTDIR to start again), so a
test can decode the pkiMessage a real client produced.

usage: record_proxy.py PORT TARGET OUTDIR
"""
import os
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer


class Proxy(BaseHTTPRequestHandler):
    target = ""
    outdir = ""

    def forward(self, body):
        req = urllib.request.Request(self.target + self.path, data=body,
                                     method=self.command)
        for h in ("Content-Type",):
            if self.headers.get(h) is not None:
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, ctype, data = (resp.status,
                                       resp.headers.get("Content-Type"),
                                       resp.read())
        except urllib.error.HTTPError as e:
            status, ctype, data = e.code, e.headers.get("Content-Type"), \
                e.read()
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.forward(None)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = 1
        while os.path.exists(os.path.join(self.outdir, "post-%d.der" % n)):
            n += 1
        path = os.path.join(self.outdir, "post-%d.der" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path)
        self.forward(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("record_proxy: " + (fmt % args) + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    Proxy.target = sys.argv[2].rstrip("/")
    Proxy.outdir = sys.argv[3]
    os.makedirs(Proxy.outdir, exist_ok=True)
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Proxy).serve_forever()


if __name__ == "__main__":
    main()
