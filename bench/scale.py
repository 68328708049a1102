"""Measurement 7 (`--only 7`, not in --quick): many services: start,
status and memory.
"""

import os
import signal
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def bench_scale(ctx, system, n, runs, status_runs, timeout):
    start, status, rss, pss = [], [], [], []
    status_failed = None
    for run in range(runs):
        fifo = Fifo(os.path.join(ctx.tmp, "scale.fifo"))
        floor = None
        try:
            t0 = now_ns()
            if system is None:
                floor = subprocess.Popen([ctx.helper("floor_spawn"), ctx.child, fifo.path, str(n)])
                PIDS.record(floor.pid)
            else:
                system.prepare(Workload(n, [ctx.child, fifo.path]), "scale")
                system.start()
            got = fifo.lines(n, timeout, stall=30)
            if len(got) < n:
                why = (f"only {len(got)} of {n} running (none more for 30 s)"
                       f"{system.failure() if system else ''}")
                log(f"{system.name if system else 'floor'}: {why}")
                return why, None, None
            start.append((max(g[1] for g in got) - t0) / 1e9)
            if system is None:
                continue
            time.sleep(2)
            mem = [smaps(p) for p in system.side()]
            rss.append(sum(m[0] for m in mem) / 1024)
            pss.append(sum(m[1] for m in mem) / 1024)
            try:
                status += [x / 1e6 for x in timecmd(ctx, system, status_runs,
                                                    system.status_all())]
            except CmdFailed as e:
                status_failed = str(e)
        finally:
            if floor is not None:
                floor.send_signal(signal.SIGTERM)
                floor.wait()
            if system is not None:
                system.stop()
            fifo.close()
    if status_failed:
        status = status_failed  # a failure outweighs any run that answered
    else:
        status = Stat(status, "ms") if status else None
    return (Stat(start, "s"), status,
            (Stat(rss, "MiB"), Stat(pss, "MiB")) if rss else None)


def merge_scale(a, b):
    """Two bench_scale results of the same system, as one."""
    start = Stat(a[0].values + b[0].values, "s")
    if isinstance(a[1], str) or isinstance(b[1], str):
        status = a[1] if isinstance(a[1], str) else b[1]
    elif a[1] and b[1]:
        status = Stat(a[1].values + b[1].values, "ms")
    else:
        status = a[1] or b[1]
    mem = a[2]
    if a[2] and b[2]:
        mem = (Stat(a[2][0].values + b[2][0].values, "MiB"),
               Stat(a[2][1].values + b[2][1].values, "MiB"))
    return start, status, mem
