"""Measurement 1 (`--only 1`): how fast a service that exits is started
again, against the floor of a plain fork/exec loop.
"""

import os
import signal
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def bench_restart(ctx, system, count):
    fifo = Fifo(os.path.join(ctx.tmp, "restart.fifo"))
    try:
        if system is None:  # the floor
            r = subprocess.run([ctx.helper("floor_restart"), ctx.child, fifo.path, str(count),
                                "200"], capture_output=True, text=True, timeout=600)
            return Stat([int(x) / 1e6 for x in r.stdout.split()], "ms")
        system.prepare(Workload(1, [ctx.child, fifo.path]), "restart")
        system.start()
        first = fifo.lines(1, 30)
        if not first:
            raise RuntimeError("the child never started")
        pid = first[0][0]
        samples = []
        for _ in range(count):
            time.sleep(settle_for(system))
            t0 = now_ns()
            os.kill(pid, signal.SIGKILL)
            got = fifo.lines(1, 30)
            if not got:
                log(f"{system.name}: no restart within 30 s")
                break
            pid, ns = got[0][0], got[0][1]
            samples.append((ns - t0) / 1e6)
        return Stat(samples, "ms")
    finally:
        if system:
            system.stop()
        fifo.close()
