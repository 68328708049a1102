"""Measurement 15 (`--only 15`, sv only): wake-ups with schedules (SPEC §17).

The daemon sleeps until the nearest due time with everything else: no
tick, no wake-up between runs. Two runs of the daemon, each with one
scheduled program (`/bin/sh -c "echo >> FILE"`, output discarded), its
voluntary context switches counted over a window once it is up:

- `schedule=@every 1h`: no run falls in the window; target 0 wake-ups,
  as with no schedule at all (measurement 3);
- `schedule=*/10 * * * * *` (a run every 10 s, on the wall clock): the
  wake-ups come with the runs only (spawn, exec, exit); reported per run.

The peers have no schedules (supervisord, s6 and runit start programs at
boot or by command only), so sv alone is measured.
"""

import os
import time

from common import *  # noqa: F401,F403
from systems import Workload


def _one(ctx, system, expr, window_s, tag):
    """(wake-ups over window_s, runs in it) of a daemon with one program
    scheduled by `expr`."""
    runs = os.path.join(ctx.tmp, f"schedule-{tag}.runs")
    open(runs, "w").close()
    text = f"""[program:sched]
command=/bin/sh -c "echo run >> {runs}"
schedule={expr}
stdout_logfile=/dev/null
redirect_stderr=true
"""
    try:
        system.prepare(Workload(1, ["/bin/true"], raw=text), f"schedule-{tag}")
        pid = system.start()
        # Up and answering; then a moment for the first pass to settle.
        deadline = time.monotonic() + 10
        while system.run_cmd([system.bin, "status", "-i", "0"], timeout=10) != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon never answered")
            time.sleep(0.05)
        time.sleep(1)
        n0 = sum(1 for _ in open(runs))
        a = snapshot([pid])
        time.sleep(window_s)
        b = snapshot([pid])
        n1 = sum(1 for _ in open(runs))
        _, wake, _ = snap_delta(a, b)
        return wake, n1 - n0
    finally:
        system.stop()


def bench_schedule(ctx, system, window_s, runs_window_s):
    """Returns ((wake-ups, runs) with @every 1h over window_s, (wake-ups,
    runs) with a run every 10 s over runs_window_s)."""
    hourly = _one(ctx, system, "@every 1h", window_s, "hourly")
    tens = _one(ctx, system, "*/10 * * * * *", runs_window_s, "10s")
    return hourly, tens
