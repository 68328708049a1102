//! Shared helpers for the integration tests: a real `sv` binary, a real
//! daemon in a temporary `SV_RUNTIME_DIR`, and deadline loops instead of
//! fixed sleeps. Every daemon started here is closed through its socket
//! when its guard drops, and only recorded pids are ever killed.

#![allow(dead_code)]

mod files;
mod layout;
mod pipes;
mod procfs;
mod run;
mod skip;
// A test file uses some of these, never all.
#[allow(unused_imports)]
pub use {files::*, layout::*, pipes::*, procfs::*, run::*, skip::*};
// Helpers of one family of split test files, imported by name there.
pub mod config_effects;
pub mod containers;
pub mod ctl;
pub mod flood;
pub mod http;
pub mod json;
pub mod listeners;
pub mod programs;
pub mod python;
pub mod schedule;
pub mod services;
pub mod tmpfs;

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn sv_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sv"))
}

/// A fresh, private directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sv-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The result of one `sv` command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out
                .status
                .code()
                .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts exit 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        &self.stdout
    }
}

/// A daemon for one test: its own runtime dir, instance and work dir.
pub struct Sv {
    pub runtime: TempDir,
    /// A scratch directory for the test's files (cwd of every command).
    pub work: TempDir,
    pub instance: u8,
    /// The foreground daemon, when started with [`Sv::daemon`].
    pub child: Option<Child>,
    closed: bool,
}

impl Sv {
    /// A runtime dir with no daemon yet.
    pub fn new(instance: u8) -> Sv {
        Sv {
            runtime: TempDir::new("rt"),
            work: TempDir::new("work"),
            instance,
            child: None,
            closed: false,
        }
    }

    /// Starts `sv daemon N` in the foreground (as a child of the test) and
    /// waits until it answers.
    pub fn daemon(instance: u8) -> Sv {
        let mut sv = Sv::new(instance);
        let mut cmd = sv.command();
        cmd.args(["daemon", &instance.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        sv.launch(cmd);
        sv
    }

    /// Writes `conf` to `work/sv.conf` and returns its path.
    pub fn write_conf(&self, conf: &str) -> PathBuf {
        let path = self.work.path().join("sv.conf");
        std::fs::write(&path, conf).expect("write config");
        path
    }

    /// `sv daemon N -c work/sv.conf` (with `conf` written there), its
    /// stdout to /dev/null and its stderr to `work/daemon.err`; adjust it,
    /// then hand it to [`Sv::launch`].
    pub fn config_daemon(&self, conf: &str) -> Command {
        let path = self.write_conf(conf);
        let err = std::fs::File::create(self.work.path().join("daemon.err")).expect("daemon.err");
        let mut c = self.command();
        c.args(["daemon", &self.instance.to_string(), "-c"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(err);
        c
    }

    /// [`Sv::config_daemon`] with `env` added to the daemon's environment.
    pub fn config_daemon_env<K, V>(&self, conf: &str, env: &[(K, V)]) -> Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut c = self.config_daemon(conf);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Spawns `cmd` as this test's daemon and waits until it answers.
    pub fn launch(&mut self, mut cmd: Command) {
        self.child = Some(cmd.spawn().expect("spawn sv daemon"));
        self.wait_ready();
    }

    /// Starts the daemon with `sv init` (detached) and waits until it answers.
    pub fn init(instance: u8) -> Sv {
        let sv = Sv::new(instance);
        let r = sv.run(&["init", "-i", &instance.to_string()]);
        assert_eq!(r.code, 0, "sv init failed: {r:?}");
        sv.wait_ready();
        sv
    }

    /// A `Command` for the sv binary with this test's environment.
    pub fn command(&self) -> Command {
        self.with_env(Command::new(sv_bin()))
    }

    /// `/bin/sh -c SCRIPT` with this test's environment, where `$0` is the
    /// sv binary (so the script can `exec "$0" daemon N`).
    pub fn sh(&self, script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script).arg(sv_bin());
        self.with_env(c)
    }

    fn with_env(&self, mut c: Command) -> Command {
        c.env("SV_RUNTIME_DIR", self.runtime.path())
            .env_remove("SV_INSTANCE")
            .env_remove("SV_SYSLOG_SOCKET")
            .current_dir(self.work.path())
            .stdin(Stdio::null());
        c
    }

    /// `sv tail -f -n 1 NAME -i N` with its stdout piped, to spawn: its
    /// first line (the last one logged) says it has begun to follow.
    pub fn tail_follow(&self, name: &str) -> Command {
        let mut c = self.command();
        c.args([
            "tail",
            "-f",
            "-n",
            "1",
            name,
            "-i",
            &self.instance.to_string(),
        ])
        .stdout(Stdio::piped());
        c
    }

    /// Spawns `sv ARGS... -i N` in the background, stdout and stderr piped,
    /// for a test that looks at the daemon while the command waits.
    pub fn spawn_sv(&self, args: &[&str]) -> Child {
        self.command()
            .args(args)
            .args(["-i", &self.instance.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sv")
    }

    /// Runs `sv ARGS...` (no `-i` added) and collects its output.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        Run::from(self.command().args(args).output().expect("run sv"))
    }

    /// Runs `sv ARGS... -i N`.
    pub fn sv(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        let n = self.instance.to_string();
        all.push("-i");
        all.push(&n);
        self.run(&all)
    }

    /// `sv status NAME`: (STATE, detail), or None if the name is unknown.
    pub fn state(&self, name: &str) -> Option<(String, String)> {
        status_row(&self.sv(&["status", name]), name)
    }

    /// Waits until `name` is in `state`; panics with the last status seen.
    #[track_caller]
    pub fn wait_state(&self, name: &str, state: &str, secs: u64) -> String {
        let mut last = None;
        let ok = wait_until(secs, || {
            last = self.state(name);
            last.as_ref().is_some_and(|(s, _)| s == state)
        });
        assert!(ok, "{name} never reached {state}; last seen {last:?}");
        last.map(|(_, d)| d).unwrap_or_default()
    }

    /// The pid of a service from `service-status --json`, if it has one.
    pub fn pid(&self, name: &str) -> Option<i32> {
        let r = self.sv(&["service-status", name, "--json"]);
        let text = r.stdout;
        let at = text.find("\"pid\":")? + 6;
        let num: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        num.parse().ok().filter(|p| *p > 0)
    }

    /// Waits until the daemon answers a status request.
    #[track_caller]
    pub fn wait_ready(&self) {
        let ok = wait_until(10, || self.sv(&["status"]).code == 0);
        assert!(ok, "daemon {} never became ready", self.instance);
    }

    /// Closes the daemon through its socket and waits for it to exit.
    pub fn close(&mut self) -> Run {
        self.closed = true;
        let r = self.sv(&["close"]);
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if let Ok(None) = c.try_wait() {
                // Recorded pid: the daemon we started ourselves.
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        r
    }
}

impl Drop for Sv {
    fn drop(&mut self) {
        if !self.closed {
            self.close();
        }
    }
}

/// (STATE, detail) from the answer to `sv status NAME`, or None if it
/// failed or is not about `name`.
pub fn status_row(r: &Run, name: &str) -> Option<(String, String)> {
    if r.code != 0 {
        return None;
    }
    let mut parts = r.stdout.lines().next()?.split_whitespace();
    if parts.next()? != name {
        return None;
    }
    let state = parts.next()?.to_string();
    Some((state, parts.collect::<Vec<_>>().join(" ")))
}

/// The seconds in a PENDING detail `starts in N s`; panics on another.
#[track_caller]
pub fn starts_in(detail: &str) -> u64 {
    detail
        .strip_prefix("starts in ")
        .and_then(|d| d.strip_suffix(" s"))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("not `starts in N s`: {detail:?}"))
}

/// Polls `cond` every 10 ms until it holds or `secs` pass.
pub fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string));
            state.as_deref() != Some("Z")
        }
        Err(_) => false,
    }
}

/// The state letter of a process from /proc (R, S, T, Z...).
pub fn proc_state(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let i = stat.rfind(')')?;
    stat[i + 1..].split_whitespace().next().map(str::to_string)
}

/// Children of `pid` (from /proc/PID/task/*/children).
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}

/// Makes a symlink `dir/name -> sv` and returns its path (busybox-style).
pub fn applet_link(dir: &Path, name: &str) -> PathBuf {
    let link = dir.join(name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(sv_bin(), &link).expect("symlink");
    link
}

/// Kills a pid this test recorded (never by name).
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: plain kill(2) on a pid the test recorded.
    unsafe {
        libc::kill(pid, sig);
    }
}
