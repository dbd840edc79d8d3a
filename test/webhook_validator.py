#!/usr/bin/env python3
"""Test validator for scepd's delegated validation (docs/webhook.md).

Listens on 127.0.0.1, checks the signature and timestamp freshness of every
request (X-Scepd-Signature: sha256=<hex HMAC-SHA256(secret, ts "." body)>),
answers "validate" requests in a mode chosen by the CSR subject's CN prefix
(the part before the first "-", e.g. CN=deny-3 -> deny) or by --mode, and
records every request it got as one JSON line in --record:
  {"path", "type", "hmac_ok", "fresh", "mode", "body"}

Modes: allow (device_id "dev-<CN>", a SID and vars), deny, slow (sleeps
--slow seconds, then allows), garbage (200, not JSON), huge (200, JSON over
64 KiB), http500, close (closes the connection unanswered), badtype
(200, "allow": "yes").  A request with a bad signature or a stale timestamp
gets 401 whatever the mode.
"""
import argparse
import hashlib
import hmac
import json
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("allow", "deny", "slow", "garbage", "huge", "http500", "close",
         "badtype")
SID = "S-1-5-21-1004336348-1177238915-682003330-1001"

lock = threading.Lock()
args = None


def record(entry):
    with lock, open(args.record, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("validator: " + (fmt % a) + "\n")

    def send_json(self, status, obj):
        data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ts = self.headers.get("X-Scepd-Timestamp", "")
        sig = self.headers.get("X-Scepd-Signature", "")
        want = "sha256=" + hmac.new(args.secret.encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        hmac_ok = hmac.compare_digest(want, sig)
        fresh = ts.isdigit() and abs(time.time() - int(ts)) <= 300
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        typ = doc.get("type") if isinstance(doc, dict) else None
        mode = args.mode
        if typ == "validate":
            m = re.search(r"(?:^|,)CN=([^,]*)", doc.get("subject", ""))
            cn = m.group(1) if m else ""
            if cn.split("-")[0] in MODES:
                mode = cn.split("-")[0]
        else:
            mode = "notify"
        record({"path": self.path, "type": typ, "hmac_ok": hmac_ok,
                "fresh": fresh, "mode": mode,
                "content_type": self.headers.get("Content-Type"),
                "body": doc})
        if not hmac_ok or not fresh:
            self.send_json(401, {"error": "bad signature or stale timestamp"})
            return
        if typ != "validate":
            self.send_json(200, {})
            return
        if args.challenge and doc.get("challenge") != args.challenge:
            self.send_json(200, {"allow": False, "reason": "wrong challenge"})
            return
        if mode == "slow":
            time.sleep(args.slow)
            mode = "allow"
        if mode == "allow":
            self.send_json(200, {"allow": True, "reason": "in inventory",
                                 "device_id": "dev-" + cn, "sid": SID,
                                 "vars": {"dept": "eng", "cn": cn}})
        elif mode == "deny":
            self.send_json(200, {"allow": False,
                                 "reason": "device not in inventory"})
        elif mode == "garbage":
            self.send_json(200, b"<html>this is not JSON</html>")
        elif mode == "huge":
            self.send_json(200, {"allow": True, "pad": "x" * 70000})
        elif mode == "http500":
            self.send_json(500, {"allow": True})
        elif mode == "badtype":
            self.send_json(200, {"allow": "yes"})
        elif mode == "close":
            self.close_connection = True


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--mode", default="allow", choices=MODES)
    p.add_argument("--slow", type=float, default=3.0)
    p.add_argument("--challenge", default="")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
