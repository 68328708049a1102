//! The crash harness shared by the SPEC 8 tests: a daemon that can be
//! SIGKILLed and started again on the same runtime dir ([`Crashy`]), a
//! [`Holder`] for daemons whose orphans must stay zombies, and pids
//! recorded for clean-up ([`Strays`]). /proc is scanned by an argument
//! unique to the test only to count processes, never to kill them.
#![allow(dead_code)]

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub const N: u8 = 8;

/// SIGKILLs a recorded pid and waits until it is dead. A process orphaned
/// by a killed daemon belongs to whoever reaps orphans (init, or a
/// [`Holder`]); when `reaped`, wait (a while, best effort) until it has
/// been reaped and is gone from /proc.
pub fn kill_dead(pid: i32, reaped: bool) {
    kill(pid, libc::SIGKILL);
    assert!(wait_until(10, || !alive(pid)), "pid {pid} did not die");
    if reaped {
        wait_until(10, || !Path::new(&format!("/proc/{pid}")).exists());
    }
}

/// A middle process that is a child subreaper with `sv daemon N` as its
/// child, so the daemon's orphans become its children. With `reap` it
/// reaps every child at once (a good init) and exits when none is left;
/// without, it never reaps (a careless parent): a process that dies stays
/// a zombie, same pid and start time in /proc, until the holder is killed.
pub struct Holder {
    pub pid: i32,
    pub daemon: i32,
}

impl Holder {
    pub fn spawn(sv: &Sv, conf: Option<&Path>, err: &Path, reap: bool) -> Holder {
        use std::ffi::CString;
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        let cstr = |b: &[u8]| CString::new(b).expect("no NUL");
        let mut args = vec![
            cstr(sv_bin().as_os_str().as_bytes()),
            cstr(b"daemon"),
            cstr(N.to_string().as_bytes()),
        ];
        if let Some(c) = conf {
            args.push(cstr(b"-c"));
            args.push(cstr(c.as_os_str().as_bytes()));
        }
        let mut env: Vec<CString> = std::env::vars_os()
            .filter(|(k, _)| {
                !["SV_INSTANCE", "SV_SYSLOG_SOCKET", "SV_RUNTIME_DIR"]
                    .iter()
                    .any(|x| k == x)
            })
            .map(|(k, v)| {
                let mut b = k.as_bytes().to_vec();
                b.push(b'=');
                b.extend_from_slice(v.as_bytes());
                cstr(&b)
            })
            .collect();
        let mut rt = b"SV_RUNTIME_DIR=".to_vec();
        rt.extend_from_slice(sv.runtime.path().as_os_str().as_bytes());
        env.push(cstr(&rt));
        let argv: Vec<*const libc::c_char> = args
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let envp: Vec<*const libc::c_char> = env
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let cwd = cstr(sv.work.path().as_os_str().as_bytes());
        let null_r = std::fs::File::open("/dev/null").expect("/dev/null");
        let null_w = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("/dev/null");
        let errf = std::fs::File::create(err).expect("daemon log");
        let (nr, nw, ef) = (null_r.as_raw_fd(), null_w.as_raw_fd(), errf.as_raw_fd());
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 into a local array; fork, and in the children only
        // async-signal-safe calls on data prepared before the fork.
        unsafe {
            assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
            let pid = libc::fork();
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
                let d = libc::fork();
                if d == 0 {
                    libc::dup2(nr, 0);
                    libc::dup2(nw, 1);
                    libc::dup2(ef, 2);
                    libc::chdir(cwd.as_ptr());
                    libc::execve(argv[0], argv.as_ptr(), envp.as_ptr());
                    libc::_exit(127);
                }
                libc::write(fds[1], (&d as *const i32).cast(), 4);
                loop {
                    if reap {
                        let r = libc::waitpid(-1, std::ptr::null_mut(), 0);
                        if r < 0 && *libc::__errno_location() == libc::ECHILD {
                            libc::_exit(0);
                        }
                    } else {
                        libc::pause();
                    }
                }
            }
            libc::close(fds[1]);
            let mut d: i32 = 0;
            let n = libc::read(fds[0], (&mut d as *mut i32).cast(), 4);
            libc::close(fds[0]);
            assert!(n == 4 && d > 0, "the holder did not start the daemon");
            Holder { pid, daemon: d }
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Recorded pid: the holder this test forked. Its zombies go to init.
        kill(self.pid, libc::SIGKILL);
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), 0) };
    }
}

/// Field 22 of /proc/PID/stat (start time in clock ticks).
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let i = stat.rfind(')')?;
    // Fields after the comm start at field 3; field 22 is the 20th of them.
    stat[i + 1..].split_whitespace().nth(19)?.parse().ok()
}

/// An argument no other test (or test binary) uses: `BASE.PID`, still a
/// valid duration for `sleep`.
pub fn uniq(base: u32) -> String {
    format!("{base}.{}", std::process::id())
}

/// Live processes whose command line is exactly `argv` (for counting only).
pub fn procs_with(argv: &[&str]) -> Vec<i32> {
    let mut out: Vec<i32> = cmdlines()
        .into_iter()
        .filter(|(pid, parts)| {
            parts.len() == argv.len()
                && parts.iter().zip(argv).all(|(a, b)| a == b.as_bytes())
                && alive(*pid)
        })
        .map(|(pid, _)| pid)
        .collect();
    out.sort();
    out
}

/// Processes running `/bin/sleep ARG`.
pub fn sleeps(arg: &str) -> Vec<i32> {
    procs_with(&["/bin/sleep", arg])
}

/// A number field of a flat JSON object (`"key":123`).
pub fn json_num(text: &str, key: &str) -> Option<i64> {
    let pat = format!("\"{key}\":");
    let at = text.find(&pat)? + pat.len();
    let num: String = text[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    num.parse().ok()
}

/// The numbers of the complete lines of `text` (a last line with no
/// newline may still be being written); `None` for a line that is not one.
pub fn numbers(text: &str) -> Vec<Option<u64>> {
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i + 1],
        None => "",
    };
    complete.lines().map(|l| l.trim().parse().ok()).collect()
}

/// Pids recorded by a test, with their start times; on drop every one that
/// is still the same live process is SIGKILLed (and reaped if ours).
#[derive(Default)]
pub struct Strays(pub Vec<(i32, u64)>);

impl Strays {
    pub fn add(&mut self, pid: i32) {
        if let Some(t) = start_time(pid) {
            if !self.0.contains(&(pid, t)) {
                self.0.push((pid, t));
            }
        }
    }
}

impl Drop for Strays {
    fn drop(&mut self) {
        for &(pid, t) in &self.0 {
            if alive(pid) && start_time(pid) == Some(t) {
                kill(pid, libc::SIGKILL);
                wait_until(5, || !alive(pid));
                // SAFETY: waitpid on a recorded pid; fails harmlessly if not ours.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
        }
    }
}

/// A daemon that can be SIGKILLed and started again on the same runtime
/// dir (and the same config, if any).
pub struct Crashy {
    pub sv: Sv,
    pub conf: Option<PathBuf>,
    /// How many daemons were started; daemon K logs to `work/daemon-K.err`.
    pub boots: u32,
    /// The running daemon's pid when it runs under a holder, not as `sv.child`.
    pub held: Option<i32>,
    pub holders: Vec<Holder>,
    pub strays: Strays,
}

impl Crashy {
    /// A runtime dir (and config, when given) with no daemon yet.
    pub fn unbooted(conf: Option<&str>) -> Crashy {
        let sv = Sv::new(N);
        let conf = conf.map(|text| {
            let path = sv.work.path().join("sv.conf");
            std::fs::write(&path, text).expect("write config");
            path
        });
        Crashy {
            sv,
            conf,
            boots: 0,
            held: None,
            holders: Vec::new(),
            strays: Strays::default(),
        }
    }

    /// A running daemon.
    pub fn new(conf: Option<&str>) -> Crashy {
        let mut c = Crashy::unbooted(conf);
        c.boot();
        c
    }

    /// Starts `sv daemon N [-c CONF]` on the runtime dir and waits until it
    /// answers.
    #[track_caller]
    pub fn boot(&mut self) {
        assert!(self.running().is_none(), "a daemon is already running");
        self.boots += 1;
        let err = std::fs::File::create(self.log_path(self.boots)).expect("daemon log");
        let mut cmd = self.sv.command();
        cmd.args(["daemon", &N.to_string()]);
        if let Some(conf) = &self.conf {
            cmd.arg("-c").arg(conf);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn sv daemon");
        self.sv.child = Some(child);
        self.sv.wait_ready();
    }

    /// Like [`Crashy::boot`], with the daemon under a [`Holder`].
    #[track_caller]
    pub fn boot_held(&mut self, reap: bool) {
        assert!(self.running().is_none(), "a daemon is already running");
        self.boots += 1;
        let h = Holder::spawn(
            &self.sv,
            self.conf.as_deref(),
            &self.log_path(self.boots),
            reap,
        );
        self.held = Some(h.daemon);
        self.holders.push(h);
        self.sv.wait_ready();
    }

    /// The running daemon's pid, if one was started and not killed.
    pub fn running(&self) -> Option<i32> {
        self.sv.child.as_ref().map(|c| c.id() as i32).or(self.held)
    }

    /// SIGKILLs the daemon once a `status` round trip has shown that every
    /// change it answered so far is on disk (the state is written at the
    /// end of the loop pass that answered).
    pub fn crash(&mut self) {
        self.sv.sv(&["status"]).ok();
        self.crash_now();
    }

    /// SIGKILLs the daemon (the recorded child) at once and reaps it (or,
    /// under a holder, waits until it is dead).
    pub fn crash_now(&mut self) {
        if let Some(mut child) = self.sv.child.take() {
            child.kill().expect("SIGKILL the daemon");
            child.wait().expect("reap the daemon");
        } else {
            let pid = self.held.take().expect("no daemon to kill");
            kill(pid, libc::SIGKILL);
            assert!(wait_until(10, || !alive(pid)), "the daemon did not die");
        }
    }

    pub fn log_path(&self, boot: u32) -> PathBuf {
        self.sv.work.path().join(format!("daemon-{boot}.err"))
    }

    /// What daemon number `boot` logged to stderr.
    pub fn log(&self, boot: u32) -> String {
        std::fs::read_to_string(self.log_path(boot)).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        self.sv.runtime.path().join(N.to_string())
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir().join("state")
    }

    /// Runs `sv ARGS... -i N`.
    pub fn sv(&self, args: &[&str]) -> Run {
        self.sv.sv(args)
    }

    /// The service's pid (recorded for the final clean-up); panics if none.
    #[track_caller]
    pub fn pid(&mut self, name: &str) -> i32 {
        let pid = self
            .sv
            .pid(name)
            .unwrap_or_else(|| panic!("{name} has no pid: {:?}", self.sv.state(name)));
        self.strays.add(pid);
        pid
    }

    /// `restarts` from `service-status NAME --json`.
    #[track_caller]
    pub fn restarts(&self, name: &str) -> i64 {
        let r = self.sv(&["service-status", name, "--json"]);
        json_num(r.ok(), "restarts").unwrap_or_else(|| panic!("no restarts in {r:?}"))
    }

    /// Waits until `name` is in `state` with a pid other than `old`; returns it.
    #[track_caller]
    pub fn wait_new_pid(&mut self, name: &str, old: i32, state: &str, secs: u64) -> i32 {
        let mut last = None;
        let ok = wait_until(secs, || {
            last = self.sv.state(name);
            let pid = self.sv.pid(name);
            last.as_ref().is_some_and(|(s, _)| s == state) && pid.is_some_and(|p| p != old)
        });
        assert!(
            ok,
            "{name} never reached {state} with a pid other than {old}; last seen {last:?}"
        );
        self.pid(name)
    }

    /// `sv create-service --no-wait -i N ARGS`, which must succeed; returns
    /// its output.
    #[track_caller]
    pub fn create(&mut self, args: &[&str]) -> String {
        // Answered at once: these tests are about crashes, not waiting.
        let mut all = vec!["create-service", "--no-wait", "-i"];
        let n = N.to_string();
        all.push(&n);
        all.extend_from_slice(args);
        let r = self.sv.run(&all);
        let out = r.ok().to_string();
        if let Some(at) = out.find(", pid ") {
            if let Ok(pid) = out[at + 6..].trim().parse::<i32>() {
                self.strays.add(pid);
            }
        }
        out
    }

    /// Names of every row of `sv status`.
    pub fn names(&self) -> Vec<String> {
        let r = self.sv(&["status"]);
        r.ok()
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// Closes the daemon through its socket; it must answer `stopped`.
    #[track_caller]
    pub fn close(&mut self) {
        let held = self.held.take();
        let r = self.sv.close();
        assert_eq!(r.ok(), format!("supervisor {N}: stopped\n"));
        if let Some(pid) = held {
            assert!(wait_until(10, || !alive(pid)), "the daemon did not exit");
        }
    }
}

impl Drop for Crashy {
    fn drop(&mut self) {
        // Holders first: a zombie they keep could hold up a stop forever.
        self.holders.clear();
        // A daemon started after an earlier close (which `Sv` no longer
        // closes by itself), or left by a failing test.
        if self.running().is_some() {
            self.sv.close();
        }
    }
}

/// Waits until `name` is STARTING or RUNNING; returns the state.
#[track_caller]
pub fn wait_up(c: &Crashy, name: &str, secs: u64) -> String {
    let mut last = None;
    let ok = wait_until(secs, || {
        last = c.sv.state(name);
        last.as_ref()
            .is_some_and(|(s, _)| s == "STARTING" || s == "RUNNING")
    });
    assert!(ok, "{name} never started; last seen {last:?}");
    last.unwrap().0
}
