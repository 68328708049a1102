"""Measurement 6 (`--only 6`): log throughput, against the floor of a plain
pipe into a file.
"""

import os
import shutil
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def log_size(system):
    total = 0
    for f in system.log_files():
        try:
            total += os.path.getsize(f)
        except OSError:
            pass
    return total


def bench_log(ctx, system, nbytes, runs):
    mbs, cpu = [], []
    for run in range(runs):
        os.sync()
        fifo = Fifo(os.path.join(ctx.tmp, "log.fifo"))
        target = os.path.join(ctx.tmp, "logs", f"out-{run}")
        shutil.rmtree(os.path.dirname(target), ignore_errors=True)
        os.makedirs(os.path.dirname(target))
        try:
            if system is None:
                raise ValueError
            logdir = target + ".d" if system.name in ("s6", "runit") else target
            system.prepare(Workload(1, [ctx.writer, fifo.path, str(nbytes)], log_path=logdir,
                                    shell_run=True), "log")
            system.start()
            got = fifo.lines(1, 30)
            if not got:
                raise RuntimeError("the writer never started")
            t0 = got[0][1]
            side = system.side()
            before = snapshot(side)
            deadline = time.monotonic() + 600
            while log_size(system) < nbytes and time.monotonic() < deadline:
                time.sleep(0.002)
            t1 = now_ns()
            size = log_size(system)
            after = snapshot(system.side())
            if size < nbytes:
                log(f"{system.name}: only {size} of {nbytes} bytes logged in 600 s")
                return None, None
            mbs.append(nbytes / 1e6 / ((t1 - t0) / 1e9))
            cpu.append(snap_delta(before, after)[0] / 1e9)
        finally:
            system.stop()
            fifo.close()
            shutil.rmtree(os.path.dirname(target), ignore_errors=True)
    return Stat(mbs, "MB/s", better="higher"), Stat(cpu, "s")


def bench_log_floor(ctx, nbytes, runs):
    """`writer > file`, and `writer | cat > file` with cat's CPU time."""
    direct, piped, cat_cpu, head_cat = [], [], [], []
    d = os.path.join(ctx.tmp, "logs")
    for run in range(runs):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        f = os.path.join(d, "direct")
        os.sync()
        with open(f, "wb") as out:
            t0 = now_ns()
            subprocess.run([ctx.writer, "-", str(nbytes), "exit"], stdout=out, check=True)
            t1 = now_ns()
        direct.append(nbytes / 1e6 / ((t1 - t0) / 1e9))
        os.unlink(f)
        os.sync()
        with open(f, "wb") as out:
            t0 = now_ns()
            w = subprocess.Popen([ctx.writer, "-", str(nbytes), "exit"], stdout=subprocess.PIPE)
            c = subprocess.Popen(["cat"], stdin=w.stdout, stdout=out)
            w.stdout.close()
            _, _, ru = os.wait4(c.pid, 0)
            c.returncode = 0
            w.wait()
            t1 = now_ns()
        piped.append(nbytes / 1e6 / ((t1 - t0) / 1e9))
        cat_cpu.append(ru.ru_utime + ru.ru_stime)
        os.unlink(f)
        os.sync()
        t0 = now_ns()
        subprocess.run(["sh", "-c", f"head -c {nbytes} /dev/zero | cat > {f}"], check=True)
        t1 = now_ns()
        head_cat.append(nbytes / 1e6 / ((t1 - t0) / 1e9))
    shutil.rmtree(d, ignore_errors=True)
    return (Stat(direct, "MB/s", "higher"), Stat(piped, "MB/s", "higher"),
            Stat(cat_cpu, "s"), Stat(head_cat, "MB/s", "higher"))
