"""Measurement 5 (`--only 5`): client command round trips, and a command
typed into sv's shell.
"""

import os
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def bench_commands(ctx, system, count):
    fifo = Fifo(os.path.join(ctx.tmp, "cmd.fifo"))
    out = {}
    try:
        if system is None:
            out["status"] = Stat([x / 1e6 for x in timecmd(ctx, None, count, [ctx.helper("noop")])],
                                 "ms")
            return out
        system.prepare(Workload(1, [ctx.child, fifo.path]), "cmd")
        system.start()
        if not fifo.lines(1, 30):
            raise RuntimeError("the child never started")
        time.sleep(settle_for(system))
        timecmd(ctx, system, 3, system.status_one())  # warm the caches
        out["status"] = Stat([x / 1e6 for x in timecmd(ctx, system, count, system.status_one())],
                             "ms")
        if system.name in ("s6", "runit"):
            # Each start must not come within a second of the last one
            # (their restart throttle): time the pairs one by one.
            vals = []
            for _ in range(count):
                time.sleep(1.05)
                vals += timecmd(ctx, system, 1, system.stop_one(), system.start_one())
        else:
            vals = timecmd(ctx, system, count, system.stop_one(), system.start_one())
        out["stopstart"] = Stat([x / 1e6 for x in vals], "ms")
        if system.name == "sv":
            out["shell"] = Stat(sv_shell_roundtrip(ctx, system, count), "ms")
        return out
    finally:
        if system:
            system.stop()
        fifo.close()


def sv_shell_roundtrip(ctx, system, count):
    """`status w_00` typed into one running `sv shell`: the request's own
    round trip, without starting a client process each time."""
    p = subprocess.Popen([system.bin, "shell", "-i", "0"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=system.env())
    PIDS.record(p.pid)
    vals = []
    try:
        for i in range(count + 3):
            t0 = now_ns()
            p.stdin.write(b"status w_00\n")
            p.stdin.flush()
            line = p.stdout.readline()
            t1 = now_ns()
            if not line:
                break
            if i >= 3:
                vals.append((t1 - t0) / 1e6)
    finally:
        p.stdin.close()
        p.wait(timeout=10)
    return vals
