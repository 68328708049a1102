//! SPEC §13 end to end, with the real client as the judge: sv started
//! through a `supervisord` symlink on a supervisord config, driven by the
//! real `supervisorctl` (PyPI) and by sv's own `supervisorctl` applet
//! (a symlink), which must print the same and exit the same for every
//! command; then `shutdown` ends the daemon and removes its pidfile and
//! socket.

mod common;

use common::python::venv_program;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A supervisord config with a unix server, a group, a program that logs,
/// and one that cannot start.
fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "[unix_http_server]
file={d}/sv.sock
chmod=0700

[supervisord]
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}
identifier=dropin

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{d}/sv.sock

[program:web]
command=/bin/sleep 1000
startsecs=0

[program:talker]
command=/bin/sh -c 'echo hello from talker; echo oops >&2; exec /bin/sleep 1000'
startsecs=0

[program:broken]
command={d}/no-such-program
autostart=false
startretries=1

[group:grp]
programs=a,b

[program:a]
command=/bin/sleep 1000
startsecs=0

[program:b]
command=/bin/sleep 1000
startsecs=0
"
    )
}

/// The daemon under test and the two clients.
struct Dropin {
    sv: Sv,
    conf: PathBuf,
    real: PathBuf,
    ours: PathBuf,
}

impl Dropin {
    fn start() -> Option<Dropin> {
        let real = venv_program("supervisorctl")?;
        let mut sv = Sv::new(0);
        let dir = sv.work.path().to_path_buf();
        let conf = dir.join("supervisord.conf");
        std::fs::write(&conf, config(&dir)).unwrap();
        for name in ["supervisord", "supervisorctl"] {
            std::os::unix::fs::symlink(sv_bin(), dir.join(name)).unwrap();
        }
        let err = std::fs::File::create(dir.join("daemon.err")).unwrap();
        let mut cmd = sv.sh(&format!(
            "exec '{}' -n -c '{}'",
            dir.join("supervisord").display(),
            conf.display()
        ));
        cmd.stdout(Stdio::null()).stderr(err);
        sv.launch(cmd);
        let sock = dir.join("sv.sock");
        assert!(
            wait_until(10, || sock.exists()),
            "no socket at {}",
            sock.display()
        );
        let d = Dropin {
            ours: dir.join("supervisorctl"),
            sv,
            conf,
            real,
        };
        for name in ["web", "talker", "a", "b"] {
            let state = if name.len() == 1 {
                format!("grp:{name}")
            } else {
                name.to_string()
            };
            d.sv.wait_state(&state, "RUNNING", 10);
        }
        Some(d)
    }

    /// `CLIENT -c CONF ARGS...`: (exit code, stdout + stderr).
    fn ctl(&self, client: &Path, args: &[&str]) -> (i32, String) {
        let mut c = self.sv.sh(&format!(
            "exec '{}' -c '{}' \"$@\"",
            client.display(),
            self.conf.display()
        ));
        // sh -c SCRIPT $0 ARGS...: "$@" is ARGS.
        c.args(args);
        let r = run_within(c, 30).expect("supervisorctl hung");
        (r.code, format!("{}{}", r.stdout, r.stderr))
    }

    /// Runs ARGS with the real client then with sv's (`between` runs
    /// between, to put the state back) and asserts both print the same
    /// (uptimes and pids blanked) and exit the same.
    #[track_caller]
    fn same(&self, args: &[&str], between: &[&str]) -> String {
        let (rc, real) = self.ctl(&self.real, args);
        if !between.is_empty() {
            self.ctl(&self.real, between);
        }
        let (oc, ours) = self.ctl(&self.ours, args);
        if !between.is_empty() {
            self.ctl(&self.real, between);
        }
        assert_eq!(
            (oc, blank(&ours)),
            (rc, blank(&real)),
            "sv's supervisorctl {args:?} differs from the real one"
        );
        real
    }
}

/// Output with what changes from one run to the next blanked: uptimes,
/// pids and clock times.
fn blank(s: &str) -> String {
    let mut out = String::new();
    for word in s.split_inclusive([' ', '\n', ',']) {
        let core = word.trim_end_matches([' ', '\n', ',']);
        let keep = &word[core.len()..];
        if !core.is_empty() && core.chars().all(|c| c.is_ascii_digit() || c == ':') {
            out.push('#');
        } else {
            out.push_str(core);
        }
        out.push_str(keep);
    }
    out
}

#[test]
fn supervisorctl_commands_match_the_real_client() {
    let Some(d) = Dropin::start() else { return };
    let status = d.same(&["status"], &[]);
    assert!(
        status.contains("web ") && status.contains("RUNNING"),
        "{status}"
    );
    assert!(status.contains("grp:a"), "{status}");
    assert!(
        status.contains("broken") && status.contains("STOPPED"),
        "{status}"
    );
    d.same(&["status", "web", "grp:*"], &[]);
    d.same(&["status", "nosuch"], &[]);
    d.same(&["pid", "web"], &[]);
    d.same(&["stop", "web"], &["start", "web"]);
    d.same(&["stop", "grp:*"], &["start", "grp:*"]);
    d.same(&["restart", "talker"], &[]);
    d.same(&["start", "web"], &[]);
    d.same(&["start", "nosuch"], &[]);
    d.same(&["start", "broken"], &[]);
    d.same(&["status"], &[]);
    d.same(&["signal", "CONT", "web"], &[]);
    d.same(&["signal", "BOGUS", "web"], &[]);
    d.same(&["avail"], &[]);
    d.same(&["reread"], &[]);
    d.same(&["version"], &[]);
    let tail = d.same(&["tail", "talker"], &[]);
    assert!(tail.contains("hello from talker"), "{tail}");
    let err = d.same(&["tail", "talker", "stderr"], &[]);
    assert!(err.contains("oops"), "{err}");
    d.same(&["clear", "talker"], &[]);
    d.same(&["help"], &[]);
}

#[test]
fn update_after_an_edit_keeps_unchanged_programs() {
    let Some(d) = Dropin::start() else { return };
    let web_pid = d.sv.pid("web").expect("web has a pid");
    let text = std::fs::read_to_string(&d.conf).unwrap();
    let text = text.replace(
        "[program:talker]\ncommand=/bin/sh -c 'echo hello from talker; echo oops >&2; exec /bin/sleep 1000'",
        "[program:talker]\ncommand=/bin/sh -c 'echo changed; exec /bin/sleep 1000'",
    ) + "\n[program:extra]\ncommand=/bin/sleep 1000\nstartsecs=0\n";
    std::fs::write(&d.conf, text).unwrap();
    let (rc, reread) = d.ctl(&d.ours, &["reread"]);
    assert_eq!(rc, 0, "{reread}");
    assert!(reread.contains("extra: available"), "{reread}");
    assert!(reread.contains("talker: changed"), "{reread}");
    let (rc, update) = d.ctl(&d.ours, &["update"]);
    assert_eq!(rc, 0, "{update}");
    d.sv.wait_state("extra", "RUNNING", 10);
    d.sv.wait_state("talker", "RUNNING", 10);
    assert_eq!(d.sv.pid("web"), Some(web_pid), "update restarted web");
}

#[test]
fn shutdown_ends_the_daemon_and_removes_its_files() {
    let Some(mut d) = Dropin::start() else { return };
    let dir = d.sv.work.path().to_path_buf();
    let pidfile = dir.join("supervisord.pid");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pidfile")
        .trim()
        .parse()
        .expect("a pid in the pidfile");
    let (rc, out) = d.ctl(&d.ours, &["shutdown"]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Shut down"), "{out}");
    let mut child = d.sv.child.take().expect("the daemon");
    let st = wait_exit(&mut child, 30);
    assert!(st.success(), "daemon {pid} exited {st:?}");
    assert!(!pidfile.exists(), "pidfile left behind");
    assert!(!dir.join("sv.sock").exists(), "socket left behind");
    d.sv.close();
}
