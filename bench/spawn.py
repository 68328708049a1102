"""Measurements 2 and 4 (`--only 2,4`): time to spawn N services, and the
memory the supervisor uses for them.
"""

import os
import signal
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def bench_spawn(ctx, system, n, runs, timeout):
    """Time from start to all N running, and the supervisor side's memory
    once they are."""
    times, rss, pss = [], [], []
    for run in range(runs):
        fifo = Fifo(os.path.join(ctx.tmp, "spawn.fifo"))
        floor = None
        try:
            t0 = now_ns()
            if system is None:
                floor = subprocess.Popen([ctx.helper("floor_spawn"), ctx.child, fifo.path, str(n)])
                PIDS.record(floor.pid)
            else:
                system.prepare(Workload(n, [ctx.child, fifo.path]), f"spawn{n}")
                system.start(limit_fds=None)
            got = fifo.lines(n, timeout, stall=60)
            if len(got) < n:
                log(f"{system.name if system else 'floor'}: only {len(got)} of {n} "
                    f"running (none more for 60 s){system.failure() if system else ''}")
                return None, None, None
            times.append((max(g[1] for g in got) - t0) / 1e6)
            if system is not None:
                time.sleep(1.0)  # let it finish its own bookkeeping
                side = system.side()
                mem = [smaps(p) for p in side]
                rss.append(sum(m[0] for m in mem) / 1024)
                pss.append(sum(m[1] for m in mem) / 1024)
        finally:
            if floor is not None:
                floor.send_signal(signal.SIGTERM)
                floor.wait()
            if system is not None:
                system.stop()
            fifo.close()
    unit = "ms"
    return (Stat(times, unit), Stat(rss, "MiB") if rss else None,
            Stat(pss, "MiB") if pss else None)
