//! SPEC §13: supervisord's XML-RPC methods for the config and the logs,
//! judged by the real `supervisorctl` (reread, update, add, remove, avail,
//! tail, tail -f, clear, maintail) and by Python's xmlrpc.client (results
//! and faults), against an sv daemon and, where cheap, a real supervisord
//! on the same config.

mod common;

use common::python::venv_program;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The HTTP server and supervisorctl's URL, then the programs.
const HEAD: &str = "[unix_http_server]\nfile=%(here)s/http.sock\n\n\
    [supervisorctl]\nserverurl=unix://%(here)s/http.sock\n\n";

const PROGRAMS: &str = "[program:same]\n\
    command=/bin/sh -c \"echo same-out; echo same-err >&2; exec sleep 1000\"\n\
    startsecs=0\n\n\
    [program:edit]\ncommand=/bin/sleep 1001\nstartsecs=0\n\n\
    [program:gone]\ncommand=/bin/sleep 1002\nstartsecs=0\n\n\
    [program:a]\ncommand=/bin/sleep 1004\nstartsecs=0\n\n\
    [program:b]\ncommand=/bin/sleep 1005\nstartsecs=0\n\n\
    [group:g]\nprograms=a,b\n";

/// PROGRAMS edited: edit's command changed, gone removed, fresh added,
/// g untouched.
fn edited(programs: &str) -> String {
    programs.replace("sleep 1001", "sleep 2001").replace(
        "[program:gone]\ncommand=/bin/sleep 1002\n",
        "[program:fresh]\ncommand=/bin/sleep 1003\n",
    )
}

/// Starts an sv daemon serving XML-RPC on `work/http.sock`, with `--log
/// work/main.log` if `main_log`; None (skipped) without the venv.
fn served(programs: &str, main_log: bool) -> Option<(Sv, PathBuf)> {
    let ctl = venv_program("supervisorctl")?;
    let mut sv = Sv::new(0);
    let mut cmd = sv.config_daemon(&format!("{HEAD}{programs}"));
    if main_log {
        cmd.arg("--log").arg(sv.work.path().join("main.log"));
    }
    sv.launch(cmd);
    let sock = sv.work.path().join("http.sock");
    assert!(wait_until(10, || sock.exists()), "no http socket");
    Some((sv, ctl))
}

/// `supervisorctl -c work/sv.conf ARGS...`.
fn ctl(ctl: &Path, dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(ctl)
        .arg("-c")
        .arg(dir.join("sv.conf"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run supervisorctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Calls methods with Python's xmlrpc.client through supervisor's own
/// unix-socket transport: one line per call, `ok REPR` or `fault CODE
/// STRING`.
const CALLER: &str = r#"
import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
t = SupervisorTransport(None, None, 'unix://' + sys.argv[1])
s = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t)
for line in sys.argv[2:]:
    method, args = line.split(' ', 1) if ' ' in line else (line, '()')
    try:
        r = getattr(s.supervisor, method)(*(eval(args) if method != 'getAllConfigInfo' else ()))
        if method == 'getAllConfigInfo' and args == '("keys",)':
            r = [sorted(d) for d in r]
        elif method == 'getAllConfigInfo':
            r = [(d['name'], d['group'], d['inuse'], d['autostart'], d['group_prio'],
                  d['process_prio'], d['startsecs'], d['stopwaitsecs'], d['exitcodes'],
                  d['redirect_stderr'], d['stopsignal'], d['startretries'], d['uid'],
                  d['directory'], d['serverurl']) for d in r]
        print('ok', repr(r))
    except xmlrpc.client.Fault as f:
        print('fault', f.faultCode, f.faultString)
"#;

/// Runs CALLER against the socket `sock`: one answer line per call.
fn calls(sock: &Path, calls: &[&str]) -> Vec<String> {
    let python = venv_program("python").expect("the venv's python");
    let out = Command::new(python)
        .arg("-c")
        .arg(CALLER)
        .arg(sock)
        .args(calls)
        .stdin(Stdio::null())
        .output()
        .expect("run python");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().map(str::to_string).collect()
}

#[test]
fn reread_update_add_and_remove_with_supervisorctl() {
    let Some((sv, ctl_bin)) = served(PROGRAMS, false) else {
        return;
    };
    let dir = sv.work.path().to_path_buf();
    for name in ["same", "edit", "gone", "g:a", "g:b"] {
        sv.wait_state(name, "RUNNING", 10);
    }
    let r = ctl(&ctl_bin, &dir, &["reread"]);
    assert_eq!(r.stdout, "No config updates to processes\n", "{r:?}");
    let pids: Vec<_> = ["same", "edit", "g:a", "g:b"].map(|n| sv.pid(n)).into();

    sv.write_conf(&format!("{HEAD}{}", edited(PROGRAMS)));
    let r = ctl(&ctl_bin, &dir, &["reread"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "edit: changed\nfresh: available\ngone: disappeared\n"),
        "{r:?}"
    );
    // reread applies nothing.
    assert_eq!(sv.state("fresh"), None);
    sv.wait_state("gone", "RUNNING", 1);
    let r = ctl(&ctl_bin, &dir, &["avail"]);
    let avail: Vec<&str> = r.stdout.lines().collect();
    assert!(
        avail.contains(&"fresh                            avail     auto      999:999")
            && avail.contains(&"g:a                              in use    auto      999:999")
            && !r.stdout.contains("gone"),
        "{r:?}"
    );

    let r = ctl(&ctl_bin, &dir, &["update"]);
    assert_eq!(r.code, 0, "{r:?}");
    for line in [
        "gone: stopped",
        "gone: removed process group",
        "edit: stopped",
        "edit: updated process group",
        "fresh: added process group",
    ] {
        assert!(r.stdout.lines().any(|l| l == line), "{line} in {r:?}");
    }
    sv.wait_state("edit", "RUNNING", 10);
    sv.wait_state("fresh", "RUNNING", 10);
    assert_eq!(sv.state("gone"), None, "gone is gone");
    // Unchanged programs keep their processes; the changed one has a new one.
    assert_eq!(sv.pid("same"), pids[0]);
    assert_eq!(sv.pid("g:a"), pids[2]);
    assert_eq!(sv.pid("g:b"), pids[3]);
    assert_ne!(sv.pid("edit"), pids[1]);
    let r = ctl(&ctl_bin, &dir, &["reread"]);
    assert_eq!(r.stdout, "No config updates to processes\n", "{r:?}");

    // add and remove, one group at a time.
    let r = ctl(&ctl_bin, &dir, &["remove", "same"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (1, "ERROR: process/group still running: same\n")
    );
    let r = ctl(&ctl_bin, &dir, &["add", "same"]);
    assert_eq!(r.stdout, "ERROR: process group already active\n");
    let r = ctl(&ctl_bin, &dir, &["add", "nosuch"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (1, "ERROR: no such process/group: nosuch\n")
    );
    ctl(&ctl_bin, &dir, &["stop", "g:*"]);
    sv.wait_state("g:a", "STOPPED", 10);
    sv.wait_state("g:b", "STOPPED", 10);
    let r = ctl(&ctl_bin, &dir, &["remove", "g"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "g: removed process group\n")
    );
    assert_eq!(sv.state("g:a"), None);
    let r = ctl(&ctl_bin, &dir, &["avail"]);
    assert!(
        r.stdout.contains("g:a                              avail"),
        "{r:?}"
    );
    let r = ctl(&ctl_bin, &dir, &["add", "g"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "g: added process group\n"));
    sv.wait_state("g:a", "RUNNING", 10);
    sv.wait_state("g:b", "RUNNING", 10);
}

#[test]
fn tail_clear_and_maintail_with_supervisorctl() {
    let ticker = "[program:ticker]\n\
        command=/bin/sh -c 'i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.3; done'\n\
        startsecs=0\n";
    let Some((sv, ctl_bin)) = served(&format!("{PROGRAMS}{ticker}"), true) else {
        return;
    };
    let dir = sv.work.path().to_path_buf();
    sv.wait_state("same", "RUNNING", 10);
    let out_log = sv.runtime.path().join("0/logs/same-stdout.log");
    assert!(wait_until(10, || std::fs::read_to_string(&out_log)
        .is_ok_and(|t| t.contains("same-out"))));
    let r = ctl(&ctl_bin, &dir, &["tail", "same"]);
    // supervisorctl adds a line end to what it read.
    assert_eq!((r.code, r.stdout.as_str()), (0, "same-out\n\n"), "{r:?}");
    let r = ctl(&ctl_bin, &dir, &["tail", "-4", "same", "stderr"]);
    assert_eq!(r.stdout, "err\n\n", "the last 4 bytes: {r:?}");
    let r = ctl(&ctl_bin, &dir, &["tail", "nosuch"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (1, "nosuch: ERROR (no such process name)\n")
    );
    let r = ctl(&ctl_bin, &dir, &["maintail", "-100000"]);
    assert!(r.stdout.contains("same: spawned pid"), "{r:?}");

    // tail -f reads what comes after it began.
    let mut follow: Child = Command::new(&ctl_bin)
        .arg("-c")
        .arg(dir.join("sv.conf"))
        .args(["tail", "-f", "ticker"])
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisorctl tail -f");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Ticks numbered past any there when it began.
    let begun = std::fs::read_to_string(sv.runtime.path().join("0/logs/ticker-stdout.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = false;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Ok(line) = rx.recv_timeout(left) else {
            break;
        };
        let n: usize = line.trim_start_matches("tick ").parse().unwrap_or(0);
        if n > begun + 1 {
            seen = true;
            break;
        }
    }
    // Recorded pid: the supervisorctl this test started.
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(seen, "tail -f did not show new lines");

    let r = ctl(&ctl_bin, &dir, &["clear", "same"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "same: cleared\n"));
    assert_eq!(std::fs::metadata(&out_log).map(|m| m.len()).ok(), Some(0));
    let r = ctl(&ctl_bin, &dir, &["tail", "same"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "\n"), "{r:?}");
    let r = ctl(&ctl_bin, &dir, &["clear", "all"]);
    assert_eq!(r.code, 0, "{r:?}");
    for line in ["same: cleared", "edit: cleared", "g:a: cleared"] {
        assert!(r.stdout.lines().any(|l| l == line), "{line} in {r:?}");
    }
}

#[test]
fn results_and_faults_with_python() {
    let Some((sv, _)) = served(PROGRAMS, false) else {
        return;
    };
    let sock = sv.work.path().join("http.sock");
    sv.wait_state("same", "RUNNING", 10);
    let out_log = sv.runtime.path().join("0/logs/same-stdout.log");
    assert!(wait_until(10, || std::fs::read_to_string(&out_log)
        .is_ok_and(|t| t.contains("same-out"))));
    let got = calls(
        &sock,
        &[
            // No --log here: the daemon's stderr is its log.
            "readLog (0, 0)",
            "clearLog",
            "readProcessStdoutLog ('same', 0, 0)",
            "readProcessStdoutLog ('same', -4, 0)",
            "readProcessStdoutLog ('same', -4, 2)",
            "readProcessStdoutLog ('same', 0, -1)",
            "readProcessStderrLog ('nosuch', 0, 0)",
            "tailProcessStdoutLog ('same', 0, 3)",
            "tailProcessStdoutLog ('same', 9, 100)",
            "tailProcessStderrLog ('g:a', 0, 100)",
            "tailProcessStdoutLog ('g:*', 0, 100)",
            "removeProcessGroup ('same',)",
            "removeProcessGroup ('nosuch',)",
            "addProcessGroup ('same',)",
            "addProcessGroup ('nosuch',)",
            "clearProcessLogs ('nosuch',)",
            "readLog (0,)",
            "readLog ('abc', 0)",
            "tailProcessStdoutLog (5, 0, 1)",
        ],
    );
    let want = [
        "fault 20 NO_FILE: None",
        "fault 20 NO_FILE",
        "ok 'same-out\\n'",
        "ok 'out\\n'",
        "fault 3 BAD_ARGUMENTS",
        "fault 3 BAD_ARGUMENTS",
        "fault 10 BAD_NAME: nosuch",
        "ok ['ut\\n', 9, True]",
        "ok ['', 9, False]",
        "ok ['', 0, False]",
        "fault 10 BAD_NAME: g:*",
        "fault 91 STILL_RUNNING: same",
        "fault 10 BAD_NAME: nosuch",
        "fault 90 ALREADY_ADDED: same",
        "fault 10 BAD_NAME: nosuch",
        "fault 10 BAD_NAME: nosuch",
        "fault 2 INCORRECT_PARAMETERS",
        // supervisord answers these with a 500; rpc's methods with this.
        "fault 2 INCORRECT_PARAMETERS: parameter 1 must be an int",
        "fault 2 INCORRECT_PARAMETERS: parameter 1 must be a string",
    ];
    assert_eq!(got, want);

    // A broken config: CANT_REREAD with its file and line, nothing changed.
    sv.write_conf(&format!("{HEAD}{PROGRAMS}[program:bad]\nstartsecs=x\n"));
    let got = calls(&sock, &["reloadConfig", "clearAllProcessLogs"]);
    let conf = sv.work.path().join("sv.conf");
    assert!(
        got[0].starts_with(&format!("fault 92 CANT_REREAD: {}:", conf.display())),
        "{got:?}"
    );
    assert!(
        got[1].contains("{'name': 'a', 'group': 'g', 'status': 80, 'description': 'OK'}"),
        "{got:?}"
    );
}

#[test]
fn main_log_read_and_cleared() {
    let Some((sv, _)) = served(PROGRAMS, true) else {
        return;
    };
    let sock = sv.work.path().join("http.sock");
    let main = sv.work.path().join("main.log");
    let got = calls(&sock, &["readLog (-200, 0)", "clearLog", "readLog (0, 0)"]);
    assert!(got[0].starts_with("ok '") && got[0].len() > 100, "{got:?}");
    assert_eq!(got[1], "ok True");
    // Begun again: only what was logged since.
    assert!(!got[2].contains("spawned"), "{got:?}");
    assert!(std::fs::metadata(&main)
        .map(|m| m.len() < 2000)
        .unwrap_or(false));
}

/// A real supervisord on the same config and the same edit gives the same
/// `reread` and `avail`, the same config info keys, and the same faults.
#[test]
fn same_answers_as_supervisord() {
    let Some(supervisord) = venv_program("supervisord") else {
        return;
    };
    let own = "[supervisord]\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n\
        childlogdir=%(here)s\n\n[rpcinterface:supervisor]\n\
        supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n";
    let programs = format!("{own}{PROGRAMS}");
    let Some((sv, ctl_bin)) = served(&programs, false) else {
        return;
    };
    let real = TempDir::new("supervisord");
    std::fs::write(real.path().join("sv.conf"), format!("{HEAD}{programs}")).unwrap();
    let mut child = Command::new(&supervisord)
        .args(["-n", "-c"])
        .arg(real.path().join("sv.conf"))
        .current_dir(real.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisord");
    let up = wait_until(20, || {
        ctl(&ctl_bin, real.path(), &["status"])
            .stdout
            .contains("RUNNING")
    });
    let both = |args: &[&str]| {
        [
            ctl(&ctl_bin, sv.work.path(), args),
            ctl(&ctl_bin, real.path(), args),
        ]
    };
    let probes = [
        "readProcessStdoutLog ('nosuch', 0, 0)",
        "readProcessStdoutLog ('same', -4, 2)",
        "tailProcessStdoutLog ('nosuch', 0, 1)",
        "removeProcessGroup ('same',)",
        "removeProcessGroup ('nosuch',)",
        "addProcessGroup ('same',)",
        "addProcessGroup ('nosuch',)",
        "clearProcessLogs ('nosuch',)",
        "readLog (0,)",
        "getAllConfigInfo (\"keys\",)",
        "getAllConfigInfo",
    ];
    let result = std::panic::catch_unwind(|| {
        assert!(up, "supervisord did not start");
        let [a, b] = both(&["avail"]);
        assert_eq!(a.stdout, b.stdout);
        let ours = calls(&sv.work.path().join("http.sock"), &probes);
        let theirs = calls(&real.path().join("http.sock"), &probes);
        // Every fault, every key, and the values sv shares with supervisord.
        assert_eq!(ours, theirs);
        for dir in [sv.work.path(), real.path()] {
            std::fs::write(dir.join("sv.conf"), format!("{HEAD}{}", edited(&programs))).unwrap();
        }
        let [a, b] = both(&["reread"]);
        assert_eq!(a.stdout, b.stdout);
        assert_eq!(a.code, b.code);
        let [a, b] = both(&["avail"]);
        assert_eq!(a.stdout, b.stdout);
    });
    ctl(&ctl_bin, real.path(), &["shutdown"]);
    if !wait_until(20, || matches!(child.try_wait(), Ok(Some(_)))) {
        // Recorded pid: the supervisord this test started.
        let _ = child.kill();
    }
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// `text` without the config's warnings (`update` shows them as `reload`
/// does; which sections sv warns about is not this test's business).
fn unwarned(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("warning: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// sv's own `reread`, `avail` and `update [GROUP...]` over the control
/// socket: supervisorctl's output for the first two (the real one, when
/// there, prints the same), `reload`'s meaning for the last, one group at
/// a time or all.
#[test]
fn sv_reread_avail_and_update() {
    let mut sv = Sv::new(0);
    let cmd = sv.config_daemon(&format!("{HEAD}{PROGRAMS}"));
    sv.launch(cmd);
    for name in ["same", "edit", "gone", "g:a", "g:b"] {
        sv.wait_state(name, "RUNNING", 10);
    }
    let dir = sv.work.path().to_path_buf();
    let real = venv_program("supervisorctl");
    let same_as_supervisorctl = |args: &[&str], ours: &Run| {
        if let Some(ctl_bin) = &real {
            let theirs = ctl(ctl_bin, &dir, args);
            assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
        }
    };
    let r = sv.sv(&["reread"]);
    assert_eq!(r.ok(), "No config updates to processes\n");
    let r = sv.sv(&["avail"]);
    assert!(
        r.ok()
            .lines()
            .any(|l| l == "g:a                              in use    auto      999:999"),
        "{r:?}"
    );
    same_as_supervisorctl(&["avail"], &r);

    sv.write_conf(&format!("{HEAD}{}", edited(PROGRAMS)));
    let r = sv.sv(&["reread"]);
    assert_eq!(
        r.ok(),
        "edit: changed\nfresh: available\ngone: disappeared\n"
    );
    same_as_supervisorctl(&["reread"], &r);
    let r = sv.sv(&["avail"]);
    same_as_supervisorctl(&["avail"], &r);
    assert!(r
        .ok()
        .contains("fresh                            avail     auto"));

    // Usage and refusals change nothing.
    assert_eq!(sv.sv(&["reread", "edit"]).code, 2);
    let r = sv.sv(&["update", "nosuch"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no such group: nosuch"), "{r:?}");

    // One group: only it changes.
    let pids = ["same", "edit", "gone", "g:a"].map(|n| sv.pid(n));
    let r = sv.sv(&["update", "fresh"]);
    assert_eq!(unwarned(r.ok()), "fresh: added\n");
    sv.wait_state("fresh", "RUNNING", 10);
    assert_eq!(sv.pid("edit"), pids[1]);
    assert_eq!(sv.pid("gone"), pids[2]);
    // The rest: unchanged untouched, changed restarted, removed gone.
    let r = sv.sv(&["update"]);
    let out = r.ok();
    assert!(
        out.contains("edit: changed") && out.contains("gone: removed"),
        "{r:?}"
    );
    sv.wait_state("edit", "RUNNING", 10);
    assert_ne!(sv.pid("edit"), pids[1]);
    assert_eq!(sv.pid("same"), pids[0]);
    assert_eq!(sv.pid("g:a"), pids[3]);
    assert!(wait_until(10, || sv.state("gone").is_none()), "gone stays");
    let r = sv.sv(&["update", "all"]);
    assert_eq!(unwarned(r.ok()), "No config updates to processes\n");
}
