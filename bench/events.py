"""Measurement 13 (`--only 13`): PROCESS_LOG events to a listener (issue 15).

N programs (`bench/lines.c`, RATE lines a second each in bursts every
PERIOD ms, one write(2) a line, to a log file each) with `stdout_events_enabled=true`, and one `[eventlistener:count]`
subscribed to PROCESS_LOG: `bench/events_listener.py`, written with
`supervisor.childutils` as its docs show, which counts the events and the
lines in them and reports its counts every 0.1 s. The same config on sv
and on supervisord. Once every program is RUNNING and events flow, the
figures over a window of W seconds: events delivered a second (each one a
READY, a header and payload, an OK: the protocol's round trip), lines
delivered a second (a supervisor may put several lines in one event), the
share of the offered lines delivered (the rest were dropped from the full
buffer, oldest first, or are still in the pipes), and the daemon's CPU.
"""

import os
import sys
import time

from common import *  # noqa: F401,F403
from deptree import count_running
from systems import Workload


def read_reports(path):
    """[(ns, events, lines)] the listener has reported so far."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and line.endswith("\n"):
                    out.append(tuple(int(p) for p in parts))
    except OSError:
        pass
    return out


def wait_reports(path, after_ns, timeout, system):
    """The first report taken after `after_ns`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rs = [r for r in read_reports(path) if r[0] >= after_ns]
        if rs:
            return rs[0]
        if system.proc is None or system.proc.poll() is not None:
            raise RuntimeError(f"the daemon is gone{system.failure()}")
        time.sleep(0.05)
    raise RuntimeError(f"no PROCESS_LOG event reached the listener in {timeout} s"
                       f"{system.failure()}")


def bench_events(ctx, system, n, rate, period_ms, window_s, windows):
    """Returns (events/s, lines/s, % of offered lines delivered, daemon CPU %),
    each a Stat over `windows` windows of `window_s` seconds."""
    if not ctx.venv or not os.path.exists(os.path.join(ctx.venv, "bin", "python")):
        raise RuntimeError("no venv with supervisor's childutils for the listener")
    python = os.path.join(ctx.venv, "bin", "python")
    here = os.path.dirname(os.path.abspath(__file__))
    listener = os.path.join(here, "events_listener.py")
    wl = Workload(n, [ctx.helper("lines"), str(rate), str(period_ms)],
                  program_keys="stdout_events_enabled=true\n")
    system.prepare(wl, "events")
    # Each program's output also goes to its own log file, as it would in
    # use (and sv raises no PROCESS_LOG for output sent nowhere yet).
    wl.log_path = os.path.join(system.dir, "%(program_name)s_%(process_num)02d.log")
    report = os.path.join(system.dir, "listener.report")
    wl.extra = f"""[eventlistener:count]
command={python} {listener} {report}
events=PROCESS_LOG
buffer_size=10
startsecs=0
stdout_logfile={"NONE" if system.name == "supervisord" else "/dev/null"}
stderr_logfile={os.path.join(system.dir, "listener.err")}

"""
    try:
        system.start()
        # The programs RUNNING (the listener may be listed too).
        deadline = time.monotonic() + 120
        while count_running(system) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not all {n} programs RUNNING after 120 s{system.failure()}")
            time.sleep(0.2)
        # Events flowing: a first report, then one more for a clean start.
        first = wait_reports(report, 0, 30, system)
        start = wait_reports(report, first[0] + 1, 30, system)
        ev, ln, share, cpu = [], [], [], []
        for _ in range(windows):
            c0 = cpu_ns(system.proc.pid)
            t0 = time.monotonic_ns()
            time.sleep(window_s)
            end = wait_reports(report, max(t0 + window_s * 10**9, start[0] + 1), 30, system)
            c1 = cpu_ns(system.proc.pid)
            t1 = time.monotonic_ns()
            secs = (end[0] - start[0]) / 1e9
            ev.append((end[1] - start[1]) / secs)
            ln.append((end[2] - start[2]) / secs)
            share.append(100 * (end[2] - start[2]) / (secs * n * rate))
            cpu.append(100 * (c1 - c0) / (t1 - t0))
            start = end
        return (Stat(ev, "events/s", "higher"), Stat(ln, "lines/s", "higher"),
                Stat(share, "%", "higher"), Stat(cpu, "%"))
    finally:
        system.stop()


if __name__ == "__main__":
    sys.exit("run through scripts/bench.sh --only 13")
