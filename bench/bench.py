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
"""

import argparse
import datetime
import os
import platform
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

MiB = 1024 * 1024
GiB = 1024 * MiB

# --------------------------------------------------------------- utilities


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def now_ns():
    return time.monotonic_ns()


def start_time(pid):
    """Field 22 of /proc/PID/stat: tells a live process from a reused pid.
    None for a process that is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
        fields = data[data.rindex(")") + 2:].split()
        if fields[0] in ("Z", "X"):
            return None
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def become_subreaper():
    """Orphans of the supervisors under test (runit's runsv after runsvdir
    exits, ...) come to the harness, which reaps them: no zombie is left
    for the machine's init, however many services a run had."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap():
    """Reaps every exited child. Only called between measurements, when
    every Popen of the harness has been waited for."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Pids:
    """Every process the harness started or saw started for it, by (pid,
    start time), so that cleanup kills exactly those and nothing else."""

    def __init__(self):
        self.known = {}

    def record(self, pid):
        if pid and pid not in self.known:
            st = start_time(pid)
            if st is not None:
                self.known[pid] = st

    def alive(self):
        return [p for p, st in self.known.items() if start_time(p) == st]

    def kill_leftovers(self, what):
        reap()
        left = self.alive()
        if left:
            log(f"{what}: killing {len(left)} leftover recorded process(es)")
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Give the parents (or init) a moment to reap them.
        deadline = time.monotonic() + 5
        while left and self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
            reap()
        self.known = {p: st for p, st in self.known.items() if start_time(p) == st}


PIDS = Pids()


def proc_table():
    """pid -> (ppid, exe) for every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
            ppid = int(data[data.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        try:
            exe = os.readlink(f"/proc/{name}/exe")
        except OSError:
            exe = ""
        table[int(name)] = (ppid, exe)
    return table


def descendants(root, table=None):
    table = table or proc_table()
    kids = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out, table


def read_status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_ns(pid):
    """Time on CPU (user + system), from /proc/PID/schedstat, in ns."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def smaps(pid):
    """(Rss, Pss) in KiB."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


def snapshot(pids):
    """pid -> (cpu ns, voluntary switches, involuntary switches)."""
    snap = {}
    for p in pids:
        snap[p] = (
            cpu_ns(p),
            read_status_field(p, "voluntary_ctxt_switches"),
            read_status_field(p, "nonvoluntary_ctxt_switches"),
        )
    return snap


def snap_delta(before, after):
    cpu = vol = invol = 0
    for p, (c, v, i) in after.items():
        c0, v0, i0 = before.get(p, (0, 0, 0))
        cpu += c - c0
        vol += v - v0
        invol += i - i0
    return cpu, vol, invol


def pct(values, q):
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


class Stat:
    """A median over repeated runs, with its spread: p10-p90 for 10 runs or
    more, min-max below that."""

    def __init__(self, values, unit, better="lower", single=False):
        self.values = list(values)
        self.unit = unit
        self.better = better
        # One figure by nature (a size, a percentile of another Stat).
        self.single = single

    @property
    def ok(self):
        return bool(self.values)

    @property
    def median(self):
        return statistics.median(self.values) if self.values else float("nan")

    def spread(self):
        if len(self.values) >= 10:
            return pct(self.values, 10), pct(self.values, 90), "p10-p90"
        return min(self.values), max(self.values), "min-max"

    def p(self, q):
        return pct(self.values, q)


def fmt_num(v):
    if v != v:  # nan
        return "?"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_stat(s, value=None):
    if s is None or not s.ok:
        return "–"
    v = s.median if value is None else value
    lo, hi, _ = s.spread()
    unit = f" {s.unit}" if s.unit else ""
    if len(s.values) == 1:
        return f"{fmt_num(v)}{unit}" + ("" if s.single else " (1 run)")
    return f"{fmt_num(v)}{unit} [{fmt_num(lo)}–{fmt_num(hi)}]"


class Fifo:
    """The report channel: children write "PID NS" (or "S PID NS") lines."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        os.mkfifo(path, 0o666)
        # Read-write: never EOF, and children's opens never block.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.buf = b""

    def lines(self, want, timeout, stall=None):
        """Up to `want` parsed lines within `timeout` seconds, or until none
        has come for `stall` seconds."""
        out = []
        final = time.monotonic() + timeout
        deadline = final
        if stall:
            deadline = min(final, time.monotonic() + stall)
        while len(out) < want:
            while b"\n" in self.buf and len(out) < want:
                line, self.buf = self.buf.split(b"\n", 1)
                parts = line.decode().split()
                if parts and not parts[0].isdigit():
                    parts = parts[1:] + [parts[0]]
                out.append((int(parts[0]), int(parts[1])) + tuple(parts[2:]))
            if len(out) >= want:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    self.buf += os.read(self.fd, 65536)
                except BlockingIOError:
                    pass
                if stall:
                    deadline = min(final, time.monotonic() + stall)
        for pid, *_ in out:
            PIDS.record(pid)
        return out

    def drain(self):
        try:
            while True:
                os.read(self.fd, 65536)
        except BlockingIOError:
            pass
        self.buf = b""

    def close(self):
        os.close(self.fd)
        try:
            os.unlink(self.path)
        except OSError:
            pass


# --------------------------------------------------------------- the systems


class Workload:
    """N copies of one program, named w_00, w_01, ..."""

    def __init__(self, n, argv, log_path=None, shell_run=False, levels=False):
        self.n = n
        self.argv = argv  # the full command line of each copy
        # sv and supervisord: N programs at N priority levels, startsecs=1,
        # not autostarted (measurement 9), instead of N copies of one.
        self.levels = levels
        self.log_path = log_path  # stdout goes there (else discarded)
        # s6/runit: `run` is a symlink to argv[0] that finds its report
        # file as ./report, unless shell_run (then a /bin/sh run script).
        self.shell_run = shell_run

    def names(self):
        return [f"w_{i:02d}" for i in range(self.n)]


class System:
    name = "?"
    version = "?"

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.dir = None

    def prepare(self, wl, tag):
        self.dir = os.path.join(self.ctx.tmp, f"{self.name}-{tag}")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.wl = wl

    def popen(self, argv, env=None, limit_fds=None):
        out = open(os.path.join(self.dir, "supervisor.out"), "ab")
        preexec = None
        if limit_fds:
            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit_fds, limit_fds))
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env or os.environ,
            start_new_session=True,
            preexec_fn=preexec,
            cwd=self.dir,
        )
        out.close()
        PIDS.record(self.proc.pid)
        return self.proc.pid

    def side(self):
        """The supervisor-side processes: the root and its descendants that
        are not the benchmark's own programs."""
        if not self.proc or self.proc.poll() is not None:
            return []
        desc, table = descendants(self.proc.pid)
        mine = self.ctx.helper_exes
        out = [self.proc.pid]
        for p in desc:
            if table[p][1] not in mine:
                out.append(p)
                PIDS.record(p)
        return out

    def env(self):
        return os.environ.copy()

    def failure(self):
        """Why the supervisor is gone, if it is: the last line it wrote."""
        if self.proc is None or self.proc.poll() is None:
            return ""
        try:
            with open(os.path.join(self.dir, "supervisor.out"), errors="replace") as f:
                last = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            last = []
        return f" ({self.name} exited {self.proc.returncode}: {last[-1] if last else ''})"

    def run_cmd(self, argv, timeout=120):
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(),
            timeout=timeout,
        ).returncode

    def wait_root(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        """The system's own stop command, then the recorded leftovers."""
        if self.proc and self.proc.poll() is None:
            side = self.side()
            try:
                self.shutdown()
            except Exception as e:  # noqa: BLE001 - report and go on
                log(f"{self.name}: stop command failed: {e}")
            if not self.wait_root(60):
                log(f"{self.name}: still running 60 s after its stop command")
            for p in side:
                PIDS.record(p)
            # Its other processes (runit's runsv, s6-supervise) may take a
            # moment more to finish by themselves.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(
                    start_time(p) is not None for p in side):
                reap()
                time.sleep(0.05)
        PIDS.kill_leftovers(self.name)
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    # What each system provides:
    def start(self, limit_fds=None):
        raise NotImplementedError

    def shutdown(self):
        raise NotImplementedError

    def status_one(self):
        raise NotImplementedError

    def stop_one(self):
        raise NotImplementedError

    def start_one(self):
        raise NotImplementedError

    def status_all(self):
        raise NotImplementedError

    def log_files(self):
        """The files the workload's stdout ends up in."""
        d = self.wl.log_path
        if os.path.isdir(d):
            return [os.path.join(d, f) for f in os.listdir(d)
                    if os.path.isfile(os.path.join(d, f)) and f not in ("lock", "config")]
        return [d]


def ini_program(wl, discard="/dev/null"):
    """The [program:w] section; past 1000 copies (sv's numprocs limit),
    [program:w1], [program:w2], ... of 1000 copies each."""
    if wl.levels:
        return ini_levels(wl, discard)
    cmd = " ".join(wl.argv)
    out = wl.log_path or discard
    chunks = [wl.n] if wl.n <= 1000 else [1000] * (wl.n // 1000) + (
        [wl.n % 1000] if wl.n % 1000 else [])
    text = ""
    for i, n in enumerate(chunks):
        name = "w" if i == 0 else f"w{i}"
        text += f"""[program:{name}]
command={cmd}
numprocs={n}
process_name=%(program_name)s_%(process_num)02d
autostart=true
startsecs=0
autorestart=true
stopwaitsecs=5
stdout_logfile={out}
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
redirect_stderr=true

"""
    return text


def ini_levels(wl, discard):
    """N programs p1..pN at priorities 10, 20, ...: each must be up for
    startsecs=1 to count as RUNNING. Written highest priority first."""
    cmd = " ".join(wl.argv)
    return "".join(f"""[program:p{i}]
command={cmd}
priority={i * 10}
autostart=false
startsecs=1
stopwaitsecs=5
stdout_logfile={discard}
redirect_stderr=true

""" for i in range(wl.n, 0, -1))


class Sv(System):
    name = "sv"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bin = ctx.sv
        self.version = subprocess.run([self.bin, "--version"], capture_output=True,
                                      text=True).stdout.strip() or "?"
        if ctx.sv_desc:
            self.version += f", {ctx.sv_desc}"
        else:
            here = os.path.dirname(os.path.abspath(__file__))
            rev = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"],
                                 capture_output=True, text=True).stdout.strip()
            if rev:
                self.version += f", git {rev} (the work tree)"

    def env(self):
        e = os.environ.copy()
        e["SV_RUNTIME_DIR"] = os.path.join(self.dir, "rt")
        e["SV_SYSLOG_SOCKET"] = os.path.join(self.dir, "no-syslog")
        return e

    def start(self, limit_fds=None):
        conf = os.path.join(self.dir, "sv.conf")
        with open(conf, "w") as f:
            f.write(ini_program(self.wl))
        return self.popen([self.bin, "daemon", "0", "-c", conf], self.env(), limit_fds)

    def shutdown(self):
        self.run_cmd([self.bin, "close", "-i", "0"], timeout=120)

    def status_one(self):
        return [self.bin, "status", "w_00", "-i", "0"]

    def stop_one(self):
        return [self.bin, "stop", "w_00", "-i", "0"]

    def start_one(self):
        return [self.bin, "start", "w_00", "-i", "0"]

    def status_all(self):
        return [self.bin, "status", "-i", "0"]

    def start_all(self):
        return [self.bin, "start", "all", "-i", "0"]

    def stop_all(self):
        return [self.bin, "stop", "all", "-i", "0"]


class Supervisord(System):
    name = "supervisord"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bin = os.path.join(ctx.venv, "bin", "supervisord")
        self.ctl = os.path.join(ctx.venv, "bin", "supervisorctl")
        self.version = subprocess.run([self.bin, "--version"], capture_output=True,
                                      text=True).stdout.strip() or "?"

    def start(self, limit_fds=None):
        self.conf = os.path.join(self.dir, "supervisord.conf")
        d = self.dir
        # About 2 descriptors per program; the hard limit caps it (raising
        # that needs CAP_SYS_RESOURCE, which a container may not give).
        self.hint = ""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        minfds = max(1024, 3 * self.wl.n + 200)
        if hard != resource.RLIM_INFINITY and minfds > hard:
            minfds = hard
            self.hint = (f"supervisord keeps 2 or 3 descriptors per program and the hard "
                         f"descriptor limit here is {hard}")
        with open(self.conf, "w") as f:
            f.write(f"""[supervisord]
nodaemon=true
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}
minfds={minfds}
minprocs={max(200, self.wl.n + 200)}

[unix_http_server]
file={d}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{d}/supervisor.sock

""" + ini_program(self.wl, discard="NONE"))
        return self.popen([self.bin, "-n", "-c", self.conf], limit_fds=limit_fds)

    def shutdown(self):
        self.run_cmd([self.ctl, "-c", self.conf, "shutdown"], timeout=120)

    def status_one(self):
        return [self.ctl, "-c", self.conf, "status", "w:w_00"]

    def stop_one(self):
        return [self.ctl, "-c", self.conf, "stop", "w:w_00"]

    def start_one(self):
        return [self.ctl, "-c", self.conf, "start", "w:w_00"]

    def status_all(self):
        return [self.ctl, "-c", self.conf, "status"]

    def start_all(self):
        return [self.ctl, "-c", self.conf, "start", "all"]

    def stop_all(self):
        return [self.ctl, "-c", self.conf, "stop", "all"]


class ServiceDirs(System):
    """s6 and runit: one service directory per program."""

    def make_dirs(self, logger_run):
        self.scan = os.path.join(self.dir, "scan")
        os.makedirs(self.scan)
        for name in self.wl.names():
            d = os.path.join(self.scan, name)
            os.makedirs(d)
            run = os.path.join(d, "run")
            if self.wl.shell_run:
                with open(run, "w") as f:
                    f.write("#!/bin/sh\nexec " + " ".join(self.wl.argv) + "\n")
                os.chmod(run, 0o755)
            else:
                # The program itself, no shell: it reports to ./report.
                os.symlink(self.wl.argv[0], run)
                os.symlink(self.wl.argv[1], os.path.join(d, "report"))
            if self.wl.log_path:
                os.makedirs(os.path.join(d, "log"))
                os.makedirs(self.wl.log_path, exist_ok=True)
                lrun = os.path.join(d, "log", "run")
                with open(lrun, "w") as f:
                    f.write("#!/bin/sh\nexec " + logger_run + "\n")
                os.chmod(lrun, 0o755)

    def one(self):
        return os.path.join(self.scan, "w_00")


class S6(System):
    name = "s6"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.version = "s6 " + ctx.pkg_version("s6")

    make_dirs = ServiceDirs.make_dirs
    one = ServiceDirs.one

    def start(self, limit_fds=None):
        # s6-log can rotate at 256 MiB at most and keeps 20 archives here,
        # so 1 GiB fits without loss; nothing is prepended to lines.
        self.make_dirs(f"s6-log n20 s268435455 {self.wl.log_path}" if self.wl.log_path else "")
        return self.popen(["s6-svscan", "-c", str(2 * self.wl.n + 16), self.scan],
                          limit_fds=limit_fds)

    def shutdown(self):
        self.run_cmd(["s6-svscanctl", "-t", self.scan])

    def status_one(self):
        return ["/usr/bin/s6-svstat", self.one()]

    def stop_one(self):
        return ["/usr/bin/s6-svc", "-wd", "-d", self.one()]

    def start_one(self):
        return ["/usr/bin/s6-svc", "-wu", "-u", self.one()]

    def status_all(self):
        # s6-svstat takes one service: a loop, as an operator would write it.
        return ["/bin/sh", "-c", 'for d in "$1"/*; do s6-svstat "$d"; done', "sh", self.scan]


class Runit(System):
    name = "runit"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.version = "runit " + ctx.pkg_version("runit")

    make_dirs = ServiceDirs.make_dirs
    one = ServiceDirs.one

    def start(self, limit_fds=None):
        if self.wl.log_path:
            os.makedirs(self.wl.log_path, exist_ok=True)
            # s0: never rotate (svlogd's own switch for that).
            with open(os.path.join(self.wl.log_path, "config"), "w") as f:
                f.write("s0\n")
        self.make_dirs(f"svlogd {self.wl.log_path}" if self.wl.log_path else "")
        return self.popen(["runsvdir", self.scan], limit_fds=limit_fds)

    def dirs(self):
        return [os.path.join(self.scan, n) for n in self.wl.names()]

    def shutdown(self):
        # Bring every service down (runit's sv waits up to -w seconds), then
        # SIGHUP runsvdir: it tells each runsv to exit, and exits itself.
        subprocess.run(["/usr/bin/sv", "-w", "30", "force-stop"] + self.dirs(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        self.proc.send_signal(signal.SIGHUP)

    def status_one(self):
        return ["/usr/bin/sv", "status", self.one()]

    def stop_one(self):
        return ["/usr/bin/sv", "stop", self.one()]

    def start_one(self):
        return ["/usr/bin/sv", "start", self.one()]

    def status_all(self):
        return ["/usr/bin/sv", "status"] + self.dirs()


# --------------------------------------------------------------- the harness


class Ctx:
    def __init__(self, a):
        self.tmp = a.tmp
        self.sv = a.sv
        self.bin = a.helpers
        self.venv = a.venv
        self.quick = a.quick
        self.sv_desc = a.sv_desc
        self.child = os.path.join(self.bin, "child")
        self.writer = os.path.join(self.bin, "writer")
        self.helper_exes = {self.child, self.writer}
        self.notes = []

    def helper(self, name):
        return os.path.join(self.bin, name)

    def pkg_version(self, pkg):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           capture_output=True, text=True)
        return r.stdout.strip() or "?"


def timecmd(ctx, system, count, first, then=None):
    argv = [ctx.helper("timecmd"), str(count)] + first
    if then:
        argv += ["--then"] + then
    r = subprocess.run(argv, capture_output=True, text=True, env=system.env() if system else None,
                       timeout=3600)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        said = [ln for ln in lines if not ln.startswith("timecmd:")]
        why = (said or lines or ["failed"])[0].strip()[:200]
        log(f"timecmd {os.path.basename(first[0])} {' '.join(first[1:3])}...: {why}")
        raise CmdFailed(f"`{os.path.basename(first[0])} {' '.join(first[1:2])}` failed: {why}")
    return [int(x) for x in r.stdout.split()]


class CmdFailed(Exception):
    pass


def settle_for(system):
    # runsv, and sv since its restart floor (SPEC §11), wait until a second
    # after the start of a run that lasted less than one: let their children
    # live past that. (s6-supervise waited about a second before every
    # restart here, however long the child ran.)
    return 1.1 if system.name in ("runit", "sv") else 0.2


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


def bench_spawn(ctx, system, n, runs, timeout):
    """Time from start to all N running, and the supervisor side's memory
    once they are."""
    times, rss, pss = [], [], []
    for run in range(runs):
        fifo = Fifo(os.path.join(ctx.tmp, "spawn.fifo"))
        floor = None
        try:
            t0 = now_ns()
            if system is None:
                floor = subprocess.Popen([ctx.helper("floor_spawn"), ctx.child, fifo.path, str(n)])
                PIDS.record(floor.pid)
            else:
                system.prepare(Workload(n, [ctx.child, fifo.path]), f"spawn{n}")
                system.start(limit_fds=None)
            got = fifo.lines(n, timeout, stall=60)
            if len(got) < n:
                log(f"{system.name if system else 'floor'}: only {len(got)} of {n} "
                    f"running (none more for 60 s){system.failure() if system else ''}")
                return None, None, None
            times.append((max(g[1] for g in got) - t0) / 1e6)
            if system is not None:
                time.sleep(1.0)  # let it finish its own bookkeeping
                side = system.side()
                mem = [smaps(p) for p in side]
                rss.append(sum(m[0] for m in mem) / 1024)
                pss.append(sum(m[1] for m in mem) / 1024)
        finally:
            if floor is not None:
                floor.send_signal(signal.SIGTERM)
                floor.wait()
            if system is not None:
                system.stop()
            fifo.close()
    unit = "ms"
    return (Stat(times, unit), Stat(rss, "MiB") if rss else None,
            Stat(pss, "MiB") if pss else None)


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


def bench_scale(ctx, system, n, runs, status_runs, timeout):
    start, status, rss, pss = [], [], [], []
    status_failed = None
    for run in range(runs):
        fifo = Fifo(os.path.join(ctx.tmp, "scale.fifo"))
        floor = None
        try:
            t0 = now_ns()
            if system is None:
                floor = subprocess.Popen([ctx.helper("floor_spawn"), ctx.child, fifo.path, str(n)])
                PIDS.record(floor.pid)
            else:
                system.prepare(Workload(n, [ctx.child, fifo.path]), "scale")
                system.start()
            got = fifo.lines(n, timeout, stall=30)
            if len(got) < n:
                why = (f"only {len(got)} of {n} running (none more for 30 s)"
                       f"{system.failure() if system else ''}")
                log(f"{system.name if system else 'floor'}: {why}")
                return why, None, None
            start.append((max(g[1] for g in got) - t0) / 1e9)
            if system is None:
                continue
            time.sleep(2)
            mem = [smaps(p) for p in system.side()]
            rss.append(sum(m[0] for m in mem) / 1024)
            pss.append(sum(m[1] for m in mem) / 1024)
            try:
                status += [x / 1e6 for x in timecmd(ctx, system, status_runs,
                                                    system.status_all())]
            except CmdFailed as e:
                status_failed = str(e)
        finally:
            if floor is not None:
                floor.send_signal(signal.SIGTERM)
                floor.wait()
            if system is not None:
                system.stop()
            fifo.close()
    if status_failed:
        status = status_failed  # a failure outweighs any run that answered
    else:
        status = Stat(status, "ms") if status else None
    return (Stat(start, "s"), status,
            (Stat(rss, "MiB"), Stat(pss, "MiB")) if rss else None)


def merge_scale(a, b):
    """Two bench_scale results of the same system, as one."""
    start = Stat(a[0].values + b[0].values, "s")
    if isinstance(a[1], str) or isinstance(b[1], str):
        status = a[1] if isinstance(a[1], str) else b[1]
    elif a[1] and b[1]:
        status = Stat(a[1].values + b[1].values, "ms")
    else:
        status = a[1] or b[1]
    mem = a[2]
    if a[2] and b[2]:
        mem = (Stat(a[2][0].values + b[2][0].values, "MiB"),
               Stat(a[2][1].values + b[2][1].values, "MiB"))
    return start, status, mem


def file_size_mib(paths):
    """The programs' sizes plus those of the shared libraries they need
    other than libc (counted once)."""
    files = set()
    for p in paths:
        p = os.path.realpath(shutil.which(p) or p)
        files.add(p)
        r = subprocess.run(["ldd", p], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if "=>" not in line:
                continue
            lib = line.split("=>")[1].split("(")[0].strip()
            if lib and not os.path.basename(lib).startswith(("libc.so", "ld-linux")):
                files.add(os.path.realpath(lib))
    total = 0
    for f in files:
        try:
            total += os.path.getsize(f)
        except OSError:
            pass
    return total / MiB


# --------------------------------------------------------------- the report


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
"""


# --------------------------------------------------------------- main


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
    size = R.get("size", {}).get("sv")
    if size and size.ok:
        out.append(("binary under 1.5 MiB", f"{fmt_num(size.median)} MiB",
                    verdict(size.median < 1.5)))
    return out


if __name__ == "__main__":
    main()
