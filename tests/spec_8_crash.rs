//! SPEC 8 (crash safety) and the fine points of 11 about it: the `state`
//! file, taking services back after the daemon was SIGKILLed, restart rules
//! for processes that died while no daemon ran, a corrupt state file, a
//! clean `close`, output across the daemon's death, and a stress test of
//! repeated SIGKILLs.
//!
//! Every test has its own runtime dir. The daemon is a child of the test
//! (`sv.child`); it is SIGKILLed by that recorded pid, reaped, and a new
//! `sv daemon N` is started on the same runtime dir. Services orphaned by
//! the killed daemon go to init, which reaps them when they die. Where a
//! test needs a dead process to stay a zombie (same pid and start time
//! still in /proc), the daemon runs under a [`Holder`] that never reaps.
//! Every pid seen is recorded and killed at the end if it is still the same
//! process; /proc is scanned by an argument unique to the test only to
//! count processes, never to kill them.
mod common;
mod crash_harness;
use common::*;
use crash_harness::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The state file
// ---------------------------------------------------------------------------

#[test]
fn state_file_is_written_after_each_change_and_removed_by_close() {
    let mut c = Crashy::new(None);
    let state = c.state_path();
    let a = uniq(311);
    c.create(&["--name", "one", "/bin/sleep", &a, "-r", "1"]);
    c.sv.wait_state("one", "RUNNING", 10);
    c.sv(&["status"]).ok();
    let bytes = std::fs::read(&state).expect("state file");
    assert!(bytes.starts_with(b"sv state 3\n"), "{bytes:?}");
    assert!(
        bytes.windows(3).any(|w| w == b"one"),
        "the state file does not name the service"
    );
    assert!(
        !c.dir().join("state.tmp").exists(),
        "a temporary file is left"
    );
    let pid = c.pid("one");
    c.close();
    assert!(!state.exists(), "a clean close leaves the state file");
    assert!(!alive(pid), "close left the service running");
}

// ---------------------------------------------------------------------------
// Taking back live processes
// ---------------------------------------------------------------------------

#[test]
fn running_ad_hoc_service_is_adopted_back_with_the_same_pid() {
    let mut c = Crashy::new(None);
    let a = uniq(312);
    c.create(&["/bin/sleep", &a, "-r", "2"]);
    c.sv.wait_state("sleep", "RUNNING", 10);
    let pid = c.pid("sleep");
    let t = start_time(pid);
    c.crash();
    assert!(alive(pid), "the service died with the daemon");
    c.boot();
    let detail = c.sv.wait_state("sleep", "RUNNING", 5);
    assert!(detail.contains(&format!("pid {pid}")), "{detail}");
    assert_eq!(c.sv.pid("sleep"), Some(pid));
    assert_eq!(start_time(pid), t, "not the same process");
    assert_eq!(sleeps(&a), vec![pid], "nothing may run twice");
    assert_eq!(c.restarts("sleep"), 0, "a taken-back process is no restart");
    assert_eq!(c.names(), vec!["sleep"]);
    // It is watched again: close stops it.
    c.close();
    assert!(wait_until(5, || !alive(pid)), "close left it running");
    assert!(sleeps(&a).is_empty());
}

#[test]
fn ad_hoc_service_with_restarts_that_died_while_down_is_restarted() {
    let mut c = Crashy::new(None);
    let a = uniq(313);
    c.create(&["--name", "d", "/bin/sleep", &a, "-r", "2"]);
    c.sv.wait_state("d", "RUNNING", 10);
    let p1 = c.pid("d");

    // Round 1: the process is gone from /proc (reaped) when the daemon
    // comes back. The next daemon runs under a holder that never reaps.
    c.crash();
    kill_dead(p1, true);
    c.boot_held(false);
    let p2 = c.wait_new_pid("d", p1, "RUNNING", 10);
    assert_eq!(c.restarts("d"), 1, "one restart spent");
    assert_eq!(sleeps(&a), vec![p2]);

    // Round 2: the process is a zombie nobody reaps (same pid and start
    // time still in /proc, but dead).
    let t2 = start_time(p2);
    c.crash();
    kill_dead(p2, false);
    assert_eq!(start_time(p2), t2, "the test needs p2 a zombie");
    assert_eq!(proc_state(p2).as_deref(), Some("Z"));
    c.boot();
    let p3 = c.wait_new_pid("d", p2, "RUNNING", 10);
    assert_eq!(c.restarts("d"), 2, "a second restart spent");
    assert_eq!(sleeps(&a), vec![p3]);

    // Round 3: the budget of -r 2 is spent: FATAL, nothing started.
    c.crash();
    kill_dead(p3, true);
    c.boot();
    c.sv.wait_state("d", "FATAL", 10);
    assert!(sleeps(&a).is_empty(), "started past its budget");
    c.close();
}

#[test]
fn ad_hoc_service_without_restarts_that_died_while_down_is_exited_status_unknown() {
    let mut c = Crashy::new(None);
    let a = uniq(314);
    c.create(&["--name", "once", "/bin/sleep", &a]);
    c.sv.wait_state("once", "RUNNING", 10);
    let pid = c.pid("once");
    c.crash();
    kill_dead(pid, true);
    c.boot();
    let detail = c.sv.wait_state("once", "EXITED", 10);
    assert!(detail.contains("exit status unknown"), "{detail}");
    assert!(sleeps(&a).is_empty(), "restarted without -r");
    assert_eq!(c.restarts("once"), 0);
    c.close();
}

#[test]
fn config_programs_that_died_while_down_follow_autorestart() {
    let (a, b, x) = (uniq(315), uniq(316), uniq(317));
    let conf = format!(
        "[program:always]\ncmd=/bin/sleep {a}\nautorestart=true\n\n\
         [program:unexpected]\ncmd=/bin/sleep {b}\n\n\
         [program:never]\ncmd=/bin/sleep {x}\nautorestart=false\n"
    );
    let mut c = Crashy::new(Some(&conf));
    for n in ["always", "unexpected", "never"] {
        c.sv.wait_state(n, "RUNNING", 10);
    }
    let pa = c.pid("always");
    let pb = c.pid("unexpected");
    let px = c.pid("never");
    c.crash();
    for p in [pa, pb, px] {
        kill_dead(p, true);
    }
    c.boot();
    let na = c.wait_new_pid("always", pa, "RUNNING", 10);
    let nb = c.wait_new_pid("unexpected", pb, "RUNNING", 10);
    let detail = c.sv.wait_state("never", "EXITED", 10);
    assert!(detail.contains("exit status unknown"), "{detail}");
    assert_eq!(sleeps(&a), vec![na]);
    assert_eq!(sleeps(&b), vec![nb]);
    assert!(sleeps(&x).is_empty(), "autorestart=false was restarted");
    c.close();
}

#[test]
fn a_taken_back_process_that_exits_later_is_handled_by_its_rules() {
    let (pa, ra, na) = (uniq(318), uniq(319), uniq(320));
    let conf = format!("[program:prog]\ncmd=/bin/sleep {pa}\n");
    let mut c = Crashy::new(Some(&conf));
    c.create(&["--name", "r", "/bin/sleep", &ra, "-r", "1"]);
    c.create(&["--name", "n", "/bin/sleep", &na]);
    for n in ["prog", "r", "n"] {
        c.sv.wait_state(n, "RUNNING", 10);
    }
    let old: Vec<i32> = ["prog", "r", "n"].iter().map(|n| c.pid(n)).collect();
    c.crash();
    c.boot();
    for (n, p) in ["prog", "r", "n"].iter().zip(&old) {
        c.sv.wait_state(n, "RUNNING", 5);
        assert_eq!(c.sv.pid(n), Some(*p), "{n} not taken back");
    }
    // Killed by us now that a daemon watches them again: their exit status
    // cannot be known, so it counts as unexpected.
    for p in &old {
        kill_dead(*p, true);
    }
    let prog = c.wait_new_pid("prog", old[0], "RUNNING", 10);
    let r = c.wait_new_pid("r", old[1], "RUNNING", 10);
    let detail = c.sv.wait_state("n", "EXITED", 10);
    assert!(detail.contains("exit status unknown"), "{detail}");
    assert_eq!(c.restarts("r"), 1);
    assert_eq!(sleeps(&pa), vec![prog]);
    assert_eq!(sleeps(&ra), vec![r]);
    assert!(sleeps(&na).is_empty(), "n has no -r and was restarted");
    // r's budget (-r 1) is spent: the next unexpected exit is FATAL.
    kill(r, libc::SIGKILL);
    c.sv.wait_state("r", "FATAL", 10);
    assert!(sleeps(&ra).is_empty());
    c.close();
}

#[test]
fn config_programs_the_dead_daemon_had_not_started_start() {
    let (f, s, o, d) = (uniq(321), uniq(322), uniq(323), uniq(324));
    let conf = format!(
        "[program:first]\ncmd=/bin/sleep {f}\npriority=1\nstartsecs=5\n\n\
         [program:second]\ncmd=/bin/sleep {s}\npriority=2\n\n\
         [program:off]\ncmd=/bin/sleep {o}\nautostart=false\n"
    );
    let mut c = Crashy::new(Some(&conf));
    let (st, _) = c.sv.state("first").expect("first");
    assert_eq!(st, "STARTING", "the test needs first still STARTING");
    // Every level is spawned at once (SPEC §4.2): `second` runs too,
    // while `first` is still STARTING, and is taken back, not doubled.
    let first = c.pid("first");
    let second = c.pid("second");
    c.crash();
    // A program is added to the config while no daemon runs.
    let conf2 = format!("{conf}\n[program:added]\ncmd=/bin/sleep {d}\n");
    std::fs::write(c.conf.as_ref().unwrap(), conf2).unwrap();
    c.boot();
    c.sv.wait_state("second", "RUNNING", 10);
    c.sv.wait_state("added", "RUNNING", 10);
    c.sv.wait_state("first", "RUNNING", 10);
    assert_eq!(c.sv.pid("first"), Some(first), "first was started twice");
    assert_eq!(c.sv.pid("second"), Some(second), "second was started twice");
    let added = c.pid("added");
    assert_eq!(sleeps(&f), vec![first]);
    assert_eq!(sleeps(&s), vec![second]);
    assert_eq!(sleeps(&d), vec![added]);
    let (st, detail) = c.sv.state("off").expect("off");
    assert_eq!((st.as_str(), detail.as_str()), ("STOPPED", "Not started"));
    assert!(sleeps(&o).is_empty(), "autostart=false was started");
    c.close();
}

#[test]
fn pending_ad_hoc_services_still_start_later() {
    let mut c = Crashy::new(None);
    let (l, s) = (uniq(325), uniq(326));
    let t0 = Instant::now();
    let out = c.create(&["--name", "later", "-c", "3", "/bin/sleep", &l]);
    assert!(out.starts_with("later: pending"), "{out}");
    let out = c.create(&["--name", "soon", "-c", "1", "/bin/sleep", &s]);
    assert!(out.starts_with("soon: pending"), "{out}");
    c.crash();
    // `soon` falls due while no daemon runs.
    assert!(wait_until(10, || t0.elapsed() >= Duration::from_millis(1500)));
    assert!(sleeps(&s).is_empty() && sleeps(&l).is_empty());
    c.boot();
    // Overdue: starts at once.
    wait_up(&c, "soon", 3);
    // Not due yet: still PENDING, with the time it has left.
    let (st, detail) = c.sv.state("later").expect("later is forgotten");
    if t0.elapsed() < Duration::from_millis(2800) {
        assert_eq!(st, "PENDING", "{detail}");
        let left = starts_in(&detail);
        assert!((1..=2).contains(&left), "starts in {left} s");
        assert!(sleeps(&l).is_empty(), "started before its time");
    }
    let mut first_seen = None;
    assert!(
        wait_until(10, || {
            if !sleeps(&l).is_empty() {
                first_seen = Some(t0.elapsed());
                true
            } else {
                false
            }
        }),
        "later never started: {:?}",
        c.sv.state("later")
    );
    let at = first_seen.unwrap();
    assert!(
        at >= Duration::from_millis(2900),
        "started after {at:?}, due after 3 s"
    );
    c.sv.wait_state("later", "RUNNING", 10);
    c.sv.wait_state("soon", "RUNNING", 10);
    let lp = c.pid("later");
    let sp = c.pid("soon");
    assert_eq!(sleeps(&l), vec![lp]);
    assert_eq!(sleeps(&s), vec![sp]);
    c.close();
}

#[test]
fn services_stopped_by_command_stay_stopped() {
    let (h, a, m, p) = (uniq(327), uniq(328), uniq(329), uniq(330));
    let conf = format!("[program:held]\ncmd=/bin/sleep {h}\n");
    let mut c = Crashy::new(Some(&conf));
    c.create(&["--name", "adhoc", "/bin/sleep", &a, "-r", "3"]);
    c.create(&["--name", "made", "--create-stopped", "/bin/sleep", &m]);
    c.sv.wait_state("held", "RUNNING", 10);
    c.sv.wait_state("adhoc", "RUNNING", 10);
    c.pid("held");
    c.pid("adhoc");
    assert_eq!(c.sv(&["stop", "held"]).ok(), "held: stopped\n");
    c.sv(&["close-service", "adhoc"]).ok();
    c.sv.wait_state("adhoc", "STOPPED", 10);
    for round in 0..2 {
        c.crash();
        c.boot();
        // Let the new daemon run for a while: a service it starts now must
        // pass startsecs (1 s) before it is RUNNING.
        let probe = format!("probe{round}");
        c.create(&["--name", &probe, "/bin/sleep", &p]);
        c.sv.wait_state(&probe, "RUNNING", 10);
        for n in ["held", "adhoc", "made"] {
            let (st, _) = c.sv.state(n).unwrap_or_else(|| panic!("{n} forgotten"));
            assert_eq!(st, "STOPPED", "{n} after crash {round}");
        }
        assert!(sleeps(&h).is_empty(), "held was started again");
        assert!(sleeps(&a).is_empty(), "adhoc was started again");
        assert!(sleeps(&m).is_empty(), "made was started");
    }
    c.close();
}

#[test]
fn adopted_process_is_watched_again() {
    let mut c = Crashy::new(None);
    let a = uniq(331);
    let mut child: Child = Command::new("/bin/sleep")
        .arg(&a)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    c.strays.add(pid);
    c.sv(&["open-service", &pid.to_string()]).ok();
    c.sv.wait_state("sleep", "RUNNING", 5);
    c.crash();
    c.boot();
    let detail = c.sv.wait_state("sleep", "RUNNING", 5);
    assert!(detail.contains(&format!("pid {pid}")), "{detail}");
    // Its exit is seen (pidfd) and it is not restarted.
    kill(pid, libc::SIGKILL);
    child.wait().expect("reap sleep");
    let detail = c.sv.wait_state("sleep", "EXITED", 5);
    assert!(detail.contains("exit status unknown"), "{detail}");
    assert!(sleeps(&a).is_empty(), "an adopted process was restarted");
    c.close();
}

#[test]
fn adopted_process_that_died_while_down_is_not_forgotten() {
    let mut c = Crashy::new(None);
    let a = uniq(332);
    let mut child: Child = Command::new("/bin/sleep")
        .arg(&a)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    c.strays.add(pid);
    c.sv(&["open-service", &pid.to_string()]).ok();
    c.sv.wait_state("sleep", "RUNNING", 5);
    c.crash();
    kill(pid, libc::SIGKILL);
    child.wait().expect("reap sleep");
    c.boot();
    let seen = c.sv.state("sleep");
    let detail = c.sv.wait_state("sleep", "EXITED", 5);
    assert!(
        detail.contains("exit status unknown"),
        "{detail} ({seen:?})"
    );
    c.close();
}

/// An adopted service stopped by a command before the crash stays
/// STOPPED with its last exit: it did not end while the daemon was down.
#[test]
fn a_stopped_adopted_service_stays_stopped_after_a_crash() {
    let mut c = Crashy::new(None);
    let a = uniq(333);
    let mut child: Child = Command::new("/bin/sleep")
        .arg(&a)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    c.strays.add(pid);
    c.sv(&["open-service", &pid.to_string()]).ok();
    c.sv.wait_state("sleep", "RUNNING", 5);
    c.sv(&["stop", "sleep"]).ok();
    child.wait().expect("reap sleep");
    let before = c.sv.wait_state("sleep", "STOPPED", 5);
    c.crash();
    c.boot();
    let after = c.sv.wait_state("sleep", "STOPPED", 5);
    assert_eq!(after, before);
    c.close();
}

#[test]
fn stopping_a_taken_back_service_ends_though_its_zombie_is_not_reaped() {
    let mut c = Crashy::unbooted(None);
    c.boot_held(false);
    let a = uniq(339);
    c.create(&["--name", "z", "--set", "stopwaitsecs=1", "/bin/sleep", &a]);
    c.sv.wait_state("z", "RUNNING", 10);
    let pid = c.pid("z");
    c.crash();
    c.boot();
    c.sv.wait_state("z", "RUNNING", 5);
    assert_eq!(c.sv.pid("z"), Some(pid));
    // `sv stop z` SIGTERMs it; it dies and, its parent being the holder
    // that never reaps, stays a zombie.
    let mut stop = c.sv.spawn_sv(&["stop", "z"]);
    let done = wait_until(10, || matches!(stop.try_wait(), Ok(Some(_))));
    let dead = !alive(pid);
    let seen = c.sv.state("z");
    // Clean up either way: the holder goes, init reaps the zombie, and
    // the stop can complete.
    c.holders.clear();
    if !wait_until(30, || matches!(stop.try_wait(), Ok(Some(_)))) {
        // Recorded pid: the client this test spawned.
        let _ = stop.kill();
    }
    let out = stop.wait_with_output().expect("sv stop");
    assert!(dead, "pid {pid} did not die");
    assert!(
        done,
        "`sv stop z` did not return within 10 s although pid {pid} was dead (a zombie); \
         status then: {seen:?}; once the zombie was reaped it printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "z: stopped\n");
    c.close();
}

#[test]
fn an_answered_change_survives_an_immediate_sigkill() {
    let mut c = Crashy::new(None);
    let a = uniq(333);
    for k in 0..5 {
        let name = format!("w{k}");
        let out = c.create(&["--name", &name, "/bin/sleep", &a]);
        let pid: i32 = out
            .rsplit("pid ")
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        // SIGKILL as soon as the client has its answer.
        c.crash_now();
        c.boot();
        assert_eq!(
            c.sv.pid(&name),
            Some(pid),
            "round {k}: {name} (pid {pid}, answered `{}`) was forgotten; status: {:?}",
            out.trim(),
            c.sv(&["status"]).stdout
        );
    }
    c.close();
    assert!(sleeps(&a).is_empty());
}

// ---------------------------------------------------------------------------
// Corrupt state, clean close
// ---------------------------------------------------------------------------

/// The `state.bad-*` files of the instance dir.
fn bad_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("state.bad-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `state.bad-SECS` with SECS a number of seconds since the epoch, near now.
#[track_caller]
fn assert_bad_name(path: &Path) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let secs: u64 = name["state.bad-".len()..]
        .parse()
        .unwrap_or_else(|_| panic!("{name}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs <= now && now - secs < 120, "{name}");
}

#[test]
fn corrupt_state_file_is_set_aside_and_the_config_alone_is_used() {
    let a = uniq(334);
    let conf = format!("[program:a]\ncmd=/bin/sleep {a}\n");
    let mut c = Crashy::unbooted(Some(&conf));
    std::fs::create_dir_all(c.dir()).unwrap();
    let garbage: &[u8] = b"\x00\xffthis is not a state file\nsv state\n\x01\x02";
    std::fs::write(c.state_path(), garbage).unwrap();
    c.boot();
    let log = c.log(1);
    assert!(
        log.lines()
            .any(|l| l.contains("state file") && l.contains("refused")),
        "no refusal logged:\n{log}"
    );
    let bad = bad_files(&c.dir());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_bad_name(&bad[0]);
    assert_eq!(
        std::fs::read(&bad[0]).unwrap(),
        garbage,
        "the bytes were not kept"
    );
    assert!(
        log.contains(&bad[0].display().to_string()),
        "the log does not say where it went:\n{log}"
    );
    c.sv.wait_state("a", "RUNNING", 10);
    assert_eq!(c.names(), vec!["a"]);
    let pid = c.pid("a");
    assert_eq!(sleeps(&a), vec![pid]);
    // A good state file replaces it.
    c.sv(&["status"]).ok();
    let bytes = std::fs::read(c.state_path()).expect("a new state file");
    assert!(bytes.starts_with(b"sv state 3\n"));
    c.close();
    assert_eq!(bad_files(&c.dir()).len(), 1, "close removed the kept file");
}

#[test]
fn truncated_state_file_is_refused_too() {
    let (a, x) = (uniq(335), uniq(336));
    let conf = format!("[program:a]\ncmd=/bin/sleep {a}\n");
    let mut c = Crashy::new(Some(&conf));
    c.create(&["--name", "x", "/bin/sleep", &x]);
    c.sv.wait_state("a", "RUNNING", 10);
    c.sv.wait_state("x", "RUNNING", 10);
    let old_a = c.pid("a");
    let old_x = c.pid("x");
    c.crash();
    let full = std::fs::read(c.state_path()).unwrap();
    let cut = &full[..full.len() - 5];
    std::fs::write(c.state_path(), cut).unwrap();
    c.boot();
    let log = c.log(2);
    assert!(
        log.lines()
            .any(|l| l.contains("refused") && l.contains("truncated")),
        "{log}"
    );
    let bad = bad_files(&c.dir());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(std::fs::read(&bad[0]).unwrap(), cut);
    // The file cannot tell, but the processes can (their marker): both
    // are taken back, nothing runs twice.
    assert_eq!(c.sv.pid("a"), Some(old_a), "{log}");
    assert_eq!(c.sv.pid("x"), Some(old_x), "{log}");
    assert_eq!(c.names(), vec!["a", "x"]);
    assert_eq!(sleeps(&a), vec![old_a]);
    c.close();
    for p in [old_a, old_x] {
        assert!(wait_until(10, || !alive(p)), "pid {p} left after close");
    }
}

#[test]
fn clean_close_clears_the_state_and_the_next_start_is_from_the_config() {
    let (a, x) = (uniq(337), uniq(338));
    let conf = format!("[program:a]\ncmd=/bin/sleep {a}\n");
    let mut c = Crashy::new(Some(&conf));
    c.create(&["--name", "x", "/bin/sleep", &x, "-r", "3"]);
    c.sv.wait_state("a", "RUNNING", 10);
    c.sv.wait_state("x", "RUNNING", 10);
    let old_a = c.pid("a");
    let old_x = c.pid("x");
    c.close();
    assert!(!c.state_path().exists(), "close left the state file");
    assert!(!alive(old_a) && !alive(old_x), "close left a process");
    c.boot();
    let log = c.log(2);
    assert!(!log.contains("taking back"), "{log}");
    let new_a = c.wait_new_pid("a", old_a, "RUNNING", 10);
    assert_eq!(c.names(), vec!["a"], "x came back after a clean close");
    assert_eq!(sleeps(&a), vec![new_a]);
    assert!(sleeps(&x).is_empty());
    c.close();
}

// ---------------------------------------------------------------------------
// Output across the daemon's death
// ---------------------------------------------------------------------------

#[test]
fn output_goes_on_across_the_daemons_death_without_a_gap() {
    let mut c = Crashy::new(None);
    let counter = c.sv.work.path().join("counter");
    let script = format!(
        "i=0; while :; do echo $i; echo $i > '{}'; i=$((i+1)); sleep 0.01; done",
        counter.display()
    );
    c.create(&["--name", "count", "/bin/sh", "--", "-c", &script]);
    let log_path = log_path(&c.sv, "count", "stdout");
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let last_logged = |text: &str| numbers(text).last().copied().flatten();
    let read_counter = || -> Option<u64> {
        std::fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    };
    assert!(
        wait_until(10, || last_logged(&read_log()).is_some_and(|n| n >= 20)),
        "the log never grew: {:?}",
        read_log()
    );
    let pid = c.pid("count");
    c.crash();
    let frozen = read_log();
    let at_crash = last_logged(&frozen).unwrap();
    // The child goes on while no daemon reads its pipe.
    assert!(
        wait_until(20, || read_counter().is_some_and(|n| n >= at_crash + 100)),
        "the child stopped while the daemon was dead: counter {:?}, log at {at_crash}",
        read_counter()
    );
    assert!(alive(pid), "the child died with the daemon (SIGPIPE?)");
    assert_eq!(
        std::fs::read_to_string(&log_path).unwrap().len(),
        frozen.len(),
        "someone wrote the log while no daemon ran"
    );
    let while_dead = read_counter().unwrap();
    c.boot();
    assert_eq!(c.sv.pid("count"), Some(pid), "not taken back");
    assert!(
        wait_until(20, || last_logged(&read_log())
            .is_some_and(|n| n >= while_dead + 20)),
        "the log did not catch up: last {:?}, counter {while_dead}",
        last_logged(&read_log())
    );
    assert!(alive(pid));
    let got = numbers(&read_log());
    let want: Vec<Option<u64>> = (0..got.len() as u64).map(Some).collect();
    if got != want {
        let first_bad = got
            .iter()
            .zip(&want)
            .position(|(g, w)| g != w)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "the log is not 0..{} without a gap: first difference at line {first_bad}: {:?}",
            got.len(),
            &got[first_bad.saturating_sub(3)..(first_bad + 3).min(got.len())]
        );
    }
    c.close();
    assert!(wait_until(5, || !alive(pid)));
}

// ---------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------

#[test]
fn ten_sigkills_in_a_row_with_five_services_running() {
    let mut c = Crashy::new(None);
    let names: Vec<String> = (1..=5).map(|k| format!("s{k}")).collect();
    let args: Vec<String> = (1..=5).map(|k| uniq(3770 + k)).collect();
    for (n, a) in names.iter().zip(&args) {
        c.create(&["--name", n, "/bin/sleep", a, "-r", "3"]);
    }
    for n in &names {
        c.sv.wait_state(n, "RUNNING", 10);
    }
    let pids: Vec<i32> = names.iter().map(|n| c.pid(n)).collect();
    let starts: Vec<Option<u64>> = pids.iter().map(|p| start_time(*p)).collect();
    for round in 1..=10 {
        c.crash();
        c.boot();
        let mut listed = c.names();
        listed.sort();
        assert_eq!(listed, names, "round {round}");
        for ((n, a), (p, t)) in names.iter().zip(&args).zip(pids.iter().zip(&starts)) {
            let (st, detail) = c.sv.state(n).unwrap_or_else(|| panic!("{n} forgotten"));
            assert_eq!(st, "RUNNING", "round {round}: {n} {detail}");
            assert_eq!(c.sv.pid(n), Some(*p), "round {round}: {n} has a new pid");
            assert_eq!(start_time(*p), *t, "round {round}: {n} is another process");
            assert_eq!(
                sleeps(a),
                vec![*p],
                "round {round}: {n} must have exactly one process"
            );
            assert_eq!(c.restarts(n), 0, "round {round}: {n} was restarted");
        }
        let log = c.log(c.boots);
        assert_eq!(
            log.matches("adopted back pid").count(),
            5,
            "round {round}:\n{log}"
        );
        assert!(
            !log.contains("spawned"),
            "round {round}: something was spawned:\n{log}"
        );
    }
    c.close();
    for (p, a) in pids.iter().zip(&args) {
        assert!(wait_until(5, || !alive(*p)), "close left {p}");
        assert!(sleeps(a).is_empty());
    }
}
