//! SPEC §13, fixes from a review of the log methods and streams, the
//! config methods and the supervisord applet: a FIFO as a log never
//! blocks the daemon, a log not written yet reads as empty, the log
//! methods take supervisord's names only, a relative socket path is the
//! starting directory's, a group in BACKOFF is not removed, and a start
//! answers at the first failed attempt. Judged by
//! Python's xmlrpc.client, the real supervisorctl and, where cheap, the
//! real supervisord on the same config.

mod common;

use common::http::*;
use common::python::venv_program;
use common::*;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `code` in Python with `s`, a ServerProxy on the unix socket
/// `sock` through supervisor's own transport, and `Fault`; its output.
fn py(sock: &Path, code: &str) -> String {
    let python = venv_program("python").expect("the venv's python");
    let prelude = "import sys, time, xmlrpc.client\n\
        from xmlrpc.client import Fault\n\
        from supervisor.xmlrpc import SupervisorTransport\n\
        t = SupervisorTransport(None, None, 'unix://' + sys.argv[1])\n\
        s = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t)\n\
        def call(m, *a):\n    try:\n        print('ok', repr(getattr(s.supervisor, m)(*a)))\n\
        \x20   except Fault as f:\n        print('fault', f.faultCode, f.faultString)\n";
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(format!("{prelude}{code}")).arg(sock);
    // A daemon that never answers fails the test rather than hanging it.
    let out = run_within(cmd, 60).expect("python hung: the daemon did not answer");
    assert_eq!(out.code, 0, "python failed: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// `supervisorctl -c CONF ARGS...` in `dir`.
fn ctl(bin: &Path, dir: &Path, conf: &Path, args: &[&str]) -> Run {
    let out = Command::new(bin)
        .arg("-c")
        .arg(conf)
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

/// `GET PATH` on the unix server; the status line and headers, or what
/// went wrong (a read timeout: the daemon is stuck).
fn get_head(s: &Served, path: &str) -> Result<String, String> {
    let mut u = s.unix();
    u.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match u.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Ok(_) => break,
            Err(e) => return Err(format!("GET {path}: {e}")),
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[test]
fn a_fifo_as_a_log_never_blocks_the_daemon() {
    if venv_program("python").is_none() {
        return;
    }
    let prog = "[program:ff]\ncommand=/bin/sleep 1000\nautostart=false\n\
                stdout_logfile=%(here)s/ff\nstderr_logfile=%(here)s/ff.err\n";
    let mut s = serve("", "", prog, &[]);
    let fifo = s.sv.work.path().join("ff");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Refused at once with the reason, not waited on for a writer.
    let head = get_head(&s, "/logtail/ff").unwrap_or_else(|e| {
        // Stuck in open(2): a writer lets it go, so the test ends.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
        panic!("the daemon is stuck: {e}")
    });
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(s.sv.sv(&["status"]).code, 0, "the daemon still serves");
    let mut u = s.unix();
    u.write_all(b"GET /logtail/ff HTTP/1.0\r\n\r\n").unwrap();
    let (code, _, body) = read_answer(&mut u);
    assert_eq!(code, 404);
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("not a regular file"), "{body}");
    // The XML-RPC reads: a fault or nothing, never a hang.
    let out = py(
        &s.sock(),
        "call('readProcessStdoutLog', 'ff', 0, 100)\n\
         call('tailProcessStdoutLog', 'ff', 0, 100)\n\
         call('clearProcessLogs', 'ff')\n\
         call('getProcessInfo', 'ff')\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("fault 30 FAILED"), "{out}");
    assert!(lines[0].contains("not a regular file"), "{out}");
    assert_eq!(lines[1], "ok ['', 0, False]", "{out}");
    assert_eq!(lines[2], "ok True", "{out}");
    assert!(lines[3].starts_with("ok {"), "{out}");
    // Cleared, a FIFO is left as it is (a log file would be emptied).
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));
    s.sv.close();
}

/// A program of group `grp` that writes `late` once `go` exists, and a
/// plain program `solo`.
const QUIET: &str = "[program:a]\n\
    command=/bin/sh -c 'while [ ! -e go ]; do sleep 0.1; done; echo late; exec sleep 1000'\n\
    directory=%(here)s\nstartsecs=0\nstdout_logfile=%(here)s/a.log\n\
    stderr_logfile=%(here)s/a.err\n\n\
    [group:grp]\nprograms=a\n\n\
    [program:solo]\ncommand=/bin/sleep 1001\nstartsecs=0\n\
    stdout_logfile=%(here)s/solo.log\nstderr_logfile=%(here)s/solo.err\n";

/// What both servers answer alike about logs and names.
const LOG_CALLS: &str = "call('readProcessStdoutLog', 'grp:a', 0, 100)\n\
    call('readProcessStdoutLog', 'grp:a', -100, 0)\n\
    call('tailProcessStdoutLog', 'grp:a', 0, 100)\n\
    call('readProcessStdoutLog', 'a', 0, 100)\n\
    call('tailProcessStdoutLog', 'a', 0, 100)\n\
    call('clearProcessLogs', 'a')\n\
    call('readProcessStderrLog', 'grp:*', 0, 100)\n\
    pid = s.supervisor.getProcessInfo('solo')['pid']\n\
    for m in ['readProcessStdoutLog', 'tailProcessStdoutLog']:\n\
    \x20   try:\n        getattr(s.supervisor, m)(str(pid), 0, 100); print('ok')\n\
    \x20   except Fault as f:\n        print('fault', f.faultCode)\n\
    try:\n    s.supervisor.clearProcessLogs(str(pid)); print('ok')\n\
    except Fault as f:\n    print('fault', f.faultCode)\n";

#[test]
fn a_log_not_written_yet_is_empty_and_names_are_supervisords() {
    let Some(ctl_bin) = venv_program("supervisorctl") else {
        return;
    };
    let mut s = serve("", "", QUIET, &[]);
    let work = s.sv.work.path().to_path_buf();
    s.sv.wait_state("grp:a", "RUNNING", 10);
    s.sv.wait_state("solo", "RUNNING", 10);
    assert!(!work.join("a.log").exists(), "nothing written yet");
    let ours = py(&s.sock(), LOG_CALLS);
    let want = "ok ''\nok ''\nok ['', 0, False]\n\
        fault 10 BAD_NAME: a\nfault 10 BAD_NAME: a\nfault 10 BAD_NAME: a\n\
        fault 10 BAD_NAME: grp:*\nfault 10\nfault 10\nfault 10\n";
    assert_eq!(ours, want);
    // supervisorctl: nothing (its print's newline), rc 0.
    let conf = work.join("sv.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\n[supervisorctl]\nserverurl=unix://%(here)s/http.sock\n");
    std::fs::write(work.join("ctl.conf"), text).unwrap();
    let r = ctl(&ctl_bin, &work, &work.join("ctl.conf"), &["tail", "grp:a"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "\n"), "{r:?}");
    // /logtail: names as the methods take them; the empty log is
    // streamed and followed.
    for bad in [
        "/logtail/a".to_string(),
        format!("/logtail/{}", s.sv.pid("solo").unwrap()),
    ] {
        let head = get_head(&s, &bad).unwrap();
        assert!(head.starts_with("HTTP/1.1 404"), "{bad}: {head}");
    }
    assert!(get_head(&s, "/logtail/solo")
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    let mut u = s.unix();
    u.write_all(b"GET /logtail/grp:a HTTP/1.0\r\n\r\n").unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let n = u.read(&mut buf).unwrap();
    seen.extend_from_slice(&buf[..n]);
    std::fs::write(work.join("go"), "").unwrap();
    let ok = wait_until(10, || {
        let n = u.read(&mut buf).unwrap_or(0);
        seen.extend_from_slice(&buf[..n]);
        String::from_utf8_lossy(&seen).contains("late")
    });
    let seen = String::from_utf8_lossy(&seen);
    assert!(ok && seen.starts_with("HTTP/1.1 200"), "{seen}");
    s.sv.close();

    // The real supervisord answers the same.
    let Some(supervisord) = venv_program("supervisord") else {
        return;
    };
    let real = TempDir::new("supervisord");
    let dir = real.path();
    let own = "[supervisord]\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n\
        [unix_http_server]\nfile=%(here)s/http.sock\n\
        [rpcinterface:supervisor]\n\
        supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n";
    std::fs::write(dir.join("r.conf"), format!("{own}{QUIET}")).unwrap();
    let mut child = Command::new(&supervisord)
        .args(["-n", "-c"])
        .arg(dir.join("r.conf"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisord");
    let sock = dir.join("http.sock");
    let up = wait_until(20, || {
        sock.exists()
            && py(
                &sock,
                "call('getProcessInfo', 'grp:a')\ncall('getProcessInfo', 'solo')",
            )
            .matches("'statename': 'RUNNING'")
            .count()
                == 2
    });
    let theirs = up.then(|| py(&sock, LOG_CALLS));
    let _ = py(&sock, "call('shutdown')");
    let _ = wait_until(20, || matches!(child.try_wait(), Ok(Some(_))));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(theirs.as_deref(), Some(want), "supervisord did not start");
}

#[test]
fn a_group_in_backoff_is_not_removed() {
    if venv_program("python").is_none() {
        return;
    }
    let prog = "[program:flap]\ncommand=/bin/sh -c 'exit 1'\nstartsecs=5\nstartretries=1000\n";
    let mut s = serve("", "", prog, &[]);
    // In BACKOFF (between two tries): still running for supervisord.
    let out = py(
        &s.sock(),
        "end = time.time() + 10\n\
         while s.supervisor.getProcessInfo('flap')['statename'] != 'BACKOFF' and time.time() < end:\n\
         \x20   time.sleep(0.02)\n\
         print(time.time() < end)\n\
         call('removeProcessGroup', 'flap')\n",
    );
    assert_eq!(
        out, "True\nfault 91 STILL_RUNNING: flap\n",
        "BACKOFF seen, then"
    );
    // Stopped, it goes.
    let out = py(
        &s.sock(),
        "call('stopProcess', 'flap')\ncall('removeProcessGroup', 'flap')\n",
    );
    assert_eq!(out, "ok True\nok True\n");
    s.sv.close();
}

/// `supervisord ARGS` (the applet, through a symlink) in `cwd`, with the
/// test daemon's environment; detaches, so waited for.
fn supervisord(sv: &Sv, args: &[&str], cwd: &Path) -> Run {
    let bin = sv.work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = applet_link(&bin, "supervisord");
    let out = Command::new(link)
        .args(args)
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env("SV_INSTANCE", sv.instance.to_string())
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run supervisord");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_relative_socket_path_is_the_starting_directorys() {
    let mut sv = Sv::new(84);
    let work = sv.work.path().to_path_buf();
    let (d1, d2): (PathBuf, PathBuf) = (work.join("d1"), work.join("d2"));
    std::fs::create_dir_all(&d1).unwrap();
    std::fs::create_dir_all(&d2).unwrap();
    let conf = format!(
        "[supervisord]\nlogfile={w}/supervisord.log\npidfile={w}/supervisord.pid\n\
         directory={d2}\n\n\
         [unix_http_server]\nfile=rel.sock\n\n\
         [supervisorctl]\nserverurl=unix://rel.sock\n\n\
         [program:env]\ncommand=/bin/sh -c 'echo \"url=$SUPERVISOR_SERVER_URL\"; exec sleep 1000'\n\
         startsecs=0\nstdout_logfile={w}/env.log\n",
        w = work.display(),
        d2 = d2.display()
    );
    std::fs::write(d1.join("r.conf"), conf).unwrap();
    let r = supervisord(&sv, &["-c", "r.conf"], &d1);
    assert_eq!(r.code, 0, "{r:?}");
    sv.wait_state("env", "RUNNING", 10);
    let sock = d1.join("rel.sock");
    assert!(wait_until(10, || sock.exists()), "no socket in d1");
    assert!(!d2.join("rel.sock").exists(), "the socket is in directory=");
    let log = work.join("env.log");
    assert!(wait_until(10, || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .ends_with('\n')));
    let url = std::fs::read_to_string(&log).unwrap();
    let path = url.trim().strip_prefix("url=unix://").expect("a unix url");
    assert!(Path::new(path).is_absolute(), "{url}");
    assert_eq!(
        std::fs::canonicalize(path).unwrap(),
        std::fs::canonicalize(&sock).unwrap()
    );
    if let Some(ctl_bin) = venv_program("supervisorctl") {
        let r = ctl(&ctl_bin, &d1, &d1.join("r.conf"), &["status", "env"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("RUNNING"), "{r:?}");
    }
    assert_eq!(sv.close().code, 0);
}

/// startProcess (waiting) answers at the first failed attempt, as
/// supervisord's does; sv goes on retrying. With `startretries=0` (in sv:
/// retry for ever) it used to wait for ever, and `supervisorctl start`
/// with it, which hangs a deploy script.
#[test]
fn start_process_answers_at_the_first_failed_attempt() {
    let Some(ctl) = venv_program("supervisorctl") else {
        return;
    };
    let prog = "[program:flop]\ncommand=/bin/sh -c 'exit 1'\nautostart=false\n\
                startsecs=1\nstartretries=0\n";
    let mut s = serve("", "", prog, &[]);
    let out = py(&s.sock(), "call('startProcess', 'flop')\n");
    assert_eq!(out, "fault 40 ABNORMAL_TERMINATION: flop\n");
    // Retrying, it counts as started (supervisord's RUNNING_STATES): stop
    // it before starting it again.
    let out = py(&s.sock(), "call('stopProcess', 'flop')\n");
    assert_eq!(out, "ok True\n");
    let url = format!("unix://{}", s.sock().display());
    let mut c = Command::new(ctl);
    c.args(["-s", &url, "start", "flop"]).stdin(Stdio::null());
    let r = run_within(c, 60).expect("supervisorctl start hung");
    // The real supervisorctl's word and exit code for it.
    assert_eq!(r.stdout, "flop: ERROR (abnormal termination)\n", "{r:?}");
    assert_eq!(r.code, 7, "{r:?}");
    // The retries go on: not given up.
    let (state, _) = s.sv.state("flop").expect("flop is there");
    assert_ne!(state, "FATAL");
    s.sv.close();
}
