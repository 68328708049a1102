"""Measurement 12 (`--only 12`): supervisord's XML-RPC interface (issue 14).

N programs (`sleep`) on sv, started as supervisord would be with a
`[unix_http_server]` socket, and on supervisord with the same programs.
Once all are RUNNING:

- `getAllProcessInfo` (what `supervisorctl status` asks) from one client
  that keeps its connection (over the unix socket, answers read by their
  Content-Length),
  timed per call from the request to the answer's last byte, the answer
  left unparsed: the server's own cost, without a client's start-up or XML
  parsing (target: sv at least 10x faster than supervisord);
- the real `supervisorctl status` command (from the venv, as users run it)
  against each, wall time of the whole command (Python's start-up counts
  for both alike);
- sv alone with 10 000 services (1000 with --quick): `getAllProcessInfo`
  (target: under 100 ms).
"""

import os
import socket
import time
import xmlrpc.client

from common import *  # noqa: F401,F403
from deptree import count_running
from systems import Workload, ini_program


class UnixRpc:
    """An XML-RPC client over a unix socket on one kept-alive connection,
    reading answers by their Content-Length straight off the socket
    (http.client's line-by-line reading costs more than a fast server)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)

    def raw(self, method, *params):
        """The answer's body, unparsed: what the server costs, without
        Python's XML parsing, which costs both servers alike."""
        body = xmlrpc.client.dumps(params, method).encode()
        self.sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\n"
                          b"Content-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
                          % len(body) + body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            got = self.sock.recv(1 << 20)
            if not got:
                raise RuntimeError(f"{method}: the server closed the connection")
            buf += got
        head, _, data = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if " 200 " not in lines[0] + " ":
            raise RuntimeError(f"{method}: {lines[0]}")
        length = None
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        if length is None:
            raise RuntimeError(f"{method}: no Content-Length in the answer")
        parts = [data]
        have = len(data)
        while have < length:
            got = self.sock.recv(1 << 20)
            if not got:
                raise RuntimeError(f"{method}: the answer was cut at {have} of {length}")
            parts.append(got)
            have += len(got)
        return b"".join(parts)

    def call(self, method, *params):
        return xmlrpc.client.loads(self.raw(method, *params))[0][0]

    def close(self):
        self.sock.close()


def wait_all_running(system, n, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_running(system) == n:
            return
        time.sleep(0.2)
    raise RuntimeError(f"not all {n} programs RUNNING after {timeout} s{system.failure()}")


def server_socket(ctx, system):
    if system.name == "sv":
        return os.path.join(ctx.tmp, "sv-rpc.sock")
    return os.path.join(system.dir, "supervisor.sock")


def bench_rpc(ctx, system, n, calls, ctl_runs):
    """Returns (getAllProcessInfo per call, Stat ms; `supervisorctl status`
    per command, Stat ms or None without the venv's supervisorctl)."""
    wl = Workload(n, ["/bin/sleep", "1000000"])
    if system.name == "sv":
        sock = server_socket(ctx, system)
        wl.raw = f"[unix_http_server]\nfile={sock}\n\n" + ini_program(wl)
    system.prepare(wl, "rpc")
    try:
        system.start()
        wait_all_running(system, n)
        sock = server_socket(ctx, system)
        client = UnixRpc(sock)
        try:
            for _ in range(3):
                got = client.call("supervisor.getAllProcessInfo")
            if len(got) != n:
                raise RuntimeError(f"getAllProcessInfo gave {len(got)} of {n} processes")
            vals = []
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                client.raw("supervisor.getAllProcessInfo")
                vals.append((time.perf_counter_ns() - t0) / 1e6)
        finally:
            client.close()
        ctl = os.path.join(ctx.venv, "bin", "supervisorctl") if ctx.venv else ""
        ctl_stat = None
        if ctl_runs and ctl and os.path.exists(ctl):
            ns = timecmd(ctx, system, ctl_runs, [ctl, "-s", f"unix://{sock}", "status"])
            ctl_stat = Stat([v / 1e6 for v in ns], "ms")
        return Stat(vals, "ms"), ctl_stat
    finally:
        system.stop()
