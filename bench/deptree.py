"""Measurement 10 (`--only 10`, sv only): a dependency tree with tcp
readiness comes up within 1.1x its critical path.

N programs, each `bench/listener.c` that opens its port D ms after it
starts, each `ready=tcp:127.0.0.1:PORT`, program i `depends_on` program
(i-1)//FANOUT (a FANOUT-ary tree: binary in the full run). Not
autostarted; the figure is `sv start all` from its start to its exit,
which it makes once every program is RUNNING (ready). The critical path is
the tree's depth L: no schedule can do better than L x (D + one spawn).
The peers have nothing to compare (supervisord: no dependencies nor
readiness; s6: readiness notification, dependencies only in s6-rc; runit:
neither).
"""

import os
import socket
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import Workload


def free_ports(n, tries=50):
    """The first of n consecutive ports on 127.0.0.1 that nothing holds,
    below the ephemeral range (the daemon's own connections use that)."""
    import random

    try:
        lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    for _ in range(tries):
        base = random.randint(10000, max(10001, lo - n - 1))
        ok = True
        for p in range(base, base + n):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError(f"no {n} free consecutive ports")


def tree_depth(n, fanout):
    depth = [1] * n
    for i in range(1, n):
        depth[i] = depth[(i - 1) // fanout] + 1
    return max(depth)


def wait_stopped(system, n, timeout=60):
    """Up and answering, every program STOPPED (not autostarted)."""
    deadline = time.monotonic() + timeout
    while True:
        r = subprocess.run(system.status_all(), capture_output=True, text=True,
                           env=system.env(), timeout=60)
        if sum("STOPPED" in ln for ln in r.stdout.splitlines()) == n:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"not answering with {n} STOPPED{system.failure()}")
        time.sleep(0.05)


def count_running(system):
    r = subprocess.run(system.status_all(), capture_output=True, text=True,
                       env=system.env(), timeout=60)
    return sum(" RUNNING" in ln or ln.split()[1:2] == ["RUNNING"]
               for ln in r.stdout.splitlines())


def bench_deptree(ctx, system, n, fanout, delay_ms, runs):
    """Returns (Stat of `start all` in ms, Stat of the ideal L x (D + spawn)
    in ms, L, Stat of the hop: a port opening to its dependents' spawn, ms)."""
    fifo = Fifo(os.path.join(ctx.tmp, "deptree.fifo"))
    listener = ctx.helper("listener")
    try:
        base = free_ports(n)
        text = ""
        for i in range(n):
            deps = f"depends_on=t_{(i - 1) // fanout:03d}\n" if i else ""
            text += f"""[program:t_{i:03d}]
command={listener} {fifo.path} {delay_ms} {base + i}
autostart=false
startsecs=0
{deps}ready=tcp:127.0.0.1:{base + i}
stopwaitsecs=5
stdout_logfile=/dev/null
redirect_stderr=true

"""
        system.prepare(Workload(n, [listener], raw=text), "deptree")
        system.start()
        wait_stopped(system, n)
        L = tree_depth(n, fanout)
        took, ideal, hops = [], [], []
        for _ in range(runs):
            fifo.drain()
            t0 = now_ns()
            rc = system.run_cmd(system.start_all(), timeout=600)
            t1 = now_ns()
            if rc != 0:
                raise CmdFailed(f"`start all` exited {rc}")
            got = fifo.lines(2 * n, 30)
            spawned = {}
            opened = {}
            for g in got:
                (opened if g[2:] == ("L",) else spawned)[g[0]] = g[1]
            if len(spawned) < n or len(opened) < n:
                raise RuntimeError(f"only {len(spawned)} spawned, {len(opened)} listening "
                                   f"of {n}")
            up = count_running(system)
            if up != n:
                raise RuntimeError(f"`start all` returned with {up} of {n} RUNNING")
            # Which program each pid is: its port, from its command line.
            idx = {}
            for pid in spawned:
                try:
                    argv = open(f"/proc/{pid}/cmdline").read().split("\0")
                    idx[int(argv[3]) - base] = pid
                except (OSError, ValueError, IndexError):
                    pass
            root_spawn = spawned[idx[0]] if 0 in idx else min(spawned.values())
            for i, pid in idx.items():
                parent = idx.get((i - 1) // fanout) if i else None
                if parent is not None and parent in opened:
                    hops.append((spawned[pid] - opened[parent]) / 1e6)
            took.append((t1 - t0) / 1e6)
            ideal.append(L * (delay_ms + (root_spawn - t0) / 1e6))
            if system.run_cmd(system.stop_all(), timeout=120) != 0:
                raise CmdFailed("`stop all` failed")
        return Stat(took, "ms"), Stat(ideal, "ms"), L, Stat(hops, "ms")
    finally:
        system.stop()
        fifo.close()
