"""The report: rows, ratios, the Markdown document with its method, and the
verdict on the targets of issue 5.
"""

import os
import platform

from common import *  # noqa: F401,F403


class Row:
    def __init__(self, label, unit_note, cells, floor=None, better="lower"):
        self.label = label
        self.unit_note = unit_note
        self.cells = cells  # system name -> Stat (or None)
        self.floor = floor  # Stat or None
        self.better = better


def ratio(a, b):
    if a is None or b is None or not a.ok or not b.ok or b.median == 0:
        return None
    return a.median / b.median


def render(ctx, rows, systems, skipped, targets, meta, extra_notes):
    cols = ["sv", "supervisord", "s6", "runit"]
    out = []
    out.append("# Benchmarks\n")
    out.append("Written by `scripts/bench.sh` (issue 5); do not edit by hand, run it again: "
               "`scripts/bench.sh` for the full run (about 20 minutes on 2 cores; it installs "
               "the peers), `scripts/bench.sh --rev HEAD` to measure the last commit without "
               "uncommitted edits, `scripts/bench.sh --quick` for sv alone in seconds "
               "(writes `bench/out/BENCHMARKS-quick.md`).\n")
    out.append(f"- date: {meta['date']}")
    out.append(f"- machine: `nproc` = {meta['nproc']}, {meta['cpu']}, "
               f"{meta['mem']}, Linux {meta['kernel']}")
    out.append(f"- load average before / after the run: {meta['load0']} / {meta['load1']} "
               "(the machine is shared: other work ran at the same time)")
    out.append(f"- run took {meta['elapsed']}")
    for name in cols:
        if name in systems:
            out.append(f"- {name}: {systems[name].version}")
        else:
            out.append(f"- {name}: **not measured**: {skipped.get(name, 'not installed')}")
    out.append(f"- floor programs: {meta['cc']}, static (`bench/*.c`)")
    out.append("")
    out.append("Each cell: the median, then [the spread] over repeated runs: p10–p90 "
               "where there are 10 runs or more, min–max below that. "
               "Under each peer: **sv/peer**, the ratio of the medians (below 1 means "
               "sv takes less time or memory; for MB/s above 1 means sv is faster).\n")
    out.append("| measurement | sv | supervisord | s6 | runit | machine floor |")
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        line = [f"{r.label}" + (f" <br><sub>{r.unit_note}</sub>" if r.unit_note else "")]
        sv = r.cells.get("sv")
        for name in cols:
            if name not in systems:
                line.append("not installed")
                continue
            s = r.cells.get(name)
            cell = fmt_stat(s)
            if name != "sv" and s is not None and s.ok:
                q = ratio(sv, s)
                if q is not None:
                    cell += f"<br>sv/peer **{fmt_num(q)}**"
            line.append(cell)
        fcell = fmt_stat(r.floor) if r.floor else "–"
        if r.floor:
            q = ratio(sv, r.floor)
            if q is not None:
                fcell += f"<br>sv/floor **{fmt_num(q)}**"
        line.append(fcell)
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in line) + " |")
    out.append("")
    out.append("## Targets\n")
    out.append("| target | sv | verdict |")
    out.append("|---|---|---|")
    for t in targets:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in t) + " |")
    out.append("")
    out.append("## How each figure is taken\n")
    out.append(METHOD)
    if extra_notes:
        out.append("## Notes from this run\n")
        for n in extra_notes:
            out.append(f"- {n}")
        out.append("")
    # What profiling found and what it changed, written by hand (the
    # figures above are this run's; those in it are from the runs it names).
    findings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "findings.md")
    if os.path.exists(findings):
        with open(findings) as f:
            out.append(f.read().rstrip("\n"))
        out.append("")
    return "\n".join(out) + "\n"


METHOD = """\
Every system runs alone: one supervisor at a time, started fresh for each
measurement (or round of one) and stopped with its own stop command (`sv close`,
`supervisorctl shutdown`, `s6-svscanctl -t`, runit's `sv force-stop` then
SIGHUP to `runsvdir`). Configurations are the plain, documented ones:
sv and supervisord read the same `[program:w]` section (`numprocs`,
`startsecs=0`, `autorestart=true`, output to `/dev/null` resp. `NONE`
except for the log test); s6 and runit get one service directory per
program, whose `run` is a symlink to the program itself (no shell in the
way). The supervised program is `bench/child.c`, a static binary that
writes `PID CLOCK_MONOTONIC` to a FIFO first thing in `main`, then sleeps
in `pause()`; it stands for `sleep`, and says exactly when it started.

The machine is shared and 2 cores are few, so sv and the floor take turns
in rounds (floor, sv, floor, sv, ...): whatever else runs weighs on both
alike, and their ratio, which the targets are about, stays honest. The peers
run after them.

1. **restart latency**: SIGKILL the child; the figure is from just before
   `kill(2)` to the replacement's first report. 50 restarts (sv and the
   floor: 5 rounds of 10, taking turns). The child
   lives 0.2 s before each kill (1.1 s for sv and runit, which wait until a
   second after the start of a run that lasted less than one; s6's
   `s6-supervise` waited about a second before every restart, whatever the
   child's age).
   Floor: `bench/floor_restart.c`, which does kill, waitpid, fork, execve
   and nothing else.
2. **spawn throughput**: from just before the supervisor is started to the
   last of N children's first report. Floor: `bench/floor_spawn.c`, a plain
   fork+execve loop of the same children. 5 runs of sv and the floor, taking
   turns; 3 of each peer.
3. **idle cost**: 100 children running, then 3 windows of 10 s with nothing
   to do. CPU time (`/proc/PID/schedstat`) and voluntary context switches
   (wake-ups, `/proc/PID/status`) summed over every supervisor-side process
   (the root and all its descendants except the children: 1 process for sv
   and supervisord, 1 + 100 for s6 and runit). The figure is per 30 s:
   3 x the median window, spread 3 x min–max.
4. **memory**: Rss and Pss from `/proc/PID/smaps_rollup`, summed over the
   same supervisor-side processes, 1 s after all N children run.
5. **command latency**: a client command run by `bench/timecmd.c`
   (posix_spawn, wait), stdout to /dev/null, 50 times (sv and the floor:
   5 rounds of 10, taking turns): `status` of one
   program, and `stop` then `start` of it (each waiting for the outcome:
   `s6-svc -wd -d`/`-wu -u`, runit's `sv stop`/`sv start`). Floor: the same
   for a static program that does nothing. For sv also the request alone:
   `status w_00` typed into one running `sv shell`.
6. **log throughput**: `bench/writer.c` writes 1 GiB of 128-byte lines in
   64 KiB writes to its stdout; the figure is 1 GiB over the time from its
   start to the last byte being in the log file(s) (polled every 2 ms),
   and the CPU time of the supervisor side meanwhile (for s6 and runit
   that includes `s6-log` / `svlogd`). No rotation for sv and supervisord
   (`maxbytes=0`); runit's `svlogd` with `s0` (no rotation); `s6-log
   n20 s268435455` (it cannot turn rotation off; 256 MiB files). The
   page cache is flushed (`sync`) before each run. Floor: `writer > file`
   for MB/s, and `cat`'s CPU time in `writer | cat > file`. 5 runs of sv and
   the floor, taking turns; 3 of each peer.
7. **scale**: 10 000 copies, time from start to the last first report,
   then `status` of all (timecmd) and Rss/Pss. sv (as 10 programs of
   `numprocs=1000`, its limit per program) and the floor: 3 runs, taking
   turns, 5 `status` each; peers: 1 run (they are slow there), one `status`
   of all (for s6 a shell loop of `s6-svstat`, which takes one service).
   A run in which no more children start for 30 s ends there, reported as
   such.
8. **binary size**: `target/x86_64-unknown-linux-musl/release/sv`, static.
   For the peers, the on-disk size of their supervision programs plus the
   shared libraries they need other than libc (they link dynamically).
9. **start order**: 9 programs at 9 priority levels, `startsecs=1`, not
   autostarted; the figure is `start all` (`sv start all`, `supervisorctl
   start all`) from its start to its exit, which both make once every
   program is RUNNING. Spawning every level at once (SPEC §4.2, as
   supervisord does) takes about 1 s; waiting for each level to be RUNNING
   before the next took 9. sv and supervisord only (s6 and runit have no
   priorities nor startsecs); 3 runs each (1 with `--quick`).
10. **dependency tree** (sv only: supervisord has no dependencies nor
   readiness checks, s6 readiness notification but dependencies only in
   s6-rc, runit neither): 100
   programs (`bench/listener.c`, which opens its port 50 ms after it
   starts), each `ready=tcp:127.0.0.1:PORT`, program i `depends_on`
   program (i-1)/2: a binary tree 7 programs deep. Not autostarted; the
   figure is `sv start all` from its start to its exit, which it makes
   once all 100 are RUNNING (ready); 3 runs. The floor column is the
   critical path: depth x (50 ms + one spawn, taken as the time from
   `start all` to the root's first instruction). `--quick`: 10 programs,
   one root and 9 dependents (depth 2), 1 run.
11. **health checks** (sv only: the peers run no health checks): 1000
   programs (`bench/child.c`), each `health=tcp:127.0.0.1:PORT` with
   `health_interval=1` (and `ready=` on the same port), against one
   `bench/listener.c` started by the harness that accepts on all 1000
   ports (its CPU is not counted). First, with every program STOPPED, the
   daemon's voluntary context switches over 10 s: checks configured,
   none due. Then `start all`, 1.1 s for the first checks, and the
   daemon's utime + stime (`/proc/PID/stat`) over 10 s as a share of one
   core. `--quick`: 50 programs, 1 s and 2 s.
12. **XML-RPC** (sv and supervisord): 100 programs (`sleep`), sv started
   with a `[unix_http_server]` socket. Once all are RUNNING, one Python
   client that keeps its connection times 200 calls (to the answer's last
   byte, unparsed) of
   `supervisor.getAllProcessInfo` (what `supervisorctl status` asks): the
   server's own cost. Then the real `supervisorctl status` (from the venv)
   against each, 20 whole commands. Then sv alone with 10 000 services:
   20 calls of `getAllProcessInfo`. `--quick`: sv alone, 20 calls, no
   supervisorctl, 1000 services.
13. **events** (sv and supervisord): 100 programs (`bench/lines.c`, at
   nice 19 so that the load does not take the CPU from the supervisor,
   500 lines a second each, one every 2 ms, one write(2) a line: 50 000
   lines a second offered, more than supervisord delivers; each to its
   own log file too) with `stdout_events_enabled=true`, and one
   `[eventlistener:count]` on PROCESS_LOG (`buffer_size=10`, the default):
   `bench/events_listener.py`, written with `supervisor.childutils` as
   its docs show, counts the events and their lines and reports every
   0.1 s. Once all programs are RUNNING and events flow, 3 windows of 5 s:
   events delivered a second (one READY, header, payload, OK round trip
   each), the lines in them a second, their share of the lines offered
   (the rest dropped from the full buffer, oldest first), and the daemon's
   CPU (`/proc/PID/schedstat`, the listener not counted). A supervisor
   that delivers (nearly) all it is offered is said so in the notes: its
   ceiling is higher than its figure. `--quick`: sv alone, 20 programs x
   200 lines a second, 2 windows of 1 s.
15. **schedules** (sv only, SPEC §17): one program (`/bin/sh -c "echo >>
   FILE"`), the daemon's voluntary context switches over 30 s: with
   `schedule=@every 1h` (no run in the window: target 0, no tick), then
   with `schedule=*/10 * * * * *` (3 runs: the wake-ups come with the runs
   only, shown per run). `--quick`: 3 s and 11 s.
"""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def judge(R):
    """The targets of issue 5, each with sv's figure and a verdict."""
    out = []

    def verdict(ok):
        if ok is None:
            return "not measured"
        return "met" if ok else "**MISSED**"

    sv_r = R.get("restart", {}).get("sv")
    fl = R.get("restart_floor", {}).get("floor")
    if sv_r and fl and sv_r.ok and fl.ok:
        q = sv_r.median / fl.median
        out.append(("restart p50 within 1.2x the floor",
                    f"{fmt_num(sv_r.median)} ms vs {fmt_num(fl.median)} ms: {q:.2f}x",
                    verdict(q <= 1.2)))
    st = R.get("status", {}).get("sv")
    sh = R.get("shell", {}).get("sv")
    if st and st.ok:
        extra = f"; request alone in `sv shell`: {fmt_num(sh.median)} ms" if sh and sh.ok else ""
        out.append(("`status` round trip under 1 ms",
                    f"client command {fmt_num(st.median)} ms{extra}", verdict(st.median < 1)))
    s1000 = R.get("spawn1000", {})
    if s1000.get("sv") and s1000.get("floor") and s1000["sv"].ok and s1000["floor"].ok:
        q = s1000["sv"].median / s1000["floor"].median
        out.append(("1000 programs running within 1.1x a plain loop",
                    f"{fmt_num(s1000['sv'].median)} ms vs {fmt_num(s1000['floor'].median)} ms: "
                    f"{q:.2f}x", verdict(q <= 1.1)))
    w = R.get("idle_wake", {}).get("sv")
    if w and w.ok:
        out.append(("0 wake-ups while idle", f"{fmt_num(max(w.values))} in the worst 30 s",
                    verdict(max(w.values) == 0)))
    rss = R.get("rss1000", {}).get("sv")
    if rss and rss.ok:
        out.append(("Rss under 4 MiB with 1000 programs", f"{fmt_num(rss.median)} MiB",
                    verdict(rss.median < 4)))
    mb = R.get("log_mb", {}).get("sv")
    fl = R.get("log_floor", {})
    if mb and fl.get("direct") and mb.ok:
        q = mb.median / fl["direct"].median
        out.append(("log copy at 90% or more of `writer > file`",
                    f"{fmt_num(mb.median)} vs {fmt_num(fl['direct'].median)} MB/s: "
                    f"{q * 100:.0f}%", verdict(q >= 0.9)))
        c = R.get("log_cpu", {}).get("sv")
        if c and c.ok:
            out.append(("log copy CPU no more than `cat` in `writer | cat > file`",
                        f"{fmt_num(c.median)} s vs {fmt_num(fl['cat'].median)} s",
                        verdict(c.median <= fl["cat"].median)))
    ss = R.get("scale_start", {}).get("sv")
    if ss and ss.ok:
        out.append(("10 000 services started in under 10 s", f"{fmt_num(ss.median)} s",
                    verdict(ss.median < 10)))
    sst = R.get("scale_status", {}).get("sv")
    failed = R.get("scale_status_failed", {}).get("sv")
    if failed:
        out.append(("10 000 services listed in under 100 ms", failed.replace("|", "/"),
                    verdict(False)))
    elif sst and sst.ok:
        out.append(("10 000 services listed in under 100 ms", f"{fmt_num(sst.median)} ms",
                    verdict(sst.median < 100)))
    dt = R.get("deptree", {})
    if dt.get("sv") and dt["sv"].ok and dt["ideal"].ok:
        q = dt["sv"].median / dt["ideal"].median
        out.append((f"{dt['n']}-program dependency tree with tcp readiness up within 1.1x "
                    "its critical path",
                    f"{fmt_num(dt['sv'].median)} ms vs {dt['L']} x (50 ms + spawn) = "
                    f"{fmt_num(dt['ideal'].median)} ms: {q:.2f}x", verdict(q <= 1.1)))
    h = R.get("health", {})
    if "cpu" in h:
        out.append((f"{h['n']} tcp health checks a second under 5 % of one core",
                    f"{fmt_num(h['cpu'])} % over {h['win']} s", verdict(h["cpu"] < 5)))
        out.append(("0 wake-ups while idle with checks configured (all stopped)",
                    f"{h['idle_wake']} in {h['idle_s']} s", verdict(h["idle_wake"] == 0)))
    sc = R.get("schedule", {})
    if "idle_wake" in sc:
        out.append(("0 wake-ups with `schedule=@every 1h` and no run due",
                    f"{sc['idle_wake']} in {sc['win']} s", verdict(sc["idle_wake"] == 0)))
    rpc = R.get("rpc", {})
    if rpc.get("sv") and rpc["sv"].ok and rpc.get("supervisord") and rpc["supervisord"].ok:
        q = rpc["supervisord"].median / rpc["sv"].median
        out.append(("getAllProcessInfo of 100 (`supervisorctl status`): sv's server at least "
                    "10x faster than supervisord's",
                    f"{fmt_num(rpc['sv'].median)} ms vs {fmt_num(rpc['supervisord'].median)} ms: "
                    f"{q:.1f}x", verdict(q >= 10)))
    big = R.get("rpc_big", {})
    if big.get("sv") and big["sv"].ok:
        out.append((f"getAllProcessInfo of {big['n']} services under 100 ms",
                    f"{fmt_num(big['sv'].median)} ms", verdict(big["sv"].median < 100)))
    size = R.get("size", {}).get("sv")
    if size and size.ok:
        out.append(("binary under 1.5 MiB", f"{fmt_num(size.median)} MiB",
                    verdict(size.median < 1.5)))
    return out
