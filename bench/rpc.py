"""Measurement 12 (`--only 12`): supervisord's XML-RPC interface (issue 14).

N programs (`sleep`) on sv, started as supervisord would be with a
`[unix_http_server]` socket, and on supervisord with the same programs.
Once all are RUNNING:

- `getAllProcessInfo` (what `supervisorctl status` asks) from one client
  that keeps its connection (Python's http.client over the unix socket),
  timed per call: the server's own cost, without a client's start-up
  (target: sv at least 10x faster than supervisord);
- the real `supervisorctl status` command (from the venv, as users run it)
  against each, wall time of the whole command (Python's start-up counts
  for both alike);
- sv alone with 10 000 services (1000 with --quick): `getAllProcessInfo`
  (target: under 100 ms).
"""

import http.client
import os
import socket
import time
import xmlrpc.client

from common import *  # noqa: F401,F403
from deptree import count_running
from systems import Workload, ini_program


class UnixRpc:
    """An XML-RPC client over a unix socket on one kept-alive connection."""

    class Conn(http.client.HTTPConnection):
        def __init__(self, path):
            super().__init__("localhost", timeout=60)
            self.unix_path = path

        def connect(self):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(60)
            s.connect(self.unix_path)
            self.sock = s

    def __init__(self, path):
        self.conn = UnixRpc.Conn(path)

    def call(self, method, *params):
        body = xmlrpc.client.dumps(params, method)
        self.conn.request("POST", "/RPC2", body=body,
                          headers={"Content-Type": "text/xml"})
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{method}: HTTP {r.status}: {data[:200]!r}")
        return xmlrpc.client.loads(data)[0][0]

    def close(self):
        self.conn.close()


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
                client.call("supervisor.getAllProcessInfo")
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
