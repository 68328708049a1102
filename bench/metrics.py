"""Measurement 13 (`--only 13`): `GET /metrics` (issue 16), sv only.

N programs (`sleep`) on sv with an `[inet_http_server]`. Once all are
RUNNING:

- the daemon's voluntary context switches over a window with the HTTP
  server listening and nobody connected (target: 0, as without it);
- `GET /metrics` from one client that keeps its connection, timed per
  scrape from the request to the answer's last byte, the body left
  unparsed: the daemon's cost, /proc reads of every process group
  included (target: 10 000 services well under 100 ms).
"""

import socket
import time

from common import *  # noqa: F401,F403
from deptree import count_running, free_ports
from systems import Workload, ini_program


class HttpGet:
    """GET on one kept-alive TCP connection, the answer read by its
    Content-Length straight off the socket."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)

    def get(self, path):
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            got = self.sock.recv(1 << 20)
            if not got:
                raise RuntimeError(f"GET {path}: the server closed the connection")
            buf += got
        head, _, data = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if " 200 " not in lines[0] + " ":
            raise RuntimeError(f"GET {path}: {lines[0]}")
        length = None
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        if length is None:
            raise RuntimeError(f"GET {path}: no Content-Length in the answer")
        parts, have = [data], len(data)
        while have < length:
            got = self.sock.recv(1 << 20)
            if not got:
                raise RuntimeError(f"GET {path}: the answer was cut at {have} of {length}")
            parts.append(got)
            have += len(got)
        return b"".join(parts)

    def close(self):
        self.sock.close()


def bench_metrics(ctx, system, n, scrapes, idle_s):
    """Returns (Stat of one scrape in ms, body size in bytes, wake-ups of
    the idle daemon over idle_s with the server listening, the daemon's CPU
    ms a scrape: steadier than the wall time on a loaded machine)."""
    port = free_ports(1)
    wl = Workload(n, ["/bin/sleep", "1000000"])
    wl.raw = f"[inet_http_server]\nport=127.0.0.1:{port}\n\n" + ini_program(wl)
    system.prepare(wl, "metrics")
    try:
        system.start()
        deadline = time.monotonic() + 300
        while count_running(system) != n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not all {n} programs RUNNING{system.failure()}")
            time.sleep(0.2)
        # Idle: the server listens, nobody is connected.
        time.sleep(2)
        side = system.side()
        a = snapshot(side)
        time.sleep(idle_s)
        _, wake, _ = snap_delta(a, snapshot(side))
        client = HttpGet(port)
        try:
            for _ in range(3):
                body = client.get("/metrics")
            want = f'sv_daemon_services{{instance="0"}} {n}\n'.encode()
            if want not in body:
                raise RuntimeError(f"/metrics does not say {n} services")
            vals = []
            c0 = snapshot(side)
            for _ in range(scrapes):
                t0 = time.perf_counter_ns()
                client.get("/metrics")
                vals.append((time.perf_counter_ns() - t0) / 1e6)
            cpu, _, _ = snap_delta(c0, snapshot(side))
        finally:
            client.close()
        return Stat(vals, "ms"), len(body), wake, cpu / 1e6 / scrapes
    finally:
        system.stop()
