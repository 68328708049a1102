//! Section 4 of the spec: the ad hoc service commands (4.1),
//! every command once, with the fine points of section 11 that go with them
//! (default names, error lines and exit codes).
//!
//! Every test runs its own daemon in its own runtime dir, waits with
//! deadline loops, and only ever signals pids it recorded. Helpers shared
//! with the other spec_4_services_* files are in tests/common/services.rs.
mod common;
use common::json::{only, parse_json, Json};
use common::services::{create, is_running_detail, pid_in, row, wait_gone};
use common::*;

use std::process::{Child, Command, Stdio};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// A `sleep 60` the test starts itself (not a child of sv).
fn own_sleep() -> Child {
    let child = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    // spawn returns once the exec has closed its descriptors, which the
    // kernel does a moment before it renames the process: until then its
    // name (what open-service names a service after) is the test thread's.
    let comm = format!("/proc/{}/comm", child.id());
    let named = wait_until(10, || {
        std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep")
    });
    assert!(named, "{comm} never became sleep");
    child
}

/// Ends a process the test spawned itself (recorded pid) and reaps it.
fn end_own(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

// ---------------------------------------------------------------------------
// 4.1: every command once
// ---------------------------------------------------------------------------

#[test]
fn create_service_prints_started_and_default_names() {
    let sv = Sv::daemon(40);
    // Waits for RUNNING (past startsecs), as `start` does.
    let r = sv.run(&["create-service", "-i", "40", "/bin/sleep", "60"]);
    let out = r.ok();
    assert!(out.starts_with("sleep: started, pid "), "{r:?}");
    assert_eq!(out.lines().count(), 1, "{r:?}");
    let p1 = pid_in(out.trim_end());
    assert!(alive(p1));

    // Taken name: -2, then -3 (answered at once with --no-wait).
    let r = create(&sv, &["/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep-2: starting, pid "), "{r:?}");
    let p2 = pid_in(r.stdout.trim_end());
    let r = create(&sv, &["/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep-3: starting, pid "), "{r:?}");
    let p3 = pid_in(r.stdout.trim_end());
    assert!(p1 != p2 && p2 != p3 && p1 != p3);

    // --name, options before and after the arguments.
    let r = create(&sv, &["--name", "nap", "/bin/sleep", "60", "-r", "3"]);
    assert!(r.ok().starts_with("nap: starting, pid "), "{r:?}");
    let p4 = pid_in(r.stdout.trim_end());

    for (name, pid) in [("sleep", p1), ("sleep-2", p2), ("sleep-3", p3), ("nap", p4)] {
        let d = sv.wait_state(name, "RUNNING", 10);
        assert!(is_running_detail(&d, pid), "{name}: {d:?}");
    }
}

#[test]
fn create_service_missing_executable_is_fatal_with_reason() {
    let sv = Sv::daemon(41);
    let r = create(&sv, &["/nonexistent/prog"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert_eq!(
        r.stderr, "sv: prog: spawn error: No such file or directory\n",
        "{r:?}"
    );
    assert_eq!(
        sv.state("prog"),
        Some((
            "FATAL".into(),
            "spawn error: No such file or directory".into()
        ))
    );
}

#[test]
fn create_service_delayed_is_pending_then_runs_by_itself() {
    let sv = Sv::daemon(42);
    let r = create(&sv, &["/bin/sleep", "60", "-c", "1"]);
    assert_eq!(r.ok(), "sleep: pending, starts in 1 s\n");
    let (state, detail) = sv.state("sleep").expect("listed");
    // It may already have started on a slow machine; if not, PENDING.
    if state == "PENDING" {
        assert!(
            detail == "starts in 1 s" || detail == "starts in 0 s",
            "{detail:?}"
        );
        assert_eq!(sv.pid("sleep"), None);
    }
    let d = sv.wait_state("sleep", "RUNNING", 15);
    let pid = sv.pid("sleep").expect("pid once running");
    assert!(is_running_detail(&d, pid), "{d:?}");
    assert!(alive(pid));
}

#[test]
fn create_stopped_then_start_runs_it() {
    let sv = Sv::daemon(43);
    let r = create(&sv, &["/bin/sleep", "60", "--create-stopped"]);
    assert_eq!(r.ok(), "sleep: created\n");
    assert_eq!(row(&sv, "sleep"), "sleep STOPPED Not started");
    assert_eq!(sv.pid("sleep"), None);

    let r = sv.sv(&["start", "sleep"]);
    assert_eq!(r.ok(), "sleep: started\n");
    // `start` returns once it is RUNNING (past startsecs).
    let (state, detail) = sv.state("sleep").expect("listed");
    assert_eq!(state, "RUNNING", "{detail}");
    let pid = sv.pid("sleep").expect("pid");
    assert!(is_running_detail(&detail, pid), "{detail:?}");
}

#[test]
fn create_service_child_runs_in_client_cwd_and_takes_dash_args_after_ddash() {
    let sv = Sv::daemon(44);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "pwd > cwd.txt",
        ],
    );
    assert!(r.ok().starts_with("sh: started, pid "), "{r:?}");
    let file = sv.work.path().join("cwd.txt");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s.ends_with('\n'))));
    let got = std::fs::read_to_string(&file).unwrap();
    let want = std::fs::canonicalize(sv.work.path()).unwrap();
    assert_eq!(got.trim_end(), want.to_str().unwrap());
    sv.wait_state("sh", "EXITED", 10);
    assert_eq!(row(&sv, "sh"), "sh EXITED exit 0");
}

#[test]
fn suspend_and_resume_service() {
    let sv = Sv::daemon(45);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);

    let r = sv.sv(&["suspend-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: suspended\n");
    assert_eq!(row(&sv, "sleep"), format!("sleep SUSPENDED pid {pid}"));
    assert!(wait_until(5, || proc_state(pid).as_deref() == Some("T")));

    let r = sv.sv(&["resume-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: resumed\n");
    let d = sv.wait_state("sleep", "RUNNING", 5);
    assert!(is_running_detail(&d, pid), "{d:?}");
    assert!(wait_until(5, || proc_state(pid).as_deref() != Some("T")));

    let r = sv.sv(&["resume-service", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sleep: ERROR (not suspended)\n");
}

#[test]
fn close_service_stops_and_does_not_restart() {
    let sv = Sv::daemon(46);
    let r = create(
        &sv,
        &["/bin/sleep", "60", "-r", "3", "--set", "startsecs=0"],
    );
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["close-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    // Returns when STOPPED; the process is gone and not restarted.
    assert_eq!(
        row(&sv, "sleep"),
        "sleep STOPPED Stopped (killed by SIGTERM)"
    );
    wait_gone(pid);
    assert_eq!(sv.pid("sleep"), None);
}

#[test]
fn remove_service_of_running_service_stops_its_process() {
    let sv = Sv::daemon(47);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["remove-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: removed\n");
    wait_gone(pid);
    let r = sv.sv(&["status", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sv: no such service: sleep\n");
    assert_eq!(sv.sv(&["status"]).ok(), "");
}

#[test]
fn remove_service_of_adopted_leaves_it_running() {
    let sv = Sv::daemon(48);
    let child = own_sleep();
    let pid = child.id() as i32;
    let r = sv.sv(&["open-service", &pid.to_string(), "--name", "mine"]);
    assert_eq!(r.ok(), format!("mine: adopted, pid {pid}\n"));
    let d = sv.wait_state("mine", "RUNNING", 5);
    assert!(is_running_detail(&d, pid), "{d:?}");
    let r = sv.sv(&["remove-service", "mine"]);
    assert_eq!(r.ok(), "mine: removed\n");
    assert_eq!(sv.state("mine"), None);
    assert!(alive(pid), "an adopted process must be left running");
    // Still running after the daemon has had time to act on it.
    assert!(sv.sv(&["status"]).code == 0 && alive(pid));
    end_own(child);
}

#[test]
fn open_service_default_name_from_comm_and_exit_is_unknown() {
    let sv = Sv::daemon(49);
    let mut child = own_sleep();
    let pid = child.id() as i32;
    let r = sv.sv(&["open-service", &pid.to_string()]);
    assert_eq!(r.ok(), format!("sleep: adopted, pid {pid}\n"));
    let d = sv.wait_state("sleep", "RUNNING", 5);
    assert!(is_running_detail(&d, pid), "{d:?}");

    // The same pid again is refused.
    let r = sv.sv(&["open-service", &pid.to_string()]);
    assert_eq!(r.code, 1, "{r:?}");

    kill(pid, libc::SIGTERM);
    let _ = child.wait();
    sv.wait_state("sleep", "EXITED", 10);
    assert_eq!(row(&sv, "sleep"), "sleep EXITED exit status unknown");
    // Never restarted: it stays EXITED with no pid.
    assert_eq!(sv.pid("sleep"), None);
    let r = sv.sv(&["service-status", "sleep"]);
    assert!(r.ok().contains("state:     EXITED\n"), "{r:?}");
    // sv has no command line for it: start is refused, not a spawn error.
    let r = sv.sv(&["start", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("sleep: ERROR (adopted"), "{r:?}");
    assert_eq!(row(&sv, "sleep"), "sleep EXITED exit status unknown");
}

#[test]
fn service_status_shows_every_field() {
    let sv = Sv::daemon(50);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["service-status", "sleep"]);
    let out = r.ok();
    let field = |k: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .unwrap_or_else(|| panic!("no {k}: in {out:?}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("name"), "sleep");
    assert_eq!(field("state"), "RUNNING");
    assert_eq!(field("pid"), pid.to_string());
    assert!(is_running_detail(
        &format!("pid {pid}, uptime {}", field("uptime")),
        pid
    ));
    assert_eq!(field("restarts"), "0");
    assert_eq!(field("last exit"), "-");
    assert!(out.contains("restarts:  0\n"), "{out:?}");

    // By pid as the target.
    let r = sv.sv(&["service-status", &pid.to_string()]);
    assert!(r.ok().starts_with("name:      sleep\n"), "{r:?}");

    // Unknown target.
    let r = sv.sv(&["service-status", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sv: no such service: nope\n");
}

#[test]
fn list_supervisor_is_the_status_table_and_json() {
    let sv = Sv::daemon(51);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let list = sv.sv(&["list-supervisor"]);
    let lines: Vec<&str> = list.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    assert!(lines[0].starts_with("sleep "), "{list:?}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>().join(" "),
        "idle STOPPED Not started"
    );
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let status = sv.sv(&["status"]);
    let snames: Vec<&str> = status
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, snames);

    let j = sv.sv(&["list-supervisor", "--json"]);
    let v = parse_json(j.ok().trim()).unwrap_or_else(|e| panic!("{e}: {j:?}"));
    let Json::Arr(items) = v else {
        panic!("not an array: {j:?}")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].str("name"), Some("sleep"));
    assert_eq!(items[1].str("name"), Some("idle"));
    assert_eq!(items[1].str("state"), Some("STOPPED"));
}

#[test]
fn supervisor_cancel_removes_a_pending_service_only() {
    let sv = Sv::daemon(52);
    let r = create(&sv, &["/bin/sleep", "60", "-c", "60", "--name", "later"]);
    assert_eq!(r.ok(), "later: pending, starts in 60 s\n");
    let (state, detail) = sv.state("later").expect("listed");
    assert_eq!(state, "PENDING");
    assert!(
        detail.starts_with("starts in ") && detail.ends_with(" s"),
        "{detail:?}"
    );
    let r = sv.sv(&["supervisor-cancel", "later"]);
    assert_eq!(r.ok(), "later: cancelled\n");
    assert_eq!(sv.state("later"), None);

    // Not PENDING: refused, and the service stays.
    create(&sv, &["/bin/sleep", "60", "--create-stopped"]).ok();
    let r = sv.sv(&["supervisor-cancel", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("sleep: ERROR (not pending"), "{r:?}");
    assert!(sv.state("sleep").is_some());
}

#[test]
fn supervisor_freelist_removes_two_services() {
    let sv = Sv::daemon(53);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "b"],
    )
    .ok();
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "keep"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["supervisor-freelist", "sleep", "b"]);
    assert_eq!(r.ok(), "sleep: removed\nb: removed\n");
    wait_gone(pid);
    let st = sv.sv(&["status"]);
    let names: Vec<&str> = st
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["keep"]);
}

#[test]
fn targets_by_pid_and_all() {
    let sv = Sv::daemon(54);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "ex3",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "exit 3",
        ],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    sv.wait_state("ex3", "EXITED", 10);

    let r = sv.sv(&["status", &pid.to_string()]);
    assert!(r.ok().starts_with("sleep "), "{r:?}");

    // `all` skips what does not apply: only `sleep` is running.
    let r = sv.sv(&["stop", "all"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    wait_gone(pid);

    let r = sv.sv(&["stop", &pid.to_string()]);
    assert_eq!(r.code, 1, "a gone pid is no target: {r:?}");
}

#[test]
fn status_exits_0_whatever_the_states_and_1_for_unknown() {
    let sv = Sv::daemon(55);
    assert_eq!(sv.sv(&["status"]).ok(), "");
    let r = create(&sv, &["/nonexistent/x"]);
    assert_eq!(r.code, 1);
    create(
        &sv,
        &["/bin/sh", "--set", "startsecs=0", "--", "-c", "exit 3"],
    )
    .ok();
    sv.wait_state("sh", "EXITED", 10);
    let r = sv.sv(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.lines().count(), 2, "{r:?}");
    let r = sv.sv(&["status", "x", "sh"]);
    assert_eq!(r.code, 0, "{r:?}");

    let r = sv.sv(&["status", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "sv: no such service: nope\n");
}

#[test]
fn status_table_is_aligned_without_header() {
    let sv = Sv::daemon(56);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "--create-stopped",
            "--name",
            "a-much-longer-name",
        ],
    )
    .ok();
    create(&sv, &["/bin/sleep", "60", "-c", "60", "--name", "p"]).ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["status"]);
    let lines: Vec<&str> = r.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{r:?}");
    assert!(!lines[0].to_ascii_uppercase().starts_with("NAME"), "{r:?}");
    // The state and the detail start at the same column on every row.
    let cols = |l: &str| -> (usize, usize) {
        let name_end = l.find(' ').unwrap();
        let state_at = name_end + l[name_end..].find(|c| c != ' ').unwrap();
        let state_end = state_at + l[state_at..].find(' ').unwrap();
        let detail_at = state_end + l[state_end..].find(|c| c != ' ').unwrap();
        assert!(state_at >= name_end + 2, "{l:?}");
        assert!(detail_at >= state_end + 2, "{l:?}");
        (state_at, detail_at)
    };
    let c0 = cols(lines[0]);
    for l in &lines {
        assert_eq!(cols(l), c0, "misaligned: {r:?}");
    }
}

#[test]
fn open_service_takes_the_next_free_name_and_can_be_stopped() {
    let sv = Sv::daemon(82);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    let mut child = own_sleep();
    let pid = child.id() as i32;
    let r = sv.sv(&["open-service", &pid.to_string()]);
    assert_eq!(r.ok(), format!("sleep-2: adopted, pid {pid}\n"));
    let r = sv.sv(&["service-status", "sleep-2", "--json"]);
    let v = only(parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}")));
    assert_eq!(v.get("adopted"), Some(&Json::Bool(true)), "{r:?}");
    // `stop` applies its stop rules to an adopted process too.
    let r = sv.sv(&["stop", "sleep-2"]);
    assert_eq!(r.ok(), "sleep-2: stopped\n");
    let _ = child.wait();
    assert_eq!(sv.state("sleep-2").map(|s| s.0).as_deref(), Some("STOPPED"));
    // It is not restarted, and `sleep` was not touched.
    assert_eq!(sv.pid("sleep-2"), None);
    assert_eq!(sv.state("sleep").map(|s| s.0).as_deref(), Some("RUNNING"));
}

/// Delays past what the clock can hold are refused, not a crash of the
/// daemon (an Instant overflow would panic it).
#[test]
fn absurd_delays_are_refused_and_the_daemon_goes_on() {
    let sv = Sv::daemon(51);
    for args in [
        &["-c", "18446744073709551615", "/bin/true"][..],
        &["--set", "startsecs=18446744073709551615", "/bin/true"][..],
        &["--set", "stopwaitsecs=99999999999", "/bin/true"][..],
    ] {
        let r = create(&sv, args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains("year"), "{args:?}: {r:?}");
    }
    // Nothing half-made was left behind, and the daemon answers.
    assert_eq!(sv.sv(&["status"]).ok(), "");
}
