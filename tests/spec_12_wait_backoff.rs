//! SPEC §12: `sv wait TARGET... [--for running|stopped|completed]
//! [--timeout SECS]`, and the `backoff` / `backoff_max` restart policy.
//! Each test runs its own daemon on a config of its own.

mod common;
use common::*;
use std::time::{Duration, Instant};

const N: u8 = 12;

/// A daemon of its own on `conf`, its stderr (the daemon's log) in
/// `work/daemon.err`.
fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

/// `[program:NAME]` running `cmd` with `extra` keys.
fn program(name: &str, cmd: &str, extra: &str) -> String {
    format!("[program:{name}]\ncommand={cmd}\n{extra}\n")
}

/// Waits for a background `sv` to end; its exit code and stderr.
#[track_caller]
fn finish(child: &mut std::process::Child, secs: u64) -> (i32, String) {
    use std::io::Read;
    let ended = wait_until(secs, || matches!(child.try_wait(), Ok(Some(_))));
    if !ended {
        // The pid this test spawned itself.
        let _ = child.kill();
        let _ = child.wait();
        panic!("sv wait did not end within {secs} s");
    }
    let code = child.wait().expect("wait").code().unwrap_or(-1);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (code, err)
}

#[test]
fn wait_returns_once_running() {
    let sv = start(&program("slow", "/bin/sleep 60", "startsecs=1"));
    let r = sv.sv(&["wait", "slow", "--timeout", "20"]);
    assert_eq!(r.code, 0, "{r:?}");
    // It answered because slow is RUNNING (past startsecs), not before.
    let (state, _) = sv.state("slow").expect("slow listed");
    assert_eq!(state, "RUNNING");
    // Already running: at once, and `all` works too.
    assert_eq!(sv.sv(&["wait", "all"]).code, 0);
}

#[test]
fn wait_fails_naming_the_one_that_went_fatal() {
    let conf = program("good", "/bin/sleep 60", "startsecs=0")
        + &program("crash", "/bin/false", "startsecs=1\nstartretries=1");
    let sv = start(&conf);
    let r = sv.sv(&["wait", "good", "crash", "--timeout", "20"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .starts_with("sv wait: crash is FATAL (Exited too quickly"),
        "{r:?}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
}

#[test]
fn wait_times_out_naming_what_it_waited_for() {
    let sv = start(&program("web", "/bin/sleep 60", "startsecs=30"));
    sv.wait_state("web", "STARTING", 10);
    let began = Instant::now();
    let r = sv.sv(&["wait", "web", "--timeout", "1"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr.trim(),
        "sv wait: timed out after 1 s waiting for web (STARTING)"
    );
    assert!(began.elapsed() >= Duration::from_secs(1), "{r:?}");
    // The daemon forgot the abandoned wait and still answers.
    assert_eq!(sv.sv(&["status", "web"]).code, 0);
}

#[test]
fn wait_for_stopped() {
    let sv = start(&program("web", "/bin/sleep 60", "startsecs=0"));
    sv.wait_state("web", "RUNNING", 10);
    // Still running: it does not return before the timeout.
    let r = sv.sv(&["wait", "web", "--for", "stopped", "--timeout", "0.3"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("waiting for web (RUNNING)"), "{r:?}");
    let mut waiting = sv.spawn_sv(&["wait", "web", "--for", "stopped", "--timeout", "30"]);
    assert_eq!(sv.sv(&["stop", "web"]).code, 0);
    let (code, err) = finish(&mut waiting, 30);
    assert_eq!(code, 0, "{err}");
    // Stopped already: at once.
    assert_eq!(sv.sv(&["wait", "web", "--for", "stopped"]).code, 0);
}

#[test]
fn wait_for_completed_one_shots() {
    let conf = program("ok", "/bin/true", "startsecs=0\nautorestart=false")
        + &program("bad", "/bin/false", "startsecs=0\nautorestart=false");
    let sv = start(&conf);
    let r = sv.sv(&["wait", "ok", "--for", "completed", "--timeout", "20"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = sv.sv(&["wait", "bad", "--for", "completed", "--timeout", "20"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr.trim(),
        "sv wait: bad is EXITED (exit 1, not an expected exit)"
    );
    // Running was awaited of a one-shot that has exited: it cannot be.
    let r = sv.sv(&["wait", "ok", "--timeout", "20"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr.trim(), "sv wait: ok is EXITED (exit 0)");
}

#[test]
fn wait_refuses_unknown_targets_and_bad_usage() {
    let sv = start(&program("web", "/bin/sleep 60", "startsecs=0"));
    let r = sv.sv(&["wait", "nope", "--timeout", "5"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no such service: nope"), "{r:?}");
    let r = sv.sv(&["wait", "web", "--for", "ready"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--for 'ready'"), "{r:?}");
    assert_eq!(sv.sv(&["wait"]).code, 2);
    assert_eq!(sv.sv(&["wait", "web", "--timeout", "soon"]).code, 2);
}

#[test]
fn wait_without_a_daemon_exits_3() {
    let sv = Sv::new(N);
    let r = sv.sv(&["wait", "web", "--timeout", "5"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("is not running"), "{r:?}");
}

/// The delays of the daemon's BACKOFF lines for `name` so far.
fn retry_delays(sv: &Sv, name: &str) -> Vec<u64> {
    lines_of(&daemon_err(sv))
        .iter()
        .filter(|l| l.contains(&format!("{name}: STARTING -> BACKOFF")))
        .filter_map(|l| {
            let at = l.find("retry in ")? + 9;
            l[at..].split_whitespace().next()?.parse().ok()
        })
        .collect()
}

#[test]
fn exponential_backoff_forever_is_capped() {
    let conf = program(
        "flop",
        "/bin/false",
        "startsecs=1\nstartretries=0\nbackoff=exponential\nbackoff_max=2",
    );
    let sv = start(&conf);
    let mut delays = Vec::new();
    let got = wait_until(30, || {
        delays = retry_delays(&sv, "flop");
        delays.len() >= 4
    });
    assert!(got, "four retries expected, saw {delays:?}");
    assert_eq!(delays[..4], [1, 2, 2, 2]);
    // Never given up.
    let (state, _) = sv.state("flop").expect("flop listed");
    assert_ne!(state, "FATAL");
    assert!(!lines_of(&daemon_err(&sv))
        .iter()
        .any(|l| l.contains("unknown key")));
}

#[test]
fn backoff_keys_for_ad_hoc_services() {
    let sv = start("");
    let r = sv.sv(&[
        "create-service",
        "/bin/false",
        "--no-wait",
        "--set",
        "startretries=0",
        "--set",
        "backoff=exponential",
        "--set",
        "backoff_max=2",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut delays = Vec::new();
    let got = wait_until(30, || {
        delays = retry_delays(&sv, "false");
        delays.len() >= 3
    });
    assert!(got, "three retries expected, saw {delays:?}");
    assert_eq!(delays[..3], [1, 2, 2]);
    let r = sv.sv(&["create-service", "/bin/true", "--set", "backoff=fibonacci"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("linear or exponential"), "{r:?}");
    let r = sv.sv(&["create-service", "/bin/true", "--set", "backoff_max=0"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("at least 1"), "{r:?}");
}

#[test]
fn the_shell_takes_wait() {
    let sv = start(&program("web", "/bin/sleep 60", "startsecs=0"));
    let (code, _, err) = sv_with_input(
        &sv,
        &["shell", "-i", "12"],
        b"wait web --timeout 20\nwait nope --timeout 1\n",
    );
    // The first line succeeds quietly, the second names what is wrong.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no such service: nope"), "{err}");
    assert_eq!(code, 1, "{err}");
}

#[test]
fn wait_for_running_rides_through_a_restart() {
    // slow ignores SIGTERM: its STOPPING lasts stopwaitsecs, and web,
    // stopped at once, stays STOPPED until both start again together.
    let conf = program(
        "slow",
        "/bin/sh -c 'trap \"\" TERM; exec /bin/sleep 60'",
        "startsecs=0\nstopwaitsecs=3",
    ) + &program("web", "/bin/sleep 60", "startsecs=1");
    let sv = start(&conf);
    sv.wait_state("web", "RUNNING", 10);
    sv.wait_state("slow", "RUNNING", 10);
    let mut restart = sv.spawn_sv(&["restart", "slow", "web"]);
    sv.wait_state("web", "STOPPED", 10);
    assert_eq!(sv.state("slow").map(|s| s.0).as_deref(), Some("STOPPING"));
    // STOPPED on the way is not the end: the restart starts it again.
    let r = sv.sv(&["wait", "web", "--timeout", "30"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(sv.state("web").map(|s| s.0).as_deref(), Some("RUNNING"));
    let (code, err) = finish(&mut restart, 30);
    assert_eq!(code, 0, "{err}");
}
