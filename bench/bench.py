#!/usr/bin/env python3
"""The benchmark harness behind scripts/bench.sh (issue 5).

Runs each measurement on sv and on every peer that is installed
(supervisord, s6, runit), one system at a time, never two at once, plus the
machine's floor where one exists, and writes one Markdown table.

It is driven by scripts/bench.sh, which builds sv and the C helpers in
bench/*.c and installs the peers; run it by hand only with the same
arguments. Everything it makes lives under --tmp; everything it starts is
stopped with that system's own stop command, then any recorded pid still
alive (same pid, same start time) is killed. Nothing is ever killed by name.

Layout: this file is the driver (arguments, the order of the runs, the
document); common.py holds what every measurement shares (pids, /proc,
statistics, `Ctx`, `timecmd`); systems.py the supervisors under test; one
module a measurement, named after it (restart, spawn, idle, commands, logs,
scale, priority, deptree, health, rpc, events, metrics, schedule); report.py renders the table and judges the targets.
"""

import argparse
import datetime
import os
import platform
import subprocess
import time

from common import *  # noqa: F401,F403
from systems import *  # noqa: F401,F403
from restart import *  # noqa: F401,F403
from spawn import *  # noqa: F401,F403
from priority import *  # noqa: F401,F403
from idle import *  # noqa: F401,F403
from commands import *  # noqa: F401,F403
from logs import *  # noqa: F401,F403
from scale import *  # noqa: F401,F403
from deptree import *  # noqa: F401,F403
from health import *  # noqa: F401,F403
from rpc import *  # noqa: F401,F403
from events import *  # noqa: F401,F403
from metrics import *  # noqa: F401,F403
from schedule import *  # noqa: F401,F403
from report import *  # noqa: F401,F403


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--sv", required=True)
    ap.add_argument("--helpers", required=True)
    ap.add_argument("--venv", default="")
    ap.add_argument("--sv-desc", default="", help="what --sv is, for the document")
    ap.add_argument("--peers", default="", help="comma-separated: supervisord,s6,runit")
    ap.add_argument("--skipped", action="append", default=[], help="NAME=why")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma-separated measurement numbers")
    ap.add_argument("--scale-n", type=int, default=10000, help=argparse.SUPPRESS)
    a = ap.parse_args()
    ctx = Ctx(a)
    become_subreaper()
    t_start = time.monotonic()
    load0 = open("/proc/loadavg").read().split()[:3]

    systems = {"sv": Sv(ctx)}
    skipped = dict(s.split("=", 1) for s in a.skipped)
    makers = {"supervisord": Supervisord, "s6": S6, "runit": Runit}
    for name in [p for p in a.peers.split(",") if p]:
        try:
            systems[name] = makers[name](ctx)
        except Exception as e:  # noqa: BLE001
            skipped[name] = f"could not be set up: {e}"
    order = [n for n in ("sv", "supervisord", "s6", "runit") if n in systems]
    only = set(a.only.split(",")) if a.only else None

    def want(k):
        return only is None or k in only

    q = a.quick
    counts = dict(
        restart=10 if q else 50,
        spawn_ns=[100] if q else [100, 1000],
        spawn_runs=1 if q else 3,
        idle_windows=2 if q else 3,
        idle_s=1 if q else 10,
        cmd=10 if q else 50,
        log_bytes=16 * MiB if q else GiB,
        log_runs=1 if q else 3,
    )
    rows, notes = [], []
    R = {}  # name -> measurement -> Stat, for the targets

    def put(key, name, stat):
        R.setdefault(key, {})[name] = stat

    try:
        # Rounds: the floor and sv take turns, so that whatever else the
        # machine is doing weighs on both alike; the peers run after them.
        rounds = 1 if q else 5

        # 1. restart
        if want("1"):
            per = max(1, counts["restart"] // rounds)
            fl_vals, sv_vals, sv_err = [], [], None
            for r in range(rounds):
                log(f"restart latency: round {r + 1}/{rounds}: floor, sv")
                fl_vals += bench_restart(ctx, None, per).values
                if sv_err is None:
                    try:
                        sv_vals += bench_restart(ctx, systems["sv"], per).values
                    except Exception as e:  # noqa: BLE001
                        sv_err = e
                        notes.append(f"restart latency, sv: failed: {e}")
            floor_restart = Stat(fl_vals, "ms")
            put("restart", "sv", Stat(sv_vals, "ms"))
            for name in order[1:]:
                log(f"restart latency: {name}")
                try:
                    put("restart", name, bench_restart(ctx, systems[name], counts["restart"]))
                except Exception as e:  # noqa: BLE001
                    notes.append(f"restart latency, {name}: failed: {e}")
            put("restart_floor", "floor", floor_restart)
            rs = R.get("restart", {})
            rows.append(Row("restart latency, p50", f"median of {len(fl_vals)}",
                            rs, floor_restart))
            rows.append(Row("restart latency, p90", f"of the same {len(fl_vals)}",
                            {n: Stat([s.p(90)], "ms", single=True) for n, s in rs.items()
                             if s.ok},
                            Stat([floor_restart.p(90)], "ms", single=True)))

        # 2 + 4. spawn throughput and memory
        if want("2") or want("4"):
            spawn_rounds = 1 if q else 5
            for n in counts["spawn_ns"]:
                vals = {k: ([], [], []) for k in ["floor"] + order}
                failed = set()
                for r in range(spawn_rounds):
                    for name in ["floor"] + order:
                        if name in failed or (name not in ("floor", "sv")
                                              and r >= counts["spawn_runs"]):
                            continue
                        log(f"spawn {n}: round {r + 1}/{spawn_rounds}: {name}")
                        try:
                            t, rss, pss = bench_spawn(ctx, systems.get(name), n, 1, 300)
                        except Exception as e:  # noqa: BLE001
                            t = None
                            notes.append(f"spawn {n}, {name}: failed: {e}")
                        if t is None:
                            failed.add(name)
                            continue
                        vals[name][0].extend(t.values)
                        if rss:
                            vals[name][1].extend(rss.values)
                            vals[name][2].extend(pss.values)
                cells_t, cells_rss, cells_pss = {}, {}, {}
                for name in order:
                    if name in failed or not vals[name][0]:
                        continue
                    cells_t[name] = Stat(vals[name][0], "ms")
                    cells_rss[name] = Stat(vals[name][1], "MiB")
                    cells_pss[name] = Stat(vals[name][2], "MiB")
                ft = Stat(vals["floor"][0], "ms") if vals["floor"][0] else None
                put(f"spawn{n}", "floor", ft)
                for name, st_ in cells_t.items():
                    put(f"spawn{n}", name, st_)
                for name, st_ in cells_rss.items():
                    put(f"rss{n}", name, st_)
                rows.append(Row(f"spawn {n} programs", "start to all running", cells_t, ft))
                rows.append(Row(f"memory, Rss with {n}", "all supervisor-side processes",
                                cells_rss))
                rows.append(Row(f"memory, Pss with {n}", "all supervisor-side processes",
                                cells_pss))

        # 3. idle
        if want("3"):
            cpu_cells, wake_cells = {}, {}
            scale = 30 / (counts["idle_s"] * 1.0)
            for name in order:
                log(f"idle: {name}")
                try:
                    cpu, wake, nproc_side = bench_idle(ctx, systems[name], 10 if q else 100,
                                                       counts["idle_windows"], counts["idle_s"])
                except Exception as e:  # noqa: BLE001
                    notes.append(f"idle, {name}: failed: {e}")
                    continue
                cpu_cells[name] = Stat([v * scale for v in cpu.values], "ms")
                wake_cells[name] = Stat([v * scale for v in wake.values], "")
                notes.append(f"idle, {name}: {nproc_side} supervisor-side process(es); "
                             f"wake-ups per {counts['idle_s']} s window: "
                             f"{', '.join(str(v) for v in wake.values)}")
            R["idle_wake"] = wake_cells
            rows.append(Row("idle: CPU time per 30 s", "100 programs, supervisor side",
                            cpu_cells))
            rows.append(Row("idle: wake-ups per 30 s", "voluntary context switches",
                            wake_cells))

        # 5. commands
        if want("5"):
            st, ss, sh = {}, {}, None
            per = max(1, counts["cmd"] // rounds)
            acc = {"floor": [], "status": [], "stopstart": [], "shell": []}
            for r in range(rounds):
                log(f"command latency: round {r + 1}/{rounds}: floor, sv")
                acc["floor"] += bench_commands(ctx, None, per)["status"].values
                try:
                    out = bench_commands(ctx, systems["sv"], per)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"command latency, sv: failed: {e}")
                    break
                for k in ("status", "stopstart", "shell"):
                    acc[k] += out[k].values
            if acc["status"]:
                st["sv"] = Stat(acc["status"], "ms")
                ss["sv"] = Stat(acc["stopstart"], "ms")
                sh = Stat(acc["shell"], "ms")
            floor_cmd = Stat(acc["floor"], "ms")
            for name in order[1:]:
                log(f"command latency: {name}")
                try:
                    out = bench_commands(ctx, systems[name], counts["cmd"])
                except Exception as e:  # noqa: BLE001
                    notes.append(f"command latency, {name}: failed: {e}")
                    continue
                st[name], ss[name] = out.get("status"), out.get("stopstart")
            R["status"] = st
            R["shell"] = {"sv": sh}
            rows.append(Row("`status` of one program", "the client command, start to exit",
                            st, floor_cmd))
            if sh:
                rows.append(Row("`status` of one, request only", "typed into a running "
                                "`sv shell`", {"sv": sh}))
            rows.append(Row("`stop` + `start` of one", "both commands, each waits for the "
                            "outcome", ss))

        # 6. log throughput
        if want("6"):
            log_rounds = 1 if q else 5
            acc = {k: ([], []) for k in order}
            fl = {"direct": [], "piped": [], "cat": [], "head": []}
            failed = set()
            for r in range(log_rounds):
                log(f"log throughput: round {r + 1}/{log_rounds}: floor")
                d, p_, c, h = bench_log_floor(ctx, counts["log_bytes"], 1)
                fl["direct"] += d.values
                fl["piped"] += p_.values
                fl["cat"] += c.values
                fl["head"] += h.values
                for name in order:
                    if name in failed or (name != "sv" and r >= counts["log_runs"]):
                        continue
                    log(f"log throughput: round {r + 1}/{log_rounds}: {name}")
                    try:
                        m, c = bench_log(ctx, systems[name], counts["log_bytes"], 1)
                    except Exception as e:  # noqa: BLE001
                        m = None
                        notes.append(f"log throughput, {name}: failed: {e}")
                    if m is None:
                        failed.add(name)
                        continue
                    acc[name][0].extend(m.values)
                    acc[name][1].extend(c.values)
            mb = {k: Stat(v[0], "MB/s", "higher") for k, v in acc.items()
                  if v[0] and k not in failed}
            cpu = {k: Stat(v[1], "s") for k, v in acc.items() if v[0] and k not in failed}
            direct = Stat(fl["direct"], "MB/s", "higher")
            piped = Stat(fl["piped"], "MB/s", "higher")
            cat_cpu = Stat(fl["cat"], "s")
            head_cat = Stat(fl["head"], "MB/s", "higher")
            R["log_mb"], R["log_cpu"] = mb, cpu
            R["log_floor"] = {"direct": direct, "cat": cat_cpu, "piped": piped}
            size = "1 GiB" if counts["log_bytes"] == GiB else f"{counts['log_bytes'] // MiB} MiB"
            rows.append(Row("log throughput", f"{size} of stdout into the log; floor: "
                            "`writer > file`", mb, direct, better="higher"))
            rows.append(Row("log: supervisor CPU time", f"while copying {size}; floor: "
                            "`cat` in `writer | cat > file`", cpu, cat_cpu))
            notes.append(f"log floor: `writer | cat > file` ran at {fmt_stat(piped)}; "
                         f"`head -c {counts['log_bytes']} /dev/zero | cat > file` at "
                         f"{fmt_stat(head_cat)}")

        # 7. scale
        if want("7") and not q:
            cs, cst, cr = {}, {}, {}
            N = a.scale_n
            fl_vals, sv_acc, sv_fail = [], None, None
            for r in range(3):
                log(f"scale 10000: round {r + 1}/3: floor")
                fs, _, _ = bench_scale(ctx, None, N, 1, 0, 600)
                if not isinstance(fs, str):
                    fl_vals += fs.values
                if sv_fail:
                    continue
                log(f"scale 10000: round {r + 1}/3: sv")
                try:
                    got = bench_scale(ctx, systems["sv"], N, 1, 5, 600)
                except Exception as e:  # noqa: BLE001
                    got = (f"failed: {e}", None, None)
                if isinstance(got[0], str):
                    sv_fail = got[0]
                    continue
                if sv_acc is None:
                    sv_acc = got
                else:
                    sv_acc = merge_scale(sv_acc, got)
            results = {}
            if sv_fail:
                notes.append(f"scale, sv: {sv_fail}; not measured")
            elif sv_acc:
                results["sv"] = sv_acc
            for name in order[1:]:
                log(f"scale 10000: {name}")
                try:
                    results[name] = bench_scale(ctx, systems[name], N, 1, 1, 600)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"scale, {name}: failed: {e}")
            for name, (s_, st_, r_) in results.items():
                if isinstance(s_, str):
                    if name == "runit" and s_.startswith("only 1000 of"):
                        s_ += " (runsvdir starts at most 1000 services)"
                    elif getattr(systems[name], "hint", ""):
                        s_ += f" ({systems[name].hint})"
                    notes.append(f"scale, {name}: {s_}; not measured")
                    continue
                if isinstance(st_, str):
                    notes.append(f"scale, {name}: `status` of all 10 000: {st_}")
                    R.setdefault("scale_status_failed", {})[name] = st_
                    st_ = None
                cs[name], cst[name], cr[name] = s_, st_, r_
            fs = Stat(fl_vals, "s") if fl_vals else None
            R["scale_start"], R["scale_status"] = cs, cst
            rows.append(Row("10 000 services: start all", "start to all running", cs, fs))
            rows.append(Row("10 000 services: `status` of all", "client command", cst))
            rows.append(Row("10 000 services: Rss", "supervisor side",
                            {k: v[0] for k, v in cr.items() if v}))
            rows.append(Row("10 000 services: Pss", "supervisor side",
                            {k: v[1] for k, v in cr.items() if v}))

        # 9. start order: priority levels do not wait for each other
        if want("9"):
            cells = {}
            for name in [n for n in order if n in ("sv", "supervisord")]:
                log(f"priority start: {name}")
                try:
                    cells[name] = bench_priority(ctx, systems[name], 9, 1 if q else 3)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"priority start, {name}: failed: {e}")
            R["priority"] = cells
            rows.append(Row("9 programs, 9 priority levels, startsecs=1",
                            "`start all` until all RUNNING", cells))

        # 10. a dependency tree with tcp readiness (sv only: the peers have
        # neither dependencies nor readiness checks)
        if want("10"):
            n, fan = (10, 9) if q else (100, 2)
            log(f"dependency tree: {n} programs, ready=tcp: sv")
            try:
                took, ideal, L, hop = bench_deptree(ctx, systems["sv"], n, fan, 50,
                                                    1 if q else 3)
                R["deptree"] = {"sv": took, "ideal": ideal, "L": L, "n": n, "hop": hop}
                rows.append(Row(f"{n}-program dependency tree, ready=tcp",
                                f"`start all` until all RUNNING; critical path {L} programs "
                                "x (50 ms + spawn) in the floor column (sv only)",
                                {"sv": took}, ideal))
                notes.append(f"dependency tree, sv: {n} programs, depth {L}; from a port "
                             f"opening to its dependents' spawn: {fmt_stat(hop)} (the try at "
                             "spawn is refused; the daemon then watches the listening table "
                             "and tries again when the port is listed)")
            except Exception as e:  # noqa: BLE001
                notes.append(f"dependency tree, sv: failed: {e}")

        # 11. health checks: CPU with many, wake-ups with checks configured
        # and nothing due (sv only: the peers have no health checks)
        if want("11"):
            n, idle_s, win = (50, 1, 2) if q else (1000, 10, 10)
            log(f"health checks: {n} services: sv")
            try:
                idle_wake, cpu, wps, unhealthy = bench_health(ctx, systems["sv"], n,
                                                              idle_s, win)
                R["health"] = {"n": n, "cpu": cpu, "win": win, "idle_wake": idle_wake,
                               "idle_s": idle_s}
                rows.append(Row(f"{n} tcp health checks a second: daemon CPU",
                                f"% of one core over {win} s, utime + stime (sv only)",
                                {"sv": Stat([cpu], "%", single=True)}))
                rows.append(Row(f"{n} services with checks, all stopped: wake-ups",
                                f"over {idle_s} s, voluntary context switches (sv only)",
                                {"sv": Stat([idle_wake], "", single=True)}))
                notes.append(f"health checks, sv: {wps:.2f} daemon wake-ups a second while "
                             f"checking {n} services; {unhealthy} unhealthy at the end")
            except Exception as e:  # noqa: BLE001
                notes.append(f"health checks, sv: failed: {e}")

        # 12. supervisord's XML-RPC interface: sv's /RPC2 against supervisord's
        if want("12"):
            n, calls, ctl_runs = (100, 20, 0) if q else (100, 200, 20)
            cells, ctl_cells = {}, {}
            for name in [x for x in order if x in ("sv", "supervisord")]:
                log(f"XML-RPC: getAllProcessInfo of {n}: {name}")
                try:
                    cells[name], ctl = bench_rpc(ctx, systems[name], n, calls, ctl_runs)
                    if ctl is not None:
                        ctl_cells[name] = ctl
                except Exception as e:  # noqa: BLE001
                    notes.append(f"XML-RPC, {name}: failed: {e}")
            R["rpc"] = cells
            rows.append(Row(f"getAllProcessInfo, {n} programs",
                            "one kept-alive client over the unix socket, per call", cells))
            if ctl_cells:
                rows.append(Row(f"`supervisorctl status`, {n} programs",
                                "the real supervisorctl (Python), whole command", ctl_cells))
            big = 1000 if q else a.scale_n
            log(f"XML-RPC: getAllProcessInfo of {big}: sv")
            try:
                st_, _ = bench_rpc(ctx, systems["sv"], big, 5 if q else 20, 0)
                R["rpc_big"] = {"sv": st_, "n": big}
                rows.append(Row(f"getAllProcessInfo, {big} services",
                                "one kept-alive client, per call (sv only)", {"sv": st_}))
            except Exception as e:  # noqa: BLE001
                notes.append(f"XML-RPC {big}, sv: failed: {e}")

        # 13. PROCESS_LOG events to a childutils listener, sv against supervisord
        if want("13"):
            n, rate, period, win, wins = (20, 200, 10, 1, 2) if q else (100, 500, 2, 5, 3)
            cells = {k: {} for k in ("ev", "ln", "share", "cpu")}
            for name in [x for x in order if x in ("sv", "supervisord")]:
                log(f"events: {n} programs x {rate} lines/s, one listener: {name}")
                try:
                    got = bench_events(ctx, systems[name], n, rate, period, win, wins)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"events, {name}: failed: {e}")
                    continue
                for k, st_ in zip(("ev", "ln", "share", "cpu"), got):
                    cells[k][name] = st_
                if got[2].median >= 95:
                    notes.append(f"events, {name}: delivered {fmt_num(got[2].median)} % of "
                                 f"the {n * rate} lines/s offered: its ceiling is higher "
                                 "than this figure")
            R["events"] = cells["ev"]
            what = f"{n} programs x {rate} lines/s, stdout_events_enabled"
            rows.append(Row("PROCESS_LOG events delivered", f"{what}; one childutils listener",
                            cells["ev"], better="higher"))
            rows.append(Row("lines delivered in them", "the same run", cells["ln"],
                            better="higher"))
            rows.append(Row("share of the offered lines delivered", "the same run",
                            cells["share"], better="higher"))
            rows.append(Row("daemon CPU while delivering", "% of one core, the same run",
                            cells["cpu"]))

        # 14. GET /metrics with 1000 and 10 000 services; idle wake-ups with
        # the HTTP server listening (sv only)
        if want("14"):
            idle_s = 1 if q else 10
            for n in ([100, 1000] if q else [1000, a.scale_n]):
                log(f"/metrics: {n} services: sv")
                try:
                    st_, size, wake, cpu = bench_metrics(ctx, systems["sv"], n, 5 if q else 20,
                                                    idle_s)
                    R.setdefault("metrics", {})[n] = st_
                    rows.append(Row(f"GET /metrics, {n} services",
                                    "one kept-alive client, per scrape (sv only)",
                                    {"sv": st_}))
                    notes.append(f"/metrics, sv, {n} services: median {st_.median:.1f} ms, "
                                 f"p99 {st_.p(99):.1f} ms, {size / MiB:.1f} MiB a scrape, "
                                 f"daemon CPU {cpu:.1f} ms a scrape; "
                                 f"{wake} daemon wake-ups over {idle_s} s with the HTTP "
                                 "server listening and nobody connected")
                except Exception as e:  # noqa: BLE001
                    notes.append(f"/metrics {n}, sv: failed: {e}")

        # 15. schedules (SPEC §17): wake-ups with no run due, and per run
        # (sv only: the peers have no schedules)
        if want("15"):
            win, win10 = (3, 11) if q else (30, 30)
            log(f"schedules: @every 1h ({win} s) and a run every 10 s ({win10} s): sv")
            try:
                (w1, r1), (w10, r10) = bench_schedule(ctx, systems["sv"], win, win10)
                R["schedule"] = {"win": win, "idle_wake": w1, "wake": w10, "runs": r10}
                rows.append(Row("`schedule=@every 1h`, no run due: wake-ups",
                                f"over {win} s, voluntary context switches (sv only)",
                                {"sv": Stat([w1], "", single=True)}))
                per = f"{w10 / r10:.1f}" if r10 else "no run"
                rows.append(Row("a run every 10 s: wake-ups",
                                f"over {win10} s with {r10} runs; {per} per run (sv only)",
                                {"sv": Stat([w10], "", single=True)}))
                if r1:
                    notes.append(f"schedules, sv: {r1} run(s) of @every 1h in the window")
            except Exception as e:  # noqa: BLE001
                notes.append(f"schedules, sv: failed: {e}")

        # 8. binary size
        if want("8"):
            cells = {"sv": Stat([os.path.getsize(ctx.sv) / MiB], "MiB", single=True)}
            if "s6" in systems:
                cells["s6"] = Stat([file_size_mib(["s6-svscan", "s6-supervise"])], "MiB",
                                  single=True)
            if "runit" in systems:
                cells["runit"] = Stat([file_size_mib(["runsvdir", "runsv"])], "MiB",
                                     single=True)
            R["size"] = cells
            rows.append(Row("binary size", "sv: static musl; s6: s6-svscan + s6-supervise + "
                            "libskarnet; runit: runsvdir + runsv (dynamic, libc not counted)",
                            cells))
            notes.append("binary size, supervisord: a Python package, not a binary "
                         "(shown as –)")
    finally:
        for s in systems.values():
            if s.proc:
                s.stop()
        PIDS.kill_leftovers("end of run")

    targets = judge(R)
    elapsed = time.monotonic() - t_start
    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        nproc=os.cpu_count(),
        cpu=cpu_model(),
        mem=f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB:.0f} GiB RAM",
        kernel=platform.release(),
        load0=" ".join(load0),
        load1=" ".join(open("/proc/loadavg").read().split()[:3]),
        elapsed=f"{elapsed / 60:.1f} min" + (" (--quick: sv alone, small counts, "
                                             "no 10 000 / 1 GiB runs)" if q else ""),
        cc=subprocess.run(["gcc", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0],
    )
    doc = render(ctx, rows, systems, skipped, targets, meta, notes)
    with open(a.out, "w") as f:
        f.write(doc)
    print(doc)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
