//! Section 4 of the spec: every state of 4.3 as `status` shows
//! it, the restart budget, and what start, stop and restart print and do.
//!
//! Every test runs its own daemon in its own runtime dir, waits with
//! deadline loops, and only ever signals pids it recorded. Helpers shared
//! with the other spec_4_services_* files are in tests/common/services.rs.
mod common;
use common::services::{create, is_running_detail, pid_in, row, wait_gone};
use common::*;

use std::process::Stdio;

// ---------------------------------------------------------------------------
// 4.3: every state, as `status` shows it
// ---------------------------------------------------------------------------

#[test]
fn state_stopped_not_started_and_stopped_by_command() {
    let sv = Sv::daemon(60);
    create(&sv, &["/bin/sleep", "60", "--create-stopped"]).ok();
    assert_eq!(row(&sv, "sleep"), "sleep STOPPED Not started");
    sv.sv(&["start", "sleep"]).ok();
    let pid = sv.pid("sleep").expect("pid");
    sv.sv(&["stop", "sleep"]).ok();
    assert_eq!(
        row(&sv, "sleep"),
        "sleep STOPPED Stopped (killed by SIGTERM)"
    );
    wait_gone(pid);
}

#[test]
fn state_pending() {
    let sv = Sv::daemon(61);
    create(&sv, &["/bin/sleep", "60", "-c", "30"]).ok();
    let (state, detail) = sv.state("sleep").expect("listed");
    assert_eq!(state, "PENDING");
    let n = starts_in(&detail);
    assert!((28..=30).contains(&n), "{detail:?}");
}

#[test]
fn state_starting_then_running() {
    let sv = Sv::daemon(62);
    let r = create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "--name",
            "slow",
            "--set",
            "startsecs=30",
        ],
    );
    let slow = pid_in(r.ok().trim_end());
    assert_eq!(row(&sv, "slow"), format!("slow STARTING pid {slow}"));

    let r = create(&sv, &["/bin/sleep", "60", "--name", "fast"]);
    let fast = pid_in(r.ok().trim_end());
    let d = sv.wait_state("fast", "RUNNING", 10);
    assert!(is_running_detail(&d, fast), "{d:?}");
    // Still STARTING: 30 s have not passed.
    assert_eq!(row(&sv, "slow"), format!("slow STARTING pid {slow}"));
}

#[test]
fn state_backoff_then_fatal() {
    let sv = Sv::daemon(63);
    // Exits at once (before startsecs 1): backs off, then one retry, FATAL.
    let r = create(&sv, &["/bin/false", "-r", "1"]);
    assert!(r.ok().starts_with("false: starting, pid "), "{r:?}");
    let d = sv.wait_state("false", "BACKOFF", 10);
    assert!(d.starts_with("Exited too quickly"), "{d:?}");
    assert_eq!(sv.pid("false"), None);
    let d = sv.wait_state("false", "FATAL", 15);
    assert!(!d.is_empty(), "FATAL has a reason");
    let r = sv.sv(&["service-status", "false"]);
    let out = r.ok();
    assert!(out.contains("restarts:  1\n"), "{out:?}");
    assert!(out.contains("last exit: exit 1\n"), "{out:?}");
}

#[test]
fn state_fatal_after_restart_budget_of_runs_past_startsecs() {
    let sv = Sv::daemon(64);
    create(
        &sv,
        &[
            "/bin/sh",
            "-r",
            "2",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "exit 3",
        ],
    )
    .ok();
    let d = sv.wait_state("sh", "FATAL", 10);
    assert!(d.contains("exit 3"), "{d:?}");
    let r = sv.sv(&["service-status", "sh"]);
    let out = r.ok();
    assert!(out.contains("restarts:  2\n"), "{out:?}");
    assert!(out.contains("last exit: exit 3\n"), "{out:?}");
}

#[test]
fn state_stopping_while_stop_waits_then_stopped_by_sigkill() {
    let sv = Sv::daemon(65);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--set",
            "startsecs=0",
            "--set",
            "stopwaitsecs=2",
            "--",
            "-c",
            "trap '' TERM; echo ready > ready; exec sleep 60",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sh", "RUNNING", 10);
    // Only once the trap is in place.
    let ready = sv.work.path().join("ready");
    assert!(wait_until(10, || std::fs::read_to_string(&ready)
        .is_ok_and(|s| s == "ready\n")));

    let stopper = sv.spawn_sv(&["stop", "sh"]);
    let d = sv.wait_state("sh", "STOPPING", 5);
    assert_eq!(d, format!("pid {pid}"));
    assert!(alive(pid), "TERM is ignored: still alive while STOPPING");
    let out = stopper.wait_with_output().expect("sv stop");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sh: stopped\n");
    // `stop` returns when it is STOPPED.
    assert_eq!(row(&sv, "sh"), "sh STOPPED Stopped (killed by SIGKILL)");
    wait_gone(pid);
}

#[test]
fn state_exited_with_code_signal_and_zero() {
    let sv = Sv::daemon(66);
    for (name, script) in [("ex3", "exit 3"), ("ex0", "exit 0"), ("k9", "kill -9 $$")] {
        create(
            &sv,
            &[
                "/bin/sh",
                "--name",
                name,
                "--set",
                "startsecs=0",
                "--",
                "-c",
                script,
            ],
        )
        .ok();
    }
    // With -r, exit 0 is expected: EXITED, not restarted.
    create(&sv, &["/bin/true", "-r", "3", "--set", "startsecs=0"]).ok();
    for n in ["ex3", "ex0", "k9", "true"] {
        sv.wait_state(n, "EXITED", 10);
    }
    assert_eq!(row(&sv, "ex3"), "ex3 EXITED exit 3");
    assert_eq!(row(&sv, "ex0"), "ex0 EXITED exit 0");
    assert_eq!(row(&sv, "k9"), "k9 EXITED killed by SIGKILL");
    assert_eq!(row(&sv, "true"), "true EXITED exit 0");
    let r = sv.sv(&["service-status", "true"]);
    assert!(r.ok().contains("restarts:  0\n"), "{r:?}");
}

#[test]
fn state_fatal_on_spawn_error_is_not_retried() {
    let sv = Sv::daemon(67);
    let r = create(&sv, &["/nonexistent/y", "-r", "5"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        row(&sv, "y"),
        "y FATAL spawn error: No such file or directory"
    );
    let r = sv.sv(&["service-status", "y"]);
    assert!(r.ok().contains("restarts:  0\n"), "{r:?}");
}

#[test]
fn state_suspended_by_command_and_by_external_sigstop() {
    let sv = Sv::daemon(68);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let a = pid_in(r.ok().trim_end());
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let b = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    sv.wait_state("sleep-2", "RUNNING", 10);

    // By command.
    sv.sv(&["suspend-service", "sleep"]).ok();
    let d = sv.wait_state("sleep", "SUSPENDED", 5);
    assert_eq!(d, format!("pid {a}"));
    assert!(wait_until(5, || proc_state(a).as_deref() == Some("T")));

    // By someone else: a SIGSTOP to the recorded pid.
    kill(b, libc::SIGSTOP);
    assert!(wait_until(5, || proc_state(b).as_deref() == Some("T")));
    let d = sv.wait_state("sleep-2", "SUSPENDED", 5);
    assert_eq!(d, format!("pid {b}"));

    // And a SIGCONT from outside is seen too.
    kill(b, libc::SIGCONT);
    let d = sv.wait_state("sleep-2", "RUNNING", 5);
    assert!(is_running_detail(&d, b), "{d:?}");
    sv.sv(&["resume-service", "sleep"]).ok();
    sv.wait_state("sleep", "RUNNING", 5);
}

#[test]
fn state_killed_from_outside_is_handled_like_an_exit() {
    let sv = Sv::daemon(69);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    kill(pid, libc::SIGKILL);
    sv.wait_state("sleep", "EXITED", 10);
    assert_eq!(row(&sv, "sleep"), "sleep EXITED killed by SIGKILL");
}

// ---------------------------------------------------------------------------
// Restart budget with the crash toy
// ---------------------------------------------------------------------------

#[test]
fn test_restart_with_r2_is_fatal_after_exactly_two_restarts() {
    let sv = Sv::daemon(70);
    let link = applet_link(sv.work.path(), "test_restart");
    let r = create(
        &sv,
        &[
            link.to_str().unwrap(),
            "0.3",
            "-r",
            "2",
            "--set",
            "startsecs=0",
        ],
    );
    assert!(r.ok().starts_with("test_restart: started, pid "), "{r:?}");
    let d = sv.wait_state("test_restart", "FATAL", 20);
    assert!(d.contains("SIGSEGV"), "{d:?}");
    let r = sv.sv(&["service-status", "test_restart"]);
    let out = r.ok();
    assert!(out.contains("state:     FATAL\n"), "{out:?}");
    assert!(out.contains("restarts:  2\n"), "{out:?}");
    assert!(out.contains("last exit: killed by SIGSEGV\n"), "{out:?}");

    let log = log_path(&sv, "test_restart", "stdout");
    let pids = || -> Vec<String> {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("test_restart: pid "))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        v.dedup();
        v
    };
    assert!(wait_until(5, || pids().len() >= 3), "{:?}", pids());
    let mut p = pids();
    assert_eq!(p.len(), 3, "{p:?}");
    p.sort();
    p.dedup();
    assert_eq!(p.len(), 3, "three distinct pids");
    // And no fourth run.
    assert_eq!(sv.pid("test_restart"), None);
}

// ---------------------------------------------------------------------------
// start / stop / restart outcomes
// ---------------------------------------------------------------------------

#[test]
fn start_running_is_already_started_and_stop_stopped_is_not_running() {
    let sv = Sv::daemon(71);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["start", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "sleep: ERROR (already started)\n");
    let r = sv.sv(&["stop", "idle"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "idle: ERROR (not running)\n");
}

#[test]
fn restart_prints_both_lines_and_changes_the_pid() {
    let sv = Sv::daemon(72);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let old = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["restart", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\nsleep: started\n");
    let d = sv.wait_state("sleep", "RUNNING", 5);
    let new = sv.pid("sleep").expect("pid");
    assert_ne!(old, new);
    assert!(is_running_detail(&d, new), "{d:?}");
    wait_gone(old);
}

#[test]
fn start_of_a_program_that_exits_early_reports_an_error() {
    let sv = Sv::daemon(73);
    create(&sv, &["/bin/false", "--create-stopped"]).ok();
    let r = sv.sv(&["start", "false"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("false: ERROR ("), "{r:?}");
    assert_eq!(row(&sv, "false"), "false EXITED exit 1");
}

#[test]
fn parrot_stops_cleanly_on_term() {
    let sv = Sv::daemon(74);
    let link = applet_link(sv.work.path(), "parrot_service");
    let r = create(
        &sv,
        &[
            link.to_str().unwrap(),
            "--set",
            "startsecs=0",
            "--",
            "--interval",
            "0.2",
            "--file",
            "x",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    let file = sv.work.path().join("x");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s.lines().count() >= 2)));
    let r = sv.sv(&["stop", "parrot_service"]);
    assert_eq!(r.ok(), "parrot_service: stopped\n");
    assert_eq!(
        row(&sv, "parrot_service"),
        "parrot_service STOPPED Stopped (exit 0)"
    );
    wait_gone(pid);
}

#[test]
fn concurrent_starts_spawn_one_process() {
    let sv = Sv::daemon(80);
    create(&sv, &["/bin/sleep", "60", "--create-stopped"]).ok();
    let n = sv.instance.to_string();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            sv.command()
                .args(["start", "sleep", "-i", &n])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sv start")
        })
        .collect();
    let outs: Vec<_> = clients
        .into_iter()
        .map(|c| c.wait_with_output().expect("sv start"))
        .collect();
    let ok = outs.iter().filter(|o| o.status.code() == Some(0)).count();
    assert_eq!(ok, 1, "{outs:?}");
    for o in &outs {
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        if o.status.code() == Some(0) {
            assert_eq!(out, "sleep: started\n");
        } else {
            assert_eq!(o.status.code(), Some(1), "{o:?}");
            assert_eq!(err, "sleep: ERROR (already started)\n");
        }
    }
    let pid = sv.pid("sleep").expect("pid");
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    let kids: Vec<i32> = children(daemon).into_iter().filter(|p| alive(*p)).collect();
    assert_eq!(kids, [pid], "exactly one process runs");
}

#[test]
fn stopped_or_removed_pending_and_backoff_services_never_start_later() {
    let sv = Sv::daemon(81);
    create(&sv, &["/bin/sleep", "60", "-c", "1", "--name", "p-stop"]).ok();
    create(&sv, &["/bin/sleep", "60", "-c", "1", "--name", "p-rm"]).ok();
    create(&sv, &["/bin/false", "-r", "3", "--name", "bo"]).ok();
    sv.wait_state("bo", "BACKOFF", 10);
    assert_eq!(sv.sv(&["stop", "p-stop"]).ok(), "p-stop: stopped\n");
    assert_eq!(sv.sv(&["remove-service", "p-rm"]).ok(), "p-rm: removed\n");
    assert_eq!(sv.sv(&["stop", "bo"]).ok(), "bo: stopped\n");
    assert_eq!(row(&sv, "p-stop"), "p-stop STOPPED Not started");
    assert_eq!(sv.state("bo").map(|s| s.0).as_deref(), Some("STOPPED"));
    // A sentinel due after all of them: once it runs, their times are past.
    create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "-c",
            "2",
            "--name",
            "sentinel",
            "--set",
            "startsecs=0",
        ],
    )
    .ok();
    sv.wait_state("sentinel", "RUNNING", 15);
    assert_eq!(row(&sv, "p-stop"), "p-stop STOPPED Not started");
    assert_eq!(sv.state("p-rm"), None);
    assert_eq!(sv.state("bo").map(|s| s.0).as_deref(), Some("STOPPED"));
    assert_eq!(sv.pid("bo"), None);
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    let kids: Vec<i32> = children(daemon).into_iter().filter(|p| alive(*p)).collect();
    assert_eq!(kids, [sv.pid("sentinel").unwrap()]);
}
