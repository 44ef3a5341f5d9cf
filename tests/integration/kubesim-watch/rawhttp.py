#!/usr/bin/env python3
"""Raw HTTPS GET against kubesim with its client certificate, reporting the
wire format a library would hide: status, headers, every chunk of a
chunked body as it arrives, and whether the body ended with the
terminating chunk or the connection just closed.

usage: rawhttp.py SIMDIR URL-PATH [MAX-SECONDS]

Prints, flushing each line: STATUS n, HEADER name: value, CHUNK <json
string of the chunk>, then END terminated | END abrupt | END timeout.
"""
import json
import re
import socket
import ssl
import sys
import time


def main():
    simdir, path = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    kubeconfig = open(simdir + "/kubeconfig").read()
    port = int(re.search(r"https://127\.0\.0\.1:(\d+)", kubeconfig).group(1))
    ctx = ssl.create_default_context(cafile=simdir + "/ca.crt")
    ctx.load_cert_chain(simdir + "/client.crt", simdir + "/client.key")
    ctx.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", port), timeout=limit)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(("GET %s HTTP/1.1\r\nHost: kubesim\r\nAccept: application/json\r\n\r\n" % path).encode())
    deadline = time.monotonic() + limit
    buf = b""

    def out(line):
        print(line, flush=True)

    def fill():
        nonlocal buf
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except (socket.timeout, TimeoutError):
            out("END timeout")
            sys.exit(0)
        except (ConnectionResetError, ssl.SSLError, OSError):
            data = b""
        if not data:
            return False
        buf += data
        return True

    while b"\r\n\r\n" not in buf:
        if not fill():
            out("END abrupt")
            return
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    out("STATUS " + lines[0].split()[1])
    headers = {}
    for h in lines[1:]:
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
        out("HEADER %s: %s" % (k.strip().lower(), v.strip()))
    if headers.get("transfer-encoding") != "chunked":
        n = int(headers.get("content-length", "0"))
        while len(buf) < n:
            if not fill():
                break
        out("BODY " + json.dumps(buf[:n].decode()))
        out("END terminated")
        return
    while True:
        while b"\r\n" not in buf:
            if not fill():
                out("END abrupt")
                return
        size_line, rest = buf.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(rest) < size + 2:
            buf = size_line + b"\r\n" + rest
            if not fill():
                out("END abrupt")
                return
            size_line, rest = buf.split(b"\r\n", 1)
        if size == 0:
            out("END terminated")
            return
        out("CHUNK " + json.dumps(rest[:size].decode()))
        buf = rest[size + 2:]


main()
