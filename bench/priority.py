"""Measurement 9 (`--only 9`): start by priority levels.
"""

import os
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def bench_priority(ctx, system, n, runs):
    """`start all` of N programs at N priority levels with startsecs=1, to
    the command's return: sv's `start` and supervisorctl's both return once
    every one is RUNNING. Spawning level by level, waiting for each to be
    RUNNING, would take N seconds; spawning all at once about one."""
    fifo = Fifo(os.path.join(ctx.tmp, "priority.fifo"))
    try:
        system.prepare(Workload(n, [ctx.child, fifo.path], levels=True), "priority")
        system.start()
        # Up and answering, every program STOPPED (not autostarted).
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(system.status_all(), capture_output=True, text=True,
                               env=system.env(), timeout=60)
            if sum("STOPPED" in ln for ln in r.stdout.splitlines()) == n:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"not answering with {n} STOPPED{system.failure()}")
            time.sleep(0.05)
        samples = []
        for _ in range(runs):
            t0 = now_ns()
            rc = system.run_cmd(system.start_all(), timeout=120)
            t1 = now_ns()
            if rc != 0:
                raise CmdFailed(f"`start all` exited {rc}")
            if len(fifo.lines(n, 30)) < n:
                raise RuntimeError("not every child reported")
            samples.append((t1 - t0) / 1e6)
            if system.run_cmd(system.stop_all(), timeout=120) != 0:
                raise CmdFailed("`stop all` failed")
        return Stat(samples, "ms")
    finally:
        system.stop()
        fifo.close()
