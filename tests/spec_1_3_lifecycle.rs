//! SPEC §1 (one binary, applets, exit codes), §2 (instances, runtime dir),
//! §3 (daemon lifecycle), §7 (the daemon's own log to syslog) and §10 (toys).
mod common;
use common::*;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `sv daemon N` ourselves (so we choose its environment and stderr),
/// records it in `sv.child` and waits until it answers.
fn start_daemon(sv: &mut Sv, mut cmd: Command, stderr: Stdio) {
    let child = cmd
        .args(["daemon", &sv.instance.to_string()])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn sv daemon");
    sv.child = Some(child);
    sv.wait_ready();
}

/// Whether nobody holds an exclusive flock on `path`.
fn lock_is_free(path: &Path) -> bool {
    let f = File::open(path).expect("open lock file");
    // SAFETY: flock on a descriptor we own; closing it drops our lock.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Closes another instance in the same runtime dir when dropped, so a
/// failing test leaves no detached daemon behind.
struct CloseOnDrop<'a>(&'a Sv, u8);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["close", "-i", &self.1.to_string()]);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

// ---------------------------------------------------------------- §1 CLI

#[test]
fn help_lists_every_command() {
    let sv = Sv::new(0);
    let r = sv.run(&["--help"]);
    let out = r.ok();
    for cmd in [
        "daemon",
        "init",
        "close",
        "list-supervisors",
        "create-service",
        "status",
        "start",
        "stop",
        "parrot_service",
        "test_restart",
    ] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(cmd)),
            "--help has no line for {cmd}:\n{out}"
        );
    }
}

#[test]
fn command_help_prints_usage() {
    let sv = Sv::new(0);
    for cmd in [
        "status",
        "close",
        "daemon",
        "init",
        "create-service",
        "stop",
    ] {
        let r = sv.run(&[cmd, "--help"]);
        assert!(
            r.ok().starts_with(&format!("usage: sv {cmd}")),
            "{cmd} --help: {r:?}"
        );
    }
}

#[test]
fn version_is_printed() {
    let sv = Sv::new(0);
    let r = sv.run(&["--version"]);
    assert_eq!(r.ok(), format!("sv {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_command_is_a_usage_error() {
    let sv = Sv::new(0);
    let r = sv.run(&["no-such-command"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "one clear line: {r:?}");
    assert!(r.stderr.contains("no-such-command"), "{r:?}");
}

#[test]
fn instance_out_of_range_is_a_usage_error() {
    let sv = Sv::new(0);
    for bad in ["100", "-1", "abc", "256"] {
        let r = sv.run(&["status", "-i", bad]);
        assert_eq!(r.code, 2, "-i {bad}: {r:?}");
        assert!(r.stderr.contains(bad), "-i {bad} names the value: {r:?}");
    }
    let r = sv.run(&["status", "--instance", "100"]);
    assert_eq!(r.code, 2, "{r:?}");
    // $SV_INSTANCE is checked too.
    let out = sv
        .command()
        .env("SV_INSTANCE", "100")
        .arg("status")
        .output()
        .expect("run sv");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn commands_on_a_stopped_instance_exit_3() {
    let sv = Sv::new(5);
    for args in [
        &["status"][..],
        &["close"],
        &["quit"],
        &["shutdown"],
        &["stop", "x"],
        &["start", "x"],
    ] {
        let r = sv.sv(args);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{args:?}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("supervisor 5 is not running"),
            "{args:?}: {r:?}"
        );
    }
    // The default instance comes from $SV_INSTANCE.
    let out = sv
        .command()
        .env("SV_INSTANCE", "6")
        .arg("status")
        .output()
        .expect("run sv");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("supervisor 6 "),
        "{out:?}"
    );
}

// ---------------------------------------------------------------- §3 daemon

#[test]
fn foreground_daemon_runs_a_service_and_logs_to_stderr() {
    let mut sv = Sv::new(4);
    let log = sv.work.path().join("daemon.err");
    let err = File::create(&log).expect("create log");
    let cmd = sv.command();
    start_daemon(&mut sv, cmd, err.into());

    let r = sv.run(&["create-service", "/bin/sleep", "60", "-r", "3", "-i", "4"]);
    assert!(r.ok().starts_with("sleep: started, pid "), "{r:?}");
    sv.wait_state("sleep", "RUNNING", 10);
    let pid = sv.pid("sleep").expect("pid");

    let r = sv.close();
    assert_eq!(r.ok(), "supervisor 4: stopped\n");
    assert!(
        wait_until(5, || !alive(pid)),
        "service {pid} outlived close"
    );

    let text = std::fs::read_to_string(&log).unwrap();
    for want in [
        "supervisor 4: request: create-service /bin/sleep 60",
        "supervisor 4: answer: sleep: started, pid",
        "supervisor 4: sleep: STOPPED -> STARTING",
        "supervisor 4: request: close",
    ] {
        assert!(text.contains(want), "daemon stderr lacks {want:?}:\n{text}");
    }
}

#[test]
fn second_daemon_for_the_same_instance_is_refused() {
    let sv = Sv::daemon(4);
    let first = sv.child.as_ref().unwrap().id();
    let out = sv
        .command()
        .args(["daemon", "4"])
        .stdout(Stdio::null())
        .output()
        .expect("run sv daemon");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("already running"), "{err}");
    assert!(err.contains(&first.to_string()), "names the holder: {err}");
    // The first one is untouched.
    assert_eq!(sv.sv(&["status"]).code, 0);
    assert!(alive(first as i32));
    // Another instance in the same runtime dir is fine.
    let _guard = CloseOnDrop(&sv, 9);
    let other = sv
        .command()
        .args(["init", "-i", "9"])
        .output()
        .expect("sv init");
    assert_eq!(other.status.code(), Some(0), "{other:?}");
    let r = sv.run(&["close", "-i", "9"]);
    assert_eq!(r.ok(), "supervisor 9: stopped\n");
}

#[test]
fn init_list_supervisors_close() {
    let sv = Sv::new(7);
    let r = sv.run(&["init", "-i", "7"]);
    let out = r.ok().to_string();
    let pid: i32 = out
        .strip_prefix("supervisor 7: started, pid ")
        .and_then(|s| s.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("bad init line: {out:?}"));
    assert!(out.ends_with('\n') && out.lines().count() == 1, "{out:?}");
    // init returns once the daemon accepts commands: no wait needed.
    assert_eq!(sv.sv(&["status"]).code, 0);
    assert!(alive(pid));
    let inst = sv.runtime.path().join("7");
    assert!(
        !lock_is_free(&inst.join("lock")),
        "daemon must hold the lock"
    );
    assert_eq!(
        std::fs::read_to_string(inst.join("lock")).unwrap().trim(),
        pid.to_string()
    );

    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    r.ok();
    let svc = sv.pid("sleep").expect("service pid");

    let r = sv.run(&["list-supervisors"]);
    let text = r.ok();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 1, "{text}");
    let words: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(words.len(), 9, "{text}");
    assert_eq!(words[0], "7");
    assert_eq!(&words[1..3], ["pid", &pid.to_string()]);
    assert_eq!(words[3], "uptime");
    let hms: Vec<&str> = words[4].split(':').collect();
    assert!(
        hms.len() == 3
            && hms.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
            && hms[1].len() == 2
            && hms[2].len() == 2,
        "uptime H:MM:SS: {text}"
    );
    assert_eq!(&words[5..7], ["services", "1"]);
    assert_eq!(&words[7..9], ["config", "-"]);

    let r = sv.run(&["list-supervisors", "--json"]);
    let json = r.ok().trim();
    assert!(json.starts_with('[') && json.ends_with(']'), "{json}");
    for want in [
        "\"instance\":7".to_string(),
        format!("\"pid\":{pid}"),
        "\"services\":1".to_string(),
        "\"uptime_secs\":".to_string(),
        "\"config\":".to_string(),
    ] {
        assert!(json.contains(&want), "{want} missing: {json}");
    }

    let r = sv.sv(&["close"]);
    assert_eq!(r.ok(), "supervisor 7: stopped\n");
    // close returns when the daemon is gone: socket removed, lock free.
    assert!(!inst.join("sock").exists(), "socket left behind");
    assert!(lock_is_free(&inst.join("lock")), "lock still held");
    assert!(wait_until(2, || !alive(pid)), "daemon {pid} still there");
    assert!(!alive(svc), "service {svc} outlived close");
    // And now the instance is not running.
    assert_eq!(sv.sv(&["status"]).code, 3);
    let r = sv.run(&["list-supervisors"]);
    assert_eq!(r.ok(), "");
    let r = sv.run(&["list-supervisors", "--json"]);
    assert_eq!(r.ok().trim(), "[]");
}

#[test]
fn list_supervisors_shows_every_instance() {
    let a = Sv::daemon(2);
    let _guard = CloseOnDrop(&a, 11);
    let r = a.run(&["init", "-i", "11"]);
    r.ok();
    let text = a.run(&["list-supervisors"]).ok().to_string();
    let firsts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(firsts, ["2", "11"], "{text}");
    assert!(text.contains(&format!("pid {}", a.child.as_ref().unwrap().id())));
    assert_eq!(
        a.run(&["close", "-i", "11"]).ok(),
        "supervisor 11: stopped\n"
    );
}

fn stop_by_signal(sig: i32) {
    let mut sv = Sv::daemon(4);
    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    r.ok();
    let svc = sv.pid("sleep").expect("service pid");
    let mut daemon = sv.child.take().expect("daemon child");
    kill(daemon.id() as i32, sig);
    let st = wait_exit(&mut daemon, 30);
    assert_eq!(st.code(), Some(0), "daemon exit after signal {sig}: {st:?}");
    assert!(!alive(svc), "service {svc} left running after signal {sig}");
    let inst = sv.runtime.path().join("4");
    assert!(!inst.join("sock").exists(), "socket left behind");
    assert!(lock_is_free(&inst.join("lock")));
    assert_eq!(sv.sv(&["status"]).code, 3);
}

#[test]
fn sigterm_stops_services_and_daemon_exits_0() {
    stop_by_signal(libc::SIGTERM);
}

#[test]
fn sigint_stops_services_and_daemon_exits_0() {
    stop_by_signal(libc::SIGINT);
}

// ---------------------------------------------------------------- §2 files

#[test]
fn runtime_dir_files_and_modes() {
    let sv = Sv::daemon(3);
    let rt = sv.runtime.path();
    let inst = rt.join("3");
    // An existing runtime dir is tightened to 0700.
    assert_eq!(mode(rt), 0o700, "runtime dir");
    assert_eq!(mode(&inst), 0o700, "instance dir");
    assert_eq!(mode(&inst.join("logs")), 0o700, "logs dir");
    assert!(inst.join("logs").is_dir());
    let sock = std::fs::metadata(inst.join("sock")).unwrap();
    assert!(sock.file_type().is_socket());
    assert_eq!(sock.permissions().mode() & 0o777, 0o600, "socket");
    assert!(inst.join("lock").is_file());
}

#[test]
fn runtime_dir_is_created_private() {
    let mut sv = Sv::new(8);
    let rt = sv.work.path().join("a").join("rt");
    let mut cmd = sv.command();
    cmd.env("SV_RUNTIME_DIR", &rt);
    let child = cmd
        .args(["daemon", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    sv.child = Some(child);
    let sock = rt.join("8").join("sock");
    // Ready means answering (the socket file appears a moment before its
    // chmod to 0600).
    let ready = wait_until(10, || {
        sv.command()
            .env("SV_RUNTIME_DIR", &rt)
            .args(["status", "-i", "8"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(ready, "daemon never answered at {sock:?}");
    for dir in [rt.clone(), rt.join("8"), rt.join("8").join("logs")] {
        assert_eq!(mode(&dir), 0o700, "{dir:?}");
    }
    assert_eq!(mode(&sock) & 0o777, 0o600);
    let r = sv
        .command()
        .env("SV_RUNTIME_DIR", &rt)
        .args(["close", "-i", "8"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{r:?}");
    let mut child = sv.child.take().unwrap();
    assert_eq!(wait_exit(&mut child, 10).code(), Some(0));
}

// ---------------------------------------------------------------- §7 syslog

/// Receives datagrams until one contains `want`; returns it.
fn recv_until(sock: &UnixDatagram, want: &str, secs: u64) -> Option<String> {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut buf = vec![0u8; 8192];
    loop {
        if let Ok(n) = sock.recv(&mut buf) {
            let line = String::from_utf8_lossy(&buf[..n]).into_owned();
            if line.contains(want) {
                return Some(line);
            }
        } else if Instant::now() >= deadline {
            return None;
        }
    }
}

#[test]
fn daemon_logs_requests_to_syslog_socket() {
    let mut sv = Sv::new(4);
    let path = sv.work.path().join("log.sock");
    let server = UnixDatagram::bind(&path).expect("bind syslog socket");
    let mut cmd = sv.command();
    cmd.env("SV_SYSLOG_SOCKET", &path);
    start_daemon(&mut sv, cmd, Stdio::null());
    let dpid = sv.child.as_ref().unwrap().id();

    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    r.ok();
    let line = recv_until(&server, "request: create-service /bin/sleep 60", 5)
        .expect("no syslog line for the request");
    let head = format!(" supervisor[{dpid}]: ");
    assert!(line.contains(&head), "{line}");
    assert!(line.starts_with('<'), "RFC 3164 priority: {line}");
    let pri: String = line[1..].chars().take_while(|c| *c != '>').collect();
    let pri: u32 = pri.parse().unwrap_or_else(|_| panic!("priority: {line}"));
    assert_eq!(pri / 8, 3, "facility LOG_DAEMON: {line}");
    // The answer and the state change are logged too.
    assert!(recv_until(&server, "answer: ok sleep: starting", 5).is_some());
    let r = sv.sv(&["stop", "sleep"]);
    r.ok();
    assert!(recv_until(&server, "sleep: STOPPING -> STOPPED", 5).is_some());
}

#[test]
fn daemon_goes_on_without_syslog() {
    let mut sv = Sv::new(4);
    let log = sv.work.path().join("daemon.err");
    let err = File::create(&log).unwrap();
    let mut cmd = sv.command();
    cmd.env("SV_SYSLOG_SOCKET", sv.work.path().join("nowhere/log.sock"));
    start_daemon(&mut sv, cmd, err.into());
    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep: starting"), "{r:?}");
    assert_eq!(sv.sv(&["stop", "sleep"]).ok(), "sleep: stopped\n");
    // stderr still gets every line.
    assert!(wait_until(5, || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("supervisor 4: answer: sleep: stopped")));
    assert_eq!(sv.close().ok(), "supervisor 4: stopped\n");
}

/// Starts a daemon logging to a datagram socket at `work/log.sock`.
fn daemon_with_syslog(sv: &mut Sv) -> (std::path::PathBuf, UnixDatagram) {
    let path = sv.work.path().join("log.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    let mut cmd = sv.command();
    cmd.env("SV_SYSLOG_SOCKET", &path);
    start_daemon(sv, cmd, Stdio::null());
    assert!(recv_until(&server, "request: status", 5).is_some());
    (path, server)
}

#[test]
fn daemon_reconnects_to_a_restarted_syslog() {
    let mut sv = Sv::new(4);
    let (path, server) = daemon_with_syslog(&mut sv);
    // The log daemon restarts: its socket is replaced.
    drop(server);
    std::fs::remove_file(&path).unwrap();
    let server = UnixDatagram::bind(&path).unwrap();
    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep: starting"), "{r:?}");
    // Lines arrive at the new socket. (One may still reach the old socket if
    // another thread of this test process forked while holding it; it dies
    // at that child's exec, hence the loop.)
    let ok = wait_until(5, || {
        let _ = sv.sv(&["status", "sleep"]);
        recv_until(&server, "request: status sleep", 0).is_some()
    });
    assert!(ok, "no line after the log socket was replaced");
}

#[test]
fn syslog_lines_resume_after_an_outage() {
    let mut sv = Sv::new(4);
    let (path, server) = daemon_with_syslog(&mut sv);
    drop(server);
    std::fs::remove_file(&path).unwrap();
    // Logged while there is no log daemon: dropped, and the daemon goes on.
    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep: starting"), "{r:?}");
    assert_eq!(sv.sv(&["status"]).code, 0);
    // The log daemon comes back at the same path.
    let server = UnixDatagram::bind(&path).unwrap();
    let mut seen = None;
    let ok = wait_until(3, || {
        let _ = sv.sv(&["status", "sleep"]);
        seen = recv_until(&server, "request: status sleep", 0);
        seen.is_some()
    });
    assert!(ok, "syslog never gets lines again after the outage");
}

// ---------------------------------------------------------------- §10 toys

/// Runs parrot through `cmd`, waits for lines with `msg` in `file`, then
/// SIGTERMs it and expects exit 0.
fn parrot_run(mut cmd: Command, file: &Path, msg: &str) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn parrot");
    let got = wait_until(10, || lines_of(file).len() >= 3);
    if !got {
        let _ = child.kill();
        let _ = child.wait();
        panic!("parrot wrote {:?}", lines_of(file));
    }
    kill(child.id() as i32, libc::SIGTERM);
    let st = wait_exit(&mut child, 5);
    assert_eq!(st.code(), Some(0), "parrot exit on SIGTERM: {st:?}");
    let lines = lines_of(file);
    for l in &lines {
        assert!(l.ends_with(msg), "line without the message: {l:?}");
        assert!(
            l.len() > msg.len() + 8 && l[..4].chars().all(|c| c.is_ascii_digit()),
            "line without a timestamp: {l:?}"
        );
    }
    // Nothing more is written once it has exited: the pause is the check,
    // not a wait for a condition.
    let n = lines.len();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(lines_of(file).len(), n);
}

#[test]
fn parrot_symlink_writes_lines_and_exits_0_on_sigterm() {
    let sv = Sv::new(0);
    let link = applet_link(sv.work.path(), "parrot_service");
    let file = sv.work.path().join("out.log");
    let mut cmd = Command::new(&link);
    cmd.current_dir(sv.work.path()).args([
        "--file",
        file.to_str().unwrap(),
        "--interval",
        "0.05",
        "--message",
        "polly wants a cracker",
    ]);
    parrot_run(cmd, &file, "polly wants a cracker");
}

#[test]
fn parrot_default_file_is_in_its_working_directory() {
    let sv = Sv::new(0);
    let link = applet_link(sv.work.path(), "parrot_service");
    let mut cmd = Command::new(&link);
    cmd.current_dir(sv.work.path())
        .args(["--interval", "0.05", "--message", "hi"]);
    parrot_run(cmd, &sv.work.path().join("parrot.log"), "hi");
}

#[test]
fn sv_parrot_service_is_the_same_as_the_symlink() {
    let sv = Sv::new(0);
    let file = sv.work.path().join("p.log");
    let mut cmd = sv.command();
    cmd.args([
        "parrot_service",
        "--file",
        file.to_str().unwrap(),
        "--interval",
        "0.05",
        "--message",
        "same bird",
    ]);
    parrot_run(cmd, &file, "same bird");
}

#[test]
fn test_restart_symlink_dies_by_sigsegv() {
    let sv = Sv::new(0);
    let link = applet_link(sv.work.path(), "test_restart");
    let t0 = Instant::now();
    let mut child = Command::new(&link)
        .arg("0.2")
        .current_dir(sv.work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let st = wait_exit(&mut child, 10);
    assert_eq!(st.signal(), Some(libc::SIGSEGV), "{st:?}");
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t0.elapsed()
    );
    // `sv test_restart` is the same applet.
    let mut child = sv
        .command()
        .args(["test_restart", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(wait_exit(&mut child, 10).signal(), Some(libc::SIGSEGV));
}

#[test]
fn toys_under_sv() {
    let sv = Sv::daemon(4);
    let link = applet_link(sv.work.path(), "parrot_service");
    let r = sv.run(&[
        "create-service",
        "--no-wait",
        link.to_str().unwrap(),
        "-i",
        "4",
        "--",
        "--interval",
        "0.05",
        "--message",
        "supervised",
    ]);
    assert!(r.ok().starts_with("parrot_service: starting"), "{r:?}");
    let file = sv.work.path().join("parrot.log");
    assert!(wait_until(10, || lines_of(&file).len() >= 2));
    assert_eq!(
        sv.sv(&["stop", "parrot_service"]).ok(),
        "parrot_service: stopped\n"
    );
    let (state, detail) = sv.state("parrot_service").unwrap();
    assert_eq!(state, "STOPPED", "{detail}");

    let crash = applet_link(sv.work.path(), "test_restart");
    let r = sv.sv(&["create-service", "--no-wait", crash.to_str().unwrap(), "0"]);
    r.ok();
    let detail = sv.wait_state("test_restart", "EXITED", 10);
    assert!(detail.contains("SIGSEGV"), "{detail}");
}
