//! SPEC §17 with §8 and §5: a schedule survives a SIGKILL of the daemon
//! (its anchor kept, a run under way taken back, a run missed meanwhile
//! not made up) and a reload that leaves it unchanged; a changed one takes
//! effect at once.
//!
//! The daemon is a child of the test, SIGKILLed by its recorded pid (see
//! `crash_harness`). Whether an `@every 1h` anchor was kept is read from
//! `next run in H:MM:SS`: kept, it only counts down; set anew, it is back
//! at 1:00:00.
mod common;
mod crash_harness;
use common::schedule::{next_in, runs};
use common::*;
use crash_harness::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The seconds to the next run of `name`, once at most `most` (waited for).
#[track_caller]
fn left_at_most(sv: &Sv, name: &str, most: u64) -> u64 {
    let mut left = None;
    let ok = wait_until(10, || {
        left = sv.state(name).and_then(|(_, d)| next_in(&d));
        left.is_some_and(|l| l <= most)
    });
    assert!(ok, "{name}: next run never within {most} s: {left:?}");
    left.unwrap()
}

#[test]
fn a_schedule_survives_a_crash_with_its_anchor_and_its_run() {
    let s = uniq(1701);
    let mut c = Crashy::new(Some(
        "[program:hourly]\ncommand=/bin/true\nschedule=@every 1h\n",
    ));
    let out = c.create(&["--cron", "@every 1h", "--name", "job", "/bin/sleep", &s]);
    assert!(out.starts_with("job: pending"), "{out}");
    assert_eq!(c.sv(&["start", "job"]).code, 0);
    let pid = c.pid("job");
    let hourly = left_at_most(&c.sv, "hourly", 3598);
    let job = left_at_most(&c.sv, "job", 3598);
    c.crash();
    c.boot();
    // Both schedules are back, on their old anchors.
    let (st, d) = c.sv.state("hourly").expect("hourly forgotten");
    assert_eq!(st, "PENDING", "{d}");
    assert!(
        next_in(&d).is_some_and(|l| l <= hourly),
        "{hourly} then {d}"
    );
    // The run under way is taken back, same pid, and the schedule with it.
    let (st, d) = c.sv.state("job").expect("job forgotten");
    assert_eq!(st, "RUNNING", "{d}");
    assert_eq!(c.pid("job"), pid);
    assert!(next_in(&d).is_some_and(|l| l <= job), "{job} then {d}");
    assert_eq!(c.sv(&["stop", "job"]).code, 0);
    let (st, d) = c.sv.state("job").unwrap();
    assert_eq!(st, "PENDING", "{d}");
    assert!(sleeps(&s).is_empty());
    c.close();
}

#[test]
fn a_run_missed_while_no_daemon_ran_is_not_made_up() {
    let mut c = Crashy::new(None);
    let file = c.sv.work.path().join("runs");
    // Once a minute, at a second 4 s from now (UTC and local seconds agree).
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let due = now.as_secs() + 4;
    let expr = format!("{} * * * * *", due % 60);
    let script = format!("echo run >> {}", file.display());
    let out = c.create(&[
        "--cron", &expr, "--name", "minute", "--", "/bin/sh", "-c", &script,
    ]);
    assert!(out.starts_with("minute: pending"), "{out}");
    c.crash();
    assert!(wait_until(10, || {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap() > Duration::from_secs(due + 1)
    }));
    c.boot();
    let (st, d) = c.sv.state("minute").expect("forgotten");
    assert_eq!(st, "PENDING", "{d}");
    assert!(next_in(&d).is_some_and(|l| l >= 50), "{d}");
    assert!(!d.contains("last run"), "the missed run was made up: {d}");
    assert_eq!(runs(&file), 0, "the missed run was made up");
    c.close();
}

#[test]
fn reload_keeps_an_unchanged_schedule_and_applies_a_changed_one_at_once() {
    let conf = |every: &str, startsecs: u32| {
        format!(
            "[program:hourly]\ncommand=/bin/true\nschedule=@every {every}\n\
             [program:other]\ncommand=/bin/true\nschedule=@every 1h\nstartsecs={startsecs}\n"
        )
    };
    let mut c = Crashy::new(Some(&conf("1h", 1)));
    let path = c.conf.clone().unwrap();
    let before = left_at_most(&c.sv, "hourly", 3598);
    let other = left_at_most(&c.sv, "other", 3598);
    // `other` changes in another key: its schedule, and anchor, stay.
    std::fs::write(&path, conf("1h", 2)).unwrap();
    let r = c.sv(&["reload"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("other: changed") && !r.stdout.contains("hourly"),
        "{r:?}"
    );
    let (st, d) = c.sv.state("hourly").unwrap();
    assert_eq!(st, "PENDING", "{d}");
    assert!(
        next_in(&d).is_some_and(|l| l <= before),
        "{before} then {d}"
    );
    let (st, d) = c.sv.state("other").unwrap();
    assert_eq!(st, "PENDING", "{d}");
    assert!(next_in(&d).is_some_and(|l| l <= other), "{other} then {d}");
    // A changed schedule: the next run from the new one, now, and no run.
    std::fs::write(&path, conf("2h", 2)).unwrap();
    let r = c.sv(&["reload"]);
    assert!(r.stdout.contains("hourly: changed"), "{r:?}");
    let (st, d) = c.sv.state("hourly").unwrap();
    assert_eq!(st, "PENDING", "{d}");
    assert!(next_in(&d).is_some_and(|l| l > 7100), "{d}");
    // Back to 1h: a new anchor, 1:00:00 from now.
    std::fs::write(&path, conf("1h", 2)).unwrap();
    c.sv(&["reload"]).ok();
    let (_, d) = c.sv.state("hourly").unwrap();
    assert!(next_in(&d).is_some_and(|l| l > before), "{before} then {d}");
    // A run under way of a changed scheduled program goes on to its end.
    let s = uniq(1702);
    let run = |every: &str| {
        format!(
            "[program:hourly]\ncommand=/bin/true\nschedule=@every 1h\n\
             [program:other]\ncommand=/bin/sleep {s}\nschedule=@every {every}\nstartsecs=2\n"
        )
    };
    std::fs::write(&path, run("1h")).unwrap();
    c.sv(&["reload"]).ok();
    assert_eq!(c.sv(&["start", "other"]).code, 0);
    let pid = c.pid("other");
    std::fs::write(&path, run("3h")).unwrap();
    let r = c.sv(&["reload"]);
    assert!(r.stdout.contains("other: changed"), "{r:?}");
    let (st, d) = c.sv.state("other").unwrap();
    assert_eq!(st, "RUNNING", "{d}");
    assert_eq!(c.pid("other"), pid, "the run was restarted");
    assert!(next_in(&d).is_some_and(|l| l > 3 * 3600 - 100), "{d}");
    assert_eq!(c.sv(&["stop", "other"]).code, 0);
    // No schedule any more: an ordinary program, started as autostart says.
    std::fs::write(&path, "[program:hourly]\ncommand=/bin/sleep 30\n").unwrap();
    c.sv(&["reload"]).ok();
    let d = c.sv.wait_state("hourly", "RUNNING", 10);
    assert!(!d.contains("next run"), "{d}");
    c.pid("hourly");
    c.close();
}
