"""The supervisors under test (sv, supervisord, s6, runit), each behind
the one `System` interface: start, load a workload, stop with its own
stop command.
"""

import os
import resource
import shutil
import signal
import subprocess
import time

from common import *  # noqa: F401,F403


class Workload:
    """N copies of one program, named w_00, w_01, ..."""

    def __init__(self, n, argv, log_path=None, shell_run=False, levels=False, raw=None,
                 program_keys="", extra=""):
        self.n = n
        # sv only (measurements 10 and 11): the configuration itself, for
        # what the peers have no keys for (depends_on, ready=, health=).
        self.raw = raw
        # sv and supervisord (measurement 13): lines added to each
        # [program] section, and sections added after them.
        self.program_keys = program_keys
        self.extra = extra
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
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(),
        )
        return wait_exact(p, timeout)

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
{wl.program_keys}
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
            f.write(self.wl.raw if self.wl.raw is not None
                    else ini_program(self.wl) + self.wl.extra)
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

""" + ini_program(self.wl, discard="NONE") + self.wl.extra)
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
