#!/usr/bin/env python3
"""Raw HTTP for test/integration/hostile.sh: what curl will not send.

raw_http.py PORT MODE: MODE http10 (one HTTP/1.0 GetCACaps: prints the
status line, then "closed" once scepd closes the connection), pipeline
(two GetCACaps in one write: prints each status line and body in the
order they come), badchunk (a POST with chunk size "zz": prints the
status line).
"""
import re
import socket
import sys

CAPS = "GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n"


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if mode == "http10":
        s.sendall(b"GET /scep?operation=GetCACaps HTTP/1.0\r\n\r\n")
    elif mode == "pipeline":
        s.sendall((CAPS.replace("GetCACaps", "GetCACaps&message=1") +
                   CAPS.replace("GetCACaps", "GetCACert")).encode())
    elif mode == "badchunk":
        s.sendall(b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                data += b"\nclosed"
                break
            data += b
            if mode == "pipeline" and data.count(b"HTTP/1.1 ") == 2 and \
                    b"Content-Type: application/x-x509-ca-ra-cert" in data:
                break
    except socket.timeout:
        data += b"\ntimeout"
    # Status lines and the headers that matter, in the order they came.
    for m in re.finditer(rb"HTTP/1\.[01] [0-9]{3}|Content-Type: [^\r]*|"
                         rb"Connection: [^\r]*|closed$", data):
        print(m.group(0).decode())


main()
