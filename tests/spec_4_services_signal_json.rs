//! Section 4 of the spec: `signal` (it reaches the process,
//! not its group; a stopped process is stopped without waiting for SIGKILL)
//! and the `--json` form of `status` (its fields, its escapes).
//!
//! Every test runs its own daemon in its own runtime dir, waits with
//! deadline loops, and only ever signals pids it recorded. Helpers shared
//! with the other spec_4_services_* files are in tests/common/services.rs.
mod common;
use common::json::{only, parse_json, Json};
use common::services::{create, pid_in, row, wait_gone};
use common::*;

// ---------------------------------------------------------------------------
// --json
// ---------------------------------------------------------------------------

#[test]
fn status_json_is_valid_with_the_right_fields() {
    let sv = Sv::daemon(75);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);

    let r = sv.sv(&["status", "--json"]);
    let v = parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let Json::Arr(items) = v else {
        panic!("not an array: {r:?}")
    };
    assert_eq!(items.len(), 2, "{r:?}");
    let s = &items[0];
    assert_eq!(s.str("name"), Some("sleep"));
    assert_eq!(s.str("state"), Some("RUNNING"));
    assert_eq!(s.num("pid"), Some(pid as f64));
    assert!(s.num("uptime_secs").is_some(), "{r:?}");
    assert_eq!(s.num("restarts"), Some(0.0));
    let i = &items[1];
    assert_eq!(i.str("name"), Some("idle"));
    assert_eq!(i.str("state"), Some("STOPPED"));
    assert_eq!(i.str("detail"), Some("Not started"));
    assert!(r.stdout.contains("\"state\":\"RUNNING\""), "{r:?}");

    // One target: still one JSON document.
    let r = sv.sv(&["status", "sleep", "--json"]);
    let v = parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let one = match &v {
        Json::Arr(items) => {
            assert_eq!(items.len(), 1, "{r:?}");
            items[0].clone()
        }
        obj => obj.clone(),
    };
    assert_eq!(one.str("name"), Some("sleep"));
    assert_eq!(one.num("pid"), Some(pid as f64));

    // service-status --json: the same shape, an array, with one target too.
    let r = sv.sv(&["service-status", "sleep", "--json"]);
    let v = only(parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}")));
    assert_eq!(v.str("name"), Some("sleep"));
    assert_eq!(v.str("state"), Some("RUNNING"));
    assert_eq!(v.num("pid"), Some(pid as f64));
}

// ---------------------------------------------------------------------------
// signal
// ---------------------------------------------------------------------------

#[test]
fn signal_usr1_reaches_the_process() {
    let sv = Sv::daemon(76);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "u",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "trap 'echo got >> usr1.txt' USR1; echo ready > ready; while :; do sleep 0.1; done",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    let ready = sv.work.path().join("ready");
    assert!(wait_until(10, || std::fs::read_to_string(&ready)
        .is_ok_and(|s| s == "ready\n")));
    let r = sv.sv(&["signal", "USR1", "u"]);
    assert_eq!(r.ok(), "u: signalled SIGUSR1\n");
    let file = sv.work.path().join("usr1.txt");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s == "got\n")));
    // The trap handled it: the process lives on.
    assert!(alive(pid));
    assert_eq!(sv.state("u").map(|s| s.0).as_deref(), Some("RUNNING"));

    let r = sv.sv(&["signal", "USR1", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = sv.sv(&["signal", "BOGUS", "u"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn signal_goes_to_the_process_not_its_group() {
    let sv = Sv::daemon(77);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "g",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "sleep 60 & echo $! > bg; trap 'echo got >> usr1.txt' USR1; echo ready > ready; \
             while :; do sleep 0.1; done",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    let ready = sv.work.path().join("ready");
    assert!(wait_until(10, || std::fs::read_to_string(&ready)
        .is_ok_and(|s| s == "ready\n")));
    let bg: i32 = std::fs::read_to_string(sv.work.path().join("bg"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let r = sv.sv(&["signal", "USR1", &pid.to_string()]);
    assert_eq!(r.ok(), "g: signalled SIGUSR1\n");
    let file = sv.work.path().join("usr1.txt");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s == "got\n")));
    // A grandchild in the same group did not get it (USR1 would kill it).
    assert!(alive(bg), "sv signal must not signal the whole group");
    // The stop rules, though, do signal the group.
    let r = sv.sv(&["stop", "g"]);
    assert_eq!(r.ok(), "g: stopped\n");
    wait_gone(bg);
}

#[test]
fn stop_of_an_externally_stopped_process_does_not_wait_for_sigkill() {
    let sv = Sv::daemon(78);
    let r = create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "--set",
            "startsecs=0",
            "--set",
            "stopwaitsecs=30",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    kill(pid, libc::SIGSTOP);
    sv.wait_state("sleep", "SUSPENDED", 5);
    let t = std::time::Instant::now();
    let r = sv.sv(&["stop", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "a stopped process must be continued so TERM can act: {:?}",
        t.elapsed()
    );
    assert_eq!(
        row(&sv, "sleep"),
        "sleep STOPPED Stopped (killed by SIGTERM)"
    );
    wait_gone(pid);
}

#[test]
fn json_escapes_quotes_and_backslashes() {
    let sv = Sv::daemon(79);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "q\"x",
            "--set",
            "startsecs=30",
            "--",
            "-c",
            "echo \"a\\b\"; sleep 60",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    for args in [
        &["status", "--json"][..],
        &["list-supervisor", "--json"][..],
    ] {
        let r = sv.sv(args);
        let v = parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
        let Json::Arr(items) = v else {
            panic!("not an array: {r:?}")
        };
        assert_eq!(items.len(), 1, "{r:?}");
        assert_eq!(items[0].str("name"), Some("q\"x"));
        assert_eq!(items[0].str("state"), Some("STARTING"));
        assert_eq!(items[0].num("pid"), Some(pid as f64));
    }
    let r = sv.sv(&["service-status", "q\"x", "--json"]);
    let v = only(parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}")));
    assert_eq!(v.str("name"), Some("q\"x"));
    if let Some(cmd) = v.str("command") {
        assert!(cmd.contains("echo \"a\\b\""), "{cmd:?}");
    }
}
