"""Measurement 11 (`--only 11`, sv only): what health checks cost.

N programs (`bench/child.c`), each `health=tcp:127.0.0.1:PORT` with
`health_interval=1` (and `ready=` on the same port), against one
`bench/listener.c` holding all N ports, started by the harness (its CPU is
not counted). First, every program STOPPED: the daemon's wake-ups with
checks configured and none due (target: 0, as with no checks at all, which
measurement 3 shows). Then `start all` and, once every program is RUNNING,
the daemon's CPU time over a window (utime + stime from /proc/PID/stat) as
a share of one core: N tcp checks a second (target: under 5 % for 1000).
The peers have nothing of the kind (supervisord, s6 and runit run no health
checks).
"""

import os
import signal
import subprocess
import time

from common import *  # noqa: F401,F403
from deptree import free_ports, wait_stopped, count_running
from systems import Workload


def stat_ticks(pid):
    """utime + stime of /proc/PID/stat, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def bench_health(ctx, system, n, idle_s, window_s):
    """Returns (wake-ups over idle_s with checks configured, all stopped;
    CPU % of one core over window_s with N checks a second; wake-ups per
    second meanwhile; unhealthy programs seen at the end)."""
    fifo = Fifo(os.path.join(ctx.tmp, "health.fifo"))
    lis = None
    try:
        base = free_ports(n)
        lis = subprocess.Popen([ctx.helper("listener"), fifo.path, "0", str(base), str(n)],
                               stdin=subprocess.DEVNULL, start_new_session=True)
        PIDS.record(lis.pid)
        got = fifo.lines(2, 10)
        if not any(g[2:] == ("L",) for g in got):
            raise RuntimeError(f"the listener did not open its {n} ports")
        text = ""
        for i in range(n):
            port = base + i
            text += f"""[program:h_{i:04d}]
command={ctx.child} {fifo.path}
autostart=false
startsecs=0
ready=tcp:127.0.0.1:{port}
health=tcp:127.0.0.1:{port}
health_interval=1
stopwaitsecs=5
stdout_logfile=/dev/null
redirect_stderr=true

"""
        system.prepare(Workload(n, [ctx.child], raw=text), "health")
        pid = system.start()
        wait_stopped(system, n)
        time.sleep(1)
        a = snapshot([pid])
        time.sleep(idle_s)
        _, idle_wake, _ = snap_delta(a, snapshot([pid]))

        if system.run_cmd(system.start_all(), timeout=600) != 0:
            raise CmdFailed("`start all` failed")
        if len(fifo.lines(n, 60)) < n:
            raise RuntimeError("not every program started")
        time.sleep(1.1)  # past the first round of checks
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0, s0 = time.monotonic(), stat_ticks(pid), snapshot([pid])
        time.sleep(window_s)
        t1, c1, s1 = time.monotonic(), stat_ticks(pid), snapshot([pid])
        cpu_pct = (c1 - c0) / hz / (t1 - t0) * 100
        _, wake, _ = snap_delta(s0, s1)
        r = subprocess.run(system.status_all(), capture_output=True, text=True,
                           env=system.env(), timeout=60)
        unhealthy = sum("unhealthy" in ln for ln in r.stdout.splitlines())
        up = count_running(system)
        if up != n:
            raise RuntimeError(f"{up} of {n} RUNNING after the window")
        return idle_wake, cpu_pct, wake / (t1 - t0), unhealthy
    finally:
        if lis is not None:
            lis.send_signal(signal.SIGTERM)
            lis.wait()
        system.stop()
        fifo.close()
