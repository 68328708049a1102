//! The real supervisorctl as the judge of sv's `supervisorctl` applet
//! (SPEC §13): a real supervisord (from the venv of `python.rs`) per test,
//! and [`Judge`], which runs one command line through both clients against
//! a server and compares what they print and their exit codes.
//!
//! A [`Target`] is only a config file (with its `[supervisorctl]`) and the
//! directory of its paths, so the same comparison runs against sv's own
//! server: start it on such a config and pass its `Target`.

use super::{applet_link, kill, wait_until, Run, TempDir};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Where a client is pointed: `-c conf`, run in `dir`.
#[derive(Clone, Debug)]
pub struct Target {
    pub conf: PathBuf,
    pub dir: PathBuf,
}

/// A config for a real supervisord (or sv's server) in `%(here)s`: a unix
/// server `s.sock`, logs beside it, the programs of `programs`.
pub fn supervisord_conf(extra: &str, programs: &str) -> String {
    format!(
        "[unix_http_server]\nfile=%(here)s/s.sock\n\n\
         [supervisord]\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n\
         childlogdir=%(here)s\nnodaemon=true\nidentifier=judge\n\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://%(here)s/s.sock\n\n{extra}\n{programs}"
    )
}

/// A real supervisord in its own temporary directory, stopped (SIGTERM,
/// then SIGKILL after a deadline) by its recorded pid when dropped.
pub struct Supervisord {
    pub dir: TempDir,
    pub target: Target,
    child: Child,
}

impl Supervisord {
    /// Starts supervisord on `conf` (written to DIR/supervisord.conf);
    /// waits until it answers and no program is STARTING. None when the
    /// venv is missing (the test is then reported as skipped).
    pub fn start(tag: &str, conf: &str) -> Option<Supervisord> {
        let bin = super::python::venv_program("supervisord")?;
        let dir = TempDir::new(tag);
        let path = dir.path().join("supervisord.conf");
        std::fs::write(&path, conf).expect("write supervisord.conf");
        let child = Command::new(bin)
            .args(["-n", "-c"])
            .arg(&path)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn supervisord");
        let target = Target {
            conf: path,
            dir: dir.path().to_path_buf(),
        };
        let s = Supervisord { dir, target, child };
        s.settle();
        Some(s)
    }

    /// Waits until it answers and no program is STARTING (after a start
    /// or a reload).
    pub fn settle(&self) {
        let Some(real) = super::python::venv_program("supervisorctl") else {
            return;
        };
        let settled = wait_until(20, || {
            let r = run_ctl(&real, &self.target, &["status"], None);
            !r.stdout.is_empty()
                && !r.stdout.contains("STARTING")
                && !r.stdout.contains("refused")
                && !r.stdout.contains("no such file")
                && !r.stdout.contains("SHUTDOWN_STATE")
        });
        assert!(
            settled,
            "supervisord did not settle in {}",
            self.dir.path().display()
        );
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Rewrites the config file (for reread / update).
    pub fn rewrite(&self, conf: &str) {
        std::fs::write(&self.target.conf, conf).expect("rewrite supervisord.conf");
    }
}

impl Drop for Supervisord {
    /// SIGTERM (supervisord stops its programs and exits), SIGKILL after a
    /// deadline; then its children recorded before that and still there
    /// (orphaned by a supervisord stopped mid-restart) are killed.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let children = super::children(self.pid());
            kill(self.pid(), libc::SIGTERM);
            let gone = wait_until(10, || matches!(self.child.try_wait(), Ok(Some(_))));
            if !gone {
                kill(self.pid(), libc::SIGKILL);
                let _ = self.child.wait();
            }
            for pid in children.into_iter().filter(|&p| super::alive(p)) {
                kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Runs `prog -c CONF ARGS...` in the target's directory (without `-c`
/// when `conf` is empty: the client searches), stdin from `input` (or
/// /dev/null), with a deadline (killed by its recorded pid).
pub fn run_ctl(prog: &Path, t: &Target, args: &[&str], input: Option<&str>) -> Run {
    let mut cmd = Command::new(prog);
    if !t.conf.as_os_str().is_empty() {
        cmd.arg("-c").arg(&t.conf);
    }
    cmd.args(args).current_dir(&t.dir);
    run_with_input(cmd, input, 30).unwrap_or_else(|| panic!("{} {args:?} hung", prog.display()))
}

/// A command with `input` on its stdin and a deadline of `secs`.
pub fn run_with_input(mut cmd: Command, input: Option<&str>, secs: u64) -> Option<Run> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .env("PYTHONIOENCODING", "utf-8");
    let mut child = cmd.spawn().expect("spawn client");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
    }
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => {
            let out = out.expect("wait");
            use std::os::unix::process::ExitStatusExt;
            Some(Run {
                code: out
                    .status
                    .code()
                    .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
        Err(_) => {
            kill(pid, libc::SIGKILL);
            None
        }
    }
}

/// The two clients: the venv's supervisorctl and a `supervisorctl`
/// symlink to sv.
pub struct Judge {
    pub real: PathBuf,
    pub ours: PathBuf,
    _links: TempDir,
}

impl Judge {
    /// None when the venv is missing (reported as skipped).
    pub fn new() -> Option<Judge> {
        let real = super::python::venv_program("supervisorctl")?;
        let links = TempDir::new("ctl-link");
        let ours = applet_link(links.path(), "supervisorctl");
        Some(Judge {
            real,
            ours,
            _links: links,
        })
    }

    /// What a run prints, made comparable: the program's path as PROG, the
    /// target's directory as DIR, pids and uptimes as N, and the Python
    /// source position of an `error:` line cut off.
    pub fn normal(&self, r: &Run, prog: &Path, dir: &Path) -> (i32, String, String) {
        let clean = |s: &str| -> String {
            let s = s
                .replace(&prog.display().to_string(), "PROG")
                .replace(&dir.display().to_string(), "DIR");
            s.split_inclusive('\n')
                .map(|line| {
                    let line = match (line.find("error: <class"), line.rfind(": file: ")) {
                        (Some(e), Some(i)) if e < i => format!("{}\n", &line[..i]),
                        _ => line.to_string(),
                    };
                    numbers_out(&line)
                })
                .collect()
        };
        (r.code, clean(&r.stdout), clean(&r.stderr))
    }

    /// Runs `args` with both clients, the real one against `real` and sv's
    /// against `ours` (the same server, or twins in the same state), and
    /// asserts the same output and exit code. Returns sv's run.
    #[track_caller]
    pub fn same(&self, real: &Target, ours: &Target, args: &[&str], input: Option<&str>) -> Run {
        self.agree([(&self.real, real), (&self.ours, ours)], args, input)
    }

    /// The real supervisorctl against a real supervisord (left) and against
    /// sv's server (right): for judging the server rather than the client.
    #[track_caller]
    pub fn servers_agree(&self, supervisord: &Target, sv: &Target, args: &[&str]) -> Run {
        self.agree([(&self.real, supervisord), (&self.real, sv)], args, None)
    }

    /// Runs `args` with each (client, target) and asserts the same
    /// normalized output and exit code; returns the right one's run.
    #[track_caller]
    pub fn agree(&self, runs: [(&PathBuf, &Target); 2], args: &[&str], input: Option<&str>) -> Run {
        let [(pa, ta), (pb, tb)] = runs;
        let a = run_ctl(pa, ta, args, input);
        let b = run_ctl(pb, tb, args, input);
        assert_eq!(
            self.normal(&a, pa, &ta.dir),
            self.normal(&b, pb, &tb.dir),
            "supervisorctl {args:?} (input {input:?}): {} on {} (left) and {} on {} (right) differ",
            pa.display(),
            ta.conf.display(),
            pb.display(),
            tb.conf.display()
        );
        b
    }

    /// [`Judge::same`] with the lines of stdout sorted: for `stop all`,
    /// whose order a real supervisord does not keep from run to run.
    #[track_caller]
    pub fn same_sorted(&self, real: &Target, ours: &Target, args: &[&str]) {
        let a = run_ctl(&self.real, real, args, None);
        let b = run_ctl(&self.ours, ours, args, None);
        let sorted = |(code, out, err): (i32, String, String)| {
            let mut lines: Vec<&str> = out.lines().collect();
            lines.sort();
            (code, lines.join("\n"), err)
        };
        assert_eq!(
            sorted(self.normal(&a, &self.real, &real.dir)),
            sorted(self.normal(&b, &self.ours, &ours.dir)),
            "supervisorctl {args:?}: the real one (left) and sv's (right) differ"
        );
    }

    /// [`Judge::same`] against one server.
    #[track_caller]
    pub fn same_on(&self, t: &Target, args: &[&str]) -> Run {
        self.same(t, t, args, None)
    }
}

/// `pid 123` and `uptime 0:00:01` as N, and a line that is only a number
/// (the `pid` command) as N: the only things twins or two runs a second
/// apart may print differently.
pub fn numbers_out(line: &str) -> String {
    let mut out = line.to_string();
    for key in ["pid ", "uptime "] {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let start = from + i + key.len();
            let end = out[start..]
                .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                .map_or(out.len(), |e| start + e);
            if end > start {
                out.replace_range(start..end, "N");
            }
            from = start;
        }
    }
    let t = out.trim_end();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        return out.replace(t, "N");
    }
    // A stop time (`Dec 06 07:20 PM`): twins stopped a moment apart may
    // straddle a minute.
    if let Some(at) = t
        .len()
        .checked_sub(15)
        .filter(|&at| out.is_char_boundary(at))
    {
        let shape = t[at..]
            .bytes()
            .zip(b"Aaa 00 00:00 AM".iter())
            .all(|(c, k)| match k {
                b'A' => c.is_ascii_uppercase(),
                b'a' => c.is_ascii_lowercase(),
                b'0' => c.is_ascii_digit(),
                k => c == *k,
            });
        if shape && (t.ends_with("AM") || t.ends_with("PM")) {
            return format!("{}STOP-TIME{}", &t[..at], &out[t.len()..]);
        }
    }
    out
}
