//! SPEC §15 outside a PID namespace: `shutdown_on` and its exit status,
//! SIGTERM within the grace period, orphans reaped by the subreaper. The
//! same scenarios run as PID 1 in spec_15_pid1.

mod common;

use common::containers::{self as c, Pid1};
use common::{wait_until, Sv};

#[test]
fn shutdown_on_exit_exits_with_the_programs_code() {
    c::exit_is_the_programs_code(Pid1::No);
}

#[test]
fn shutdown_on_exit_after_a_signal_is_128_plus_n() {
    c::a_signal_is_128_plus_n(Pid1::No);
}

#[test]
fn shutdown_on_fatal_exits_1() {
    c::fatal_exits_1(Pid1::No);
}

#[test]
fn supervisord_section_sets_every_programs_default() {
    c::the_section_sets_the_default(Pid1::No);
}

#[test]
fn supervisord_applet_exits_with_the_programs_code() {
    c::supervisord_exits_with_the_programs_code(Pid1::No);
}

#[test]
fn sigterm_stops_50_programs_within_the_grace_period() {
    c::a_stop_signal_ends_within_the_grace_period(Pid1::No, libc::SIGTERM);
}

#[test]
fn orphans_are_reaped_by_the_subreaper() {
    c::orphans_are_reaped(Pid1::No, 40, "0.05", 20);
}

/// An exit that is restarted is no end: `shutdown_on = exit` waits for
/// one with no restart coming.
#[test]
fn a_restarted_exit_does_not_end_the_daemon() {
    let mut sv = Sv::new(78);
    let conf = "[program:loop]\ncommand=/bin/sh -c \"sleep 1.2 && exit 7\"\nstartsecs=1\n\
                autorestart=true\nshutdown_on=exit\n";
    c::start(&mut sv, Pid1::No, conf);
    let first = wait_until(10, || sv.pid("loop").is_some());
    assert!(first);
    let pid = sv.pid("loop").unwrap();
    // Restarted at least once, and the daemon still runs.
    let again = wait_until(15, || sv.pid("loop").is_some_and(|p| p != pid));
    assert!(again, "loop was not restarted: {}", c::daemon_log(&sv));
    assert!(c::wait_exit(&mut sv, 0).is_none(), "{}", c::daemon_log(&sv));
    assert_eq!(sv.close().code, 0);
}

/// `create-service --set shutdown_on=exit`: an ad hoc service ends the
/// daemon with its code too.
#[test]
fn create_service_takes_shutdown_on() {
    let mut sv = Sv::new(79);
    c::start(&mut sv, Pid1::No, "");
    let go = sv.work.path().join("GO");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; exit 6",
        go.display()
    );
    // `-i` before `--`: what follows goes to the child.
    let n = sv.instance.to_string();
    let r = sv.run(&[
        "create-service",
        "-i",
        &n,
        "--set",
        "shutdown_on=exit",
        "--name",
        "job",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    sv.wait_state("job", "RUNNING", 10);
    std::fs::write(&go, "").unwrap();
    let st = c::wait_exit(&mut sv, 30).expect("the daemon did not exit");
    assert_eq!(c::code(st), 6, "{}", c::daemon_log(&sv));
}
