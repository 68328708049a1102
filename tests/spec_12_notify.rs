//! SPEC §12 `ready=notify`: the sd_notify protocol over `NOTIFY_SOCKET`.
//! A program that says `READY=1` after a delay is STARTING until then and
//! RUNNING after, whether the main process or another of its group sends
//! it; `STATUS=` shows in `status`; a program that never says it goes FATAL
//! after ready_timeout and startretries; with `watchdog_secs`, a program
//! whose pings stop is restarted; datagrams from outside any service are
//! dropped (and logged) while the daemon keeps answering.

mod common;

use common::{wait_until, Sv};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

const N: u8 = 13;

/// `notify.py MODE DELAY [ARG]`: waits DELAY s, then says what MODE says
/// (`ready`: a malformed datagram, then READY=1 and a status; `ping`: READY=1 then ARG pings 0.3 s
/// apart; `late`: READY=1 and then lives on for ARG s only, a child of the
/// group's leader), and sleeps.
const NOTIFY_PY: &str = r#"
import os, socket, sys, time
def send(msg):
    path = os.environ["NOTIFY_SOCKET"]
    assert os.path.isabs(path), path
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), path)
    s.close()
mode, delay = sys.argv[1], float(sys.argv[2])
time.sleep(delay)
if mode == "ready":
    send("garbage")
    send("READY=1\nSTATUS=serving\x1b on port 80")
elif mode == "ping":
    send("READY=1")
    for i in range(int(sys.argv[3])):
        time.sleep(0.3)
        send("WATCHDOG=1")
elif mode == "late":
    send("READY=1\nSTATUS=from the group")
    time.sleep(float(sys.argv[3]))
    sys.exit(0)
time.sleep(600)
"#;

fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    std::fs::write(sv.work.path().join("notify.py"), NOTIFY_PY).unwrap();
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

fn program(name: &str, command: &str, extra: &str) -> String {
    format!("[program:{name}]\ncommand={command}\nstartsecs=0\nready=notify\n{extra}\n")
}

fn daemon_log(sv: &Sv) -> String {
    std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap_or_default()
}

/// Asserts `name` stays STARTING, waiting for its notification, for `secs`.
#[track_caller]
fn stays_starting(sv: &Sv, name: &str, secs: f64) {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < until {
        let (state, detail) = sv.state(name).expect("listed");
        assert_eq!(state, "STARTING", "{name}: {detail}");
        assert!(
            detail.contains("waiting for ready: notify"),
            "{name}: {detail}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ready_1_from_the_program_makes_it_running_and_status_shows() {
    let conf = program("svc", "python3 notify.py ready 2", "");
    let mut sv = start(&conf);
    stays_starting(&sv, "svc", 1.0);
    let detail = sv.wait_state("svc", "RUNNING", 20);
    // Control characters are dropped.
    assert!(detail.contains("status: serving on port 80"), "{detail}");
    let json = sv.sv(&["status", "svc", "--json"]);
    assert!(json.stdout.contains("serving on port 80"), "{json:?}");
    let log = daemon_log(&sv);
    let pid = sv.pid("svc").unwrap();
    let want = format!("dropped a datagram from svc (pid {pid}): line 'garbage' is not KEY=VALUE");
    assert!(log.contains(&want), "{log}");
    sv.close();
}

#[test]
fn ready_1_from_another_process_of_the_group_counts() {
    // The leader does not notify; a child of its group does, then exits.
    let cmd = "/bin/sh -c 'python3 notify.py late 1 3 & exec sleep 600'";
    let mut sv = start(&program("grp", cmd, ""));
    stays_starting(&sv, "grp", 0.5);
    let detail = sv.wait_state("grp", "RUNNING", 20);
    assert!(detail.contains("status: from the group"), "{detail}");
    sv.close();
}

#[test]
fn systemd_notify_works_if_installed() {
    if !std::path::Path::new("/usr/bin/systemd-notify").exists() {
        eprintln!("systemd-notify is not installed: skipped");
        return;
    }
    // --pid=$$: the message names the shell, the service's own process.
    let cmd = "/bin/sh -c 'sleep 1; systemd-notify --pid=$$ --ready --status=via-systemd; exec sleep 600'";
    let mut sv = start(&program("sd", cmd, ""));
    stays_starting(&sv, "sd", 0.5);
    let detail = sv.wait_state("sd", "RUNNING", 20);
    assert!(detail.contains("status: via-systemd"), "{detail}");
    sv.close();
}

#[test]
fn never_notified_is_fatal_after_ready_timeout_and_startretries() {
    let conf = program("mute", "/bin/sleep 600", "ready_timeout=1\nstartretries=1");
    let mut sv = start(&conf);
    let detail = sv.wait_state("mute", "FATAL", 30);
    assert!(detail.contains("not ready within 1 s"), "{detail}");
    sv.close();
}

#[test]
fn a_watchdog_that_stops_pinging_restarts_the_program() {
    let conf = program(
        "dog",
        "python3 notify.py ping 0.2 5",
        "watchdog_secs=1\nautorestart=false",
    );
    let mut sv = start(&conf);
    sv.wait_state("dog", "RUNNING", 20);
    let first = sv.pid("dog").expect("a pid");
    // Pings every 0.3 s for 1.5 s, then none: restarted, though
    // autorestart=false, with a line that says why.
    assert!(
        wait_until(30, || sv.pid("dog").is_some_and(|p| p != first)),
        "never restarted: {:?}",
        sv.state("dog")
    );
    let log = daemon_log(&sv);
    assert!(
        log.contains(&format!(
            "dog: no WATCHDOG=1 within watchdog_secs=1 s; restarting pid {first}"
        )),
        "{log}"
    );
    sv.close();
}

#[test]
fn a_stranger_is_ignored_and_the_daemon_keeps_answering() {
    let mut sv = start(&program("svc", "/bin/sleep 600", ""));
    stays_starting(&sv, "svc", 0.3);
    let path = sv.runtime.path().join(N.to_string()).join("notify");
    let sock = UnixDatagram::unbound().unwrap();
    // This test process is in no service's group: READY=1 from it counts
    // for nothing, nor does a flood of it.
    for _ in 0..200 {
        let _ = sock.send_to(b"READY=1\n", &path);
    }
    let _ = sock.send_to(&[0xff; 5000], &path);
    stays_starting(&sv, "svc", 1.0);
    assert_eq!(sv.sv(&["status"]).code, 0);
    let log = daemon_log(&sv);
    assert!(
        log.contains("not a process of any program with ready=notify"),
        "{log}"
    );
    assert!(log.contains("longer than 4096 bytes"), "{log}");
    // Rate-limited: not one line per datagram.
    assert!(log.matches("not a process of any").count() < 10, "{log}");
    sv.close();
}

#[test]
fn a_daemon_started_after_a_crash_hears_a_taken_back_program() {
    let conf = program("svc", "python3 notify.py ready 3", "");
    let mut sv = start(&conf);
    stays_starting(&sv, "svc", 0.2);
    let pid = sv.pid("svc").expect("a pid");
    // SIGKILL the daemon (our own child, by its recorded pid): the program
    // lives on and notifies the next daemon, which binds the socket again
    // though it spawns nothing.
    let mut daemon = sv.child.take().expect("foreground daemon");
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let detail = sv.wait_state("svc", "RUNNING", 20);
    assert!(detail.contains(&format!("pid {pid}")), "{detail}");
    assert!(detail.contains("status: serving on port 80"), "{detail}");
    sv.close();
}

/// How many times the daemon went to sleep and woke (voluntary switches).
fn wakeups(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
fn once_ready_without_a_watchdog_the_daemon_does_not_wake() {
    let mut sv = start(&program("svc", "python3 notify.py ready 0.5", ""));
    sv.wait_state("svc", "RUNNING", 20);
    let pid = sv.child.as_ref().expect("foreground daemon").id() as i32;
    // The socket is polled, but nothing is due: no timer, no wake-up.
    assert!(wait_until(10, || {
        let before = wakeups(pid);
        std::thread::sleep(Duration::from_millis(1500));
        wakeups(pid) == before
    }));
    sv.close();
}

#[test]
fn fd_n_a_newline_on_the_descriptor_makes_it_running() {
    // s6's notification-fd: the program writes a newline to descriptor 5
    // (another descriptor than the first free one) after a second.
    let cmd = "/bin/sh -c 'sleep 1; echo >&5; exec sleep 600'";
    let conf = format!("[program:s6]\ncommand={cmd}\nstartsecs=0\nready=fd:5\n");
    let mut sv = start(&conf);
    let until = Instant::now() + Duration::from_millis(700);
    while Instant::now() < until {
        let (state, detail) = sv.state("s6").expect("listed");
        assert_eq!(state, "STARTING", "{detail}");
        assert!(detail.contains("waiting for ready: fd:5"), "{detail}");
        std::thread::sleep(Duration::from_millis(100));
    }
    sv.wait_state("s6", "RUNNING", 20);
    sv.close();
}

#[test]
fn fd_n_closed_without_a_newline_is_not_ready() {
    // Descriptor 3 is closed unsaid: never ready, FATAL after the timeout.
    let cmd = "/bin/sh -c 'exec 3>&-; exec sleep 600'";
    let conf = format!(
        "[program:mute]\ncommand={cmd}\nstartsecs=0\nready=fd:3\nready_timeout=1\nstartretries=1\n"
    );
    let mut sv = start(&conf);
    let detail = sv.wait_state("mute", "FATAL", 30);
    assert!(detail.contains("not ready within 1 s"), "{detail}");
    assert_eq!(sv.sv(&["status"]).code, 0);
    sv.close();
}

#[test]
fn ad_hoc_services_take_ready_notify() {
    let mut sv = start("");
    let script = sv.work.path().join("notify.py");
    let script = script.to_str().unwrap();
    let create = sv.spawn_sv(&[
        "create-service",
        "--set",
        "ready=notify",
        "--name",
        "adhoc",
        "python3",
        script,
        "ready",
        "1",
    ]);
    assert!(wait_until(10, || sv.state("adhoc").is_some()));
    stays_starting(&sv, "adhoc", 0.3);
    let out = create.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {:?}", out.stderr);
    assert!(text.contains("adhoc: started"), "{text}");
    let (state, detail) = sv.state("adhoc").unwrap();
    assert_eq!(state, "RUNNING", "{detail}");
    assert!(detail.contains("status: serving on port 80"), "{detail}");
    sv.close();
}

#[test]
fn fd_n_works_for_a_program_run_as_another_user() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot run a program as another user (user=): skipped");
        return;
    }
    // The notify socket is out of nobody's reach (0700 directory); the
    // pipe is inherited.
    let cmd = "/bin/sh -c 'sleep 1; echo >&3; exec sleep 600'";
    let conf = format!(
        "[program:nob]\ncommand={cmd}\nuser=nobody\ndirectory=/\nstartsecs=0\nready=fd:3\n"
    );
    let mut sv = start(&conf);
    let (state, detail) = sv.state("nob").expect("listed");
    assert_eq!(state, "STARTING", "{detail}");
    assert!(detail.contains("waiting for ready: fd:3"), "{detail}");
    sv.wait_state("nob", "RUNNING", 20);
    sv.close();
}
