"""What every measurement shares: pids recorded and reaped, /proc readings,
statistics and their formatting, the FIFO handshake, the run context
(`Ctx`) and `timecmd`.

Nothing here is ever killed by name: `Pids` kills only pids it recorded,
and only while their start time is unchanged.
"""

import os
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
        self.helper_exes = {self.child, self.writer, os.path.join(self.bin, "listener")}
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


def wait_exact(p, timeout):
    """p's exit status, waited for on a pidfd: the moment it exits.
    subprocess's own wait with a timeout polls, every 50 ms once it has
    waited 64 ms, which rounded a `start all` of 370 ms up to 415."""
    fd = os.pidfd_open(p.pid)
    try:
        if not select.select([fd], [], [], timeout)[0]:
            p.kill()
            p.wait()
            raise subprocess.TimeoutExpired(p.args, timeout)
    finally:
        os.close(fd)
    return p.wait()


class CmdFailed(Exception):
    pass


def settle_for(system):
    # runsv, and sv since its restart floor (SPEC §11), wait until a second
    # after the start of a run that lasted less than one: let their children
    # live past that. (s6-supervise waited about a second before every
    # restart here, however long the child ran.)
    return 1.1 if system.name in ("runit", "sv") else 0.2


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
