//! SPEC 5: the config keys that decide restarts and stops (autorestart and
//! exitcodes, startsecs, startretries, stopsignal, stopwaitsecs,
//! stopasgroup), checked by their effect on a real child.
//!
//! Helpers shared with the other spec_5_config_effects_* files (the
//! instance, a daemon on a config, a file the child writes) are in
//! tests/common/config_effects.rs.
mod common;
use common::config_effects::{read, start, wait_file};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn line_count(path: &Path) -> usize {
    read(path).lines().count()
}

// -------------------------------------------------- autorestart, exitcodes

/// A program that counts its runs in `NAME.runs`, lives 0.2 s, exits CODE.
fn runner(name: &str, code: i32, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'echo run >> {name}.runs; sleep 0.2; exit {code}'\nstartsecs=0\n{extra}\n"
    )
}

#[test]
fn autorestart_and_exitcodes() {
    let sv = start(&format!(
        "{}{}{}{}{}",
        runner("never", 0, "autorestart=false"),
        runner("always", 0, "autorestart=true"),
        runner("expected", 2, "autorestart=unexpected\nexitcodes=0,2"),
        runner("unexpected", 3, "autorestart=unexpected\nexitcodes=0,2"),
        runner("default", 1, ""),
    ));
    let w = sv.work.path();
    let detail = sv.wait_state("never", "EXITED", 10);
    assert_eq!(detail, "exit 0");
    let detail = sv.wait_state("expected", "EXITED", 10);
    assert_eq!(detail, "exit 2");
    // Restarted at once after each exit (they ran past startsecs=0).
    assert!(wait_until(10, || line_count(&w.join("always.runs")) >= 3));
    assert!(wait_until(10, || line_count(&w.join("unexpected.runs")) >= 3));
    // Default autorestart is unexpected with exitcodes=0: exit 1 restarts.
    assert!(wait_until(10, || line_count(&w.join("default.runs")) >= 3));
    assert_eq!(line_count(&w.join("never.runs")), 1);
    assert_eq!(line_count(&w.join("expected.runs")), 1);
    assert_eq!(sv.state("never").unwrap().0, "EXITED");
}

// --------------------------------------------------- startsecs, startretries

#[test]
fn startsecs_decides_when_a_start_counts() {
    let t = Instant::now();
    let sv = start(concat!(
        "[program:slow]\ncommand=/bin/sleep 60\nstartsecs=2\n",
        // Lives 0.5 s: started with startsecs=0, too quick with startsecs=3.
        "[program:ok]\ncommand=/bin/sh -c 'sleep 0.5; exit 1'\nstartsecs=0\nautorestart=false\n",
        "[program:quick]\ncommand=/bin/sh -c 'sleep 0.5; exit 1'\nstartsecs=3\nstartretries=1\nautorestart=false\n",
    ));
    assert_eq!(sv.state("slow").unwrap().0, "STARTING");
    sv.wait_state("slow", "RUNNING", 10);
    assert!(
        t.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(sv.wait_state("ok", "EXITED", 10), "exit 1");
    assert_eq!(
        sv.wait_state("quick", "FATAL", 10),
        "Exited too quickly (process log may have details)"
    );
}

#[test]
fn startretries_counts_attempts() {
    let sv = start(concat!(
        "[program:two]\ncommand=/bin/sh -c 'echo x >> two.tries; exit 1'\nstartsecs=3\nstartretries=2\n",
        "[program:one]\ncommand=/bin/sh -c 'echo x >> one.tries; exit 1'\nstartsecs=3\nstartretries=1\n",
        "[program:forever]\ncommand=/bin/sh -c 'echo x >> forever.tries; exit 1'\nstartsecs=3\nstartretries=0\n",
    ));
    let w = sv.work.path();
    sv.wait_state("one", "FATAL", 10);
    assert_eq!(line_count(&w.join("one.tries")), 1);
    sv.wait_state("two", "FATAL", 10);
    assert_eq!(line_count(&w.join("two.tries")), 2);
    // 0 keeps trying: a fourth attempt (after 1 + 2 + 3 s), not FATAL.
    assert!(wait_until(15, || line_count(&w.join("forever.tries")) >= 4));
    let (state, _) = sv.state("forever").unwrap();
    assert!(
        state == "BACKOFF" || state == "STARTING",
        "forever is {state}"
    );
}

// ---------------------------------------------- stopsignal, stopwaitsecs

/// Records which of USR1, TERM, HUP it got in `got-NAME`, then exits 0;
/// `ready-NAME` says its traps are set.
fn trapper(name: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'for s in USR1 TERM HUP; do trap \"echo $s > got-{name}; exit 0\" $s; done; touch ready-{name}; while :; do sleep 0.05; done'\nstartsecs=0\n{extra}\n"
    )
}

#[test]
fn stopsignal_by_name_prefixed_name_or_number() {
    let sv = start(&format!(
        "{}{}{}{}",
        trapper("byname", "stopsignal=USR1"),
        trapper("prefixed", "stopsignal=SIGHUP"),
        trapper("number", "stopsignal=10"),
        trapper("default", ""),
    ));
    for n in ["byname", "prefixed", "number", "default"] {
        sv.wait_state(n, "RUNNING", 10);
        let ready = sv.work.path().join(format!("ready-{n}"));
        assert!(wait_until(10, || ready.exists()));
    }
    let r = sv.sv(&["stop", "all"]);
    r.ok();
    let w = sv.work.path();
    wait_file(&w.join("got-byname"), "USR1\n");
    wait_file(&w.join("got-prefixed"), "HUP\n");
    wait_file(&w.join("got-number"), "USR1\n");
    wait_file(&w.join("got-default"), "TERM\n");
}

#[test]
fn stopwaitsecs_then_sigkill() {
    let sv = start(
        "[program:stubborn]\ncommand=/bin/sh -c 'trap \"\" TERM; touch ready; while :; do sleep 0.05; done'\nstopwaitsecs=1\nstartsecs=0\n",
    );
    sv.wait_state("stubborn", "RUNNING", 10);
    // TERM is ignored from here on.
    assert!(wait_until(10, || sv.work.path().join("ready").exists()));
    let pid = sv.pid("stubborn").unwrap();
    let t = Instant::now();
    let r = sv.sv(&["stop", "stubborn"]);
    let took = t.elapsed();
    assert_eq!(r.ok(), "stubborn: stopped\n");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!alive(pid));
    let (state, detail) = sv.state("stubborn").unwrap();
    assert_eq!(state, "STOPPED");
    assert!(detail.contains("SIGKILL"), "{detail}");
}

// -------------------------------------------------- stopasgroup/killasgroup

fn family(name: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'sleep 60 & echo $! > {name}.gc; wait'\nstartsecs=0\n{extra}\n"
    )
}

fn grandchild(sv: &Sv, name: &str) -> i32 {
    let path = sv.work.path().join(format!("{name}.gc"));
    assert!(wait_until(10, || read(&path).ends_with('\n')));
    read(&path).trim().parse().unwrap()
}

#[test]
fn stopasgroup_signals_the_whole_group() {
    let sv = start(&format!(
        "{}{}{}",
        family("grouped", "stopasgroup=true\nkillasgroup=true"),
        family("default", ""),
        family("single", "stopasgroup=false\nkillasgroup=false"),
    ));
    for n in ["grouped", "default", "single"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    let g1 = grandchild(&sv, "grouped");
    let g2 = grandchild(&sv, "default");
    let g3 = grandchild(&sv, "single");
    assert!(alive(g1) && alive(g2) && alive(g3));
    let r = sv.sv(&["stop", "all"]);
    r.ok();
    assert!(wait_until(5, || !alive(g1)), "grouped grandchild left");
    assert!(wait_until(5, || !alive(g2)), "default grandchild left");
    // Only the process itself got the signal: its child lives on.
    let survived = alive(g3);
    // Recorded pid: the grandchild this test's program started.
    kill(g3, libc::SIGKILL);
    assert!(survived, "stopasgroup=false still signalled the group");
}
