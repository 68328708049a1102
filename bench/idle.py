"""Measurement 3 (`--only 3`): CPU time and wake-ups of a supervisor that
has nothing to do.
"""

import os
import time

from common import *  # noqa: F401,F403
from systems import Workload


def bench_idle(ctx, system, n, windows, window_s):
    fifo = Fifo(os.path.join(ctx.tmp, "idle.fifo"))
    try:
        system.prepare(Workload(n, [ctx.child, fifo.path]), "idle")
        system.start()
        if len(fifo.lines(n, 120)) < n:
            raise RuntimeError("not all programs started")
        time.sleep(2)
        side = system.side()
        snaps = [snapshot(side)]
        for _ in range(windows):
            time.sleep(window_s)
            snaps.append(snapshot(side))
        cpu, wake = [], []
        for a, b in zip(snaps, snaps[1:]):
            c, v, _ = snap_delta(a, b)
            cpu.append(c / 1e6)
            wake.append(v)
        return Stat(cpu, "ms"), Stat(wake, ""), len(side)
    finally:
        system.stop()
        fifo.close()
