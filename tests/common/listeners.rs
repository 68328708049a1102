//! SPEC §14 end to end: one supervisord config run by the real
//! supervisord (from the venv) and by sv started through a `supervisord`
//! symlink, with the same real listeners (superlance, supervisor's
//! childutils, the shell scripts of testdata/listeners) and the same
//! checks on both. The real supervisord runs first: it proves each check
//! can see what it looks for.
//!
//! Both are driven by the real `supervisorctl` over the config's unix
//! server. Each daemon is closed when dropped: sv through its socket,
//! supervisord by `supervisorctl shutdown`, then by its recorded pid.

use super::python::{venv_dir, venv_program};
use super::{alive, applet_link, kill, run_within, wait_until, Sv, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// Which daemon runs the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Supervisord,
    Sv,
}

/// One daemon on one config, in a directory of its own.
pub struct Daemon {
    pub kind: Kind,
    /// Where the config, the sockets, the pidfile and the logs are.
    pub dir: PathBuf,
    pub conf: PathBuf,
    ctl: PathBuf,
    child: Option<Child>,
    /// sv's runtime dir and its guard (closes the daemon when dropped).
    sv: Option<Sv>,
    /// supervisord's directory.
    _tmp: Option<TempDir>,
}

/// The directory of the listener scripts.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/listeners")
}

/// The config's common part; `body` is appended after `{d}` (the
/// daemon's directory), `{t}` (testdata/listeners) and `{venv}` (the venv's
/// bin directory) are replaced in it.
fn config(dir: &Path, body: &str) -> String {
    let d = dir.display().to_string();
    let body = body
        .replace("{d}", &d)
        .replace("{t}", &testdata().display().to_string())
        .replace("{venv}", &venv_dir().join("bin").display().to_string());
    format!(
        "[unix_http_server]\nfile={d}/http.sock\n\n\
         [supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
         childlogdir={d}\nidentifier=evtest\nloglevel=info\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{d}/http.sock\n\n{body}"
    )
}

impl Daemon {
    /// Starts `kind` on the config with `body` and waits until its unix
    /// server answers; None when the venv is missing (reported skipped).
    pub fn start(kind: Kind, body: &str) -> Option<Daemon> {
        let ctl = venv_program("supervisorctl")?;
        let real = venv_program("supervisord")?;
        let mut d = match kind {
            Kind::Supervisord => {
                let tmp = TempDir::new("ev-supervisord");
                let dir = tmp.path().to_path_buf();
                let conf = dir.join("supervisord.conf");
                std::fs::write(&conf, config(&dir, body)).unwrap();
                let err = std::fs::File::create(dir.join("daemon.err")).unwrap();
                let child = Command::new(real)
                    .args(["-n", "-c"])
                    .arg(&conf)
                    .current_dir(&dir)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(err)
                    .spawn()
                    .expect("spawn supervisord");
                Daemon {
                    kind,
                    dir,
                    conf,
                    ctl,
                    child: Some(child),
                    sv: None,
                    _tmp: Some(tmp),
                }
            }
            Kind::Sv => {
                let mut sv = Sv::new(0);
                let dir = sv.work.path().to_path_buf();
                let conf = dir.join("supervisord.conf");
                std::fs::write(&conf, config(&dir, body)).unwrap();
                let link = applet_link(&dir, "supervisord");
                let err = std::fs::File::create(dir.join("daemon.err")).unwrap();
                let mut cmd = sv.sh(&format!(
                    "exec '{}' -n -c '{}'",
                    link.display(),
                    conf.display()
                ));
                cmd.stdout(Stdio::null()).stderr(err);
                sv.launch(cmd);
                let child = sv.child.take();
                Daemon {
                    kind,
                    dir,
                    conf,
                    ctl,
                    child,
                    sv: Some(sv),
                    _tmp: None,
                }
            }
        };
        let sock = d.dir.join("http.sock");
        let up = wait_until(20, || {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
                || d.child
                    .as_mut()
                    .is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
        });
        assert!(
            up && d.running(),
            "{kind:?} did not serve {}: {}",
            sock.display(),
            d.log()
        );
        Some(d)
    }

    /// The daemon's pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Whether the daemon is still running (not exited, not reaped).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits up to `secs` for the daemon to exit; its status.
    pub fn wait_exit(&mut self, secs: u64) -> Option<ExitStatus> {
        let mut status = None;
        let child = self.child.as_mut()?;
        wait_until(secs, || {
            status = child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }

    /// `supervisorctl -c CONF ARGS...`: (exit code, stdout + stderr).
    pub fn ctl(&self, args: &[&str]) -> (i32, String) {
        let mut c = Command::new(&self.ctl);
        c.arg("-c")
            .arg(&self.conf)
            .args(args)
            .current_dir(&self.dir);
        let r = run_within(c, 30)
            .unwrap_or_else(|| panic!("{:?}: supervisorctl {args:?} hung", self.kind));
        (r.code, format!("{}{}", r.stdout, r.stderr))
    }

    /// The state `supervisorctl status NAME` shows, if any.
    pub fn state(&self, name: &str) -> Option<String> {
        let (_, out) = self.ctl(&["status", name]);
        let mut words = out.lines().next()?.split_whitespace();
        (words.next()? == name).then(|| words.next().map(str::to_string))?
    }

    /// Waits until NAME is in `state`; panics with what was last seen.
    #[track_caller]
    pub fn wait_state(&self, name: &str, state: &str, secs: u64) {
        let mut last = None;
        let ok = wait_until(secs, || {
            last = self.state(name);
            last.as_deref() == Some(state)
        });
        assert!(
            ok,
            "{:?}: {name} never {state}; last {last:?}\n{}",
            self.kind,
            self.log()
        );
    }

    /// The pid `supervisorctl pid NAME` prints, when it is one (not 0).
    pub fn pid_of(&self, name: &str) -> Option<i32> {
        let (_, out) = self.ctl(&["pid", name]);
        out.trim().parse().ok().filter(|p| *p > 0)
    }

    /// A file in the daemon's directory, empty if it is not there.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The daemon's log and stderr, for failure messages.
    pub fn log(&self) -> String {
        format!(
            "--- {:?} log:\n{}\n--- stderr:\n{}",
            self.kind,
            tail(&self.read("supervisord.log")),
            tail(&self.read("daemon.err"))
        )
    }
}

/// The last lines of a long text.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.running() {
            if let Some(sv) = self.sv.as_mut() {
                // Already gone: nothing to close.
                sv.child = None;
            }
            return;
        }
        let children = super::children(self.pid());
        match self.sv.as_mut() {
            Some(sv) => {
                // Through its socket; `close` waits for the recorded child.
                sv.child = self.child.take();
                sv.close();
            }
            None => {
                let _ = self.ctl(&["shutdown"]);
                if self.wait_exit(30).is_none() {
                    kill(self.pid(), libc::SIGKILL);
                }
                if let Some(c) = self.child.as_mut() {
                    let _ = c.wait();
                }
            }
        }
        for pid in children.into_iter().filter(|&p| alive(p)) {
            kill(pid, libc::SIGKILL);
        }
    }
}

/// Runs `check` on the real supervisord, then on sv, each on its own
/// daemon made from `body`; the two outcomes must be equal. Nothing is
/// run when the venv is missing (the test is reported skipped).
pub fn both<T>(body: &str, check: impl Fn(&mut Daemon) -> T)
where
    T: PartialEq + std::fmt::Debug,
{
    let Some(mut real) = Daemon::start(Kind::Supervisord, body) else {
        return;
    };
    let theirs = check(&mut real);
    drop(real);
    eprintln!("supervisord's outcome: {theirs:#?}");
    let mut sv = Daemon::start(Kind::Sv, body).expect("sv");
    let ours = check(&mut sv);
    assert_eq!(ours, theirs, "sv and supervisord differ\n{}", sv.log());
}
