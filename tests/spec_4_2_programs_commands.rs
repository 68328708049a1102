//! SPEC 4.2 (the supervisord-style command set on programs from a config
//! file: status, start, stop, restart, targets, priority, the shell) and 11
//! (their fine points), run against a real daemon per test.
//!
//! Helpers shared with the other spec_4_2_programs_* files (the instance,
//! a daemon on a config, the status rows) are in tests/common/programs.rs.
mod common;
use common::programs::{names, rows, sleeper, start, N};
use common::*;
use std::time::{Duration, Instant};

/// Each line with its runs of blanks squeezed to one space.
fn norm(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The status table's STATE and detail columns start at the same offset
/// in every row.
#[track_caller]
fn assert_aligned(out: &str) {
    let starts = |l: &str| -> Vec<usize> {
        let mut v = Vec::new();
        let b = l.as_bytes();
        for i in 1..b.len() {
            if b[i] != b' ' && b[i - 1] == b' ' {
                v.push(i);
            }
        }
        v
    };
    let cols: Vec<(usize, usize)> = out
        .lines()
        .map(|l| {
            let s = starts(l);
            (s[0], s[1])
        })
        .collect();
    assert!(cols.windows(2).all(|w| w[0] == w[1]), "not aligned:\n{out}");
}

// ------------------------------------------- status/start/stop/restart (4.2)

#[test]
fn status_start_stop_restart_print_like_supervisorctl() {
    let sv = start(&format!(
        "{}{}",
        sleeper("web", ""),
        sleeper("db", "autostart=false")
    ));
    sv.wait_state("web", "RUNNING", 10);
    let pid = sv.pid("web").expect("web pid");

    let r = sv.sv(&["status", "db"]);
    assert_eq!(norm(r.ok()), ["db STOPPED Not started"]);
    let r = sv.sv(&["status"]);
    let out = r.ok();
    let lines = norm(out);
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!("web RUNNING pid {pid}, uptime 0:00:")),
        "{out}"
    );
    assert_eq!(lines[1], "db STOPPED Not started", "{out}");
    assert_aligned(out);

    let r = sv.sv(&["start", "web"]);
    assert_eq!(r.code, 1, "{r:?}");
    // Errors go to stderr (SPEC 1).
    assert_eq!(r.stderr, "web: ERROR (already started)\n", "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");

    let r = sv.sv(&["start", "db"]);
    assert_eq!(r.ok(), "db: started\n");
    assert_eq!(sv.state("db").unwrap().0, "RUNNING");

    let r = sv.sv(&["stop", "web"]);
    assert_eq!(r.ok(), "web: stopped\n");
    assert_eq!(sv.state("web").unwrap().0, "STOPPED");
    assert!(wait_until(5, || !alive(pid)));

    let dbpid = sv.pid("db").expect("db pid");
    let r = sv.sv(&["restart", "db"]);
    assert_eq!(r.ok(), "db: stopped\ndb: started\n");
    let newpid = sv.pid("db").expect("db pid");
    assert_ne!(newpid, dbpid);
    assert!(!alive(dbpid));
    assert!(alive(newpid));

    // Restarting a stopped program only starts it.
    let r = sv.sv(&["restart", "web"]);
    assert!(r.ok().ends_with("web: started\n"), "{r:?}");
    assert_eq!(sv.state("web").unwrap().0, "RUNNING");

    // Status exits 0 whatever the states; unknown names fail.
    let r = sv.sv(&["stop", "all"]);
    r.ok();
    assert_eq!(sv.sv(&["status"]).code, 0);
    let r = sv.sv(&["status", "nosuch"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("nosuch"), "{r:?}");
    let r = sv.sv(&["start", "nosuch"]);
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn start_waits_past_startsecs() {
    let sv = start("[program:slow]\ncommand=/bin/sleep 60\nstartsecs=1\nautostart=false\n");
    let t = Instant::now();
    let r = sv.sv(&["start", "slow"]);
    let took = t.elapsed();
    assert_eq!(r.ok(), "slow: started\n");
    assert!(
        took >= Duration::from_millis(900),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "returned after {took:?}");
    // Already RUNNING when start returns.
    assert_eq!(sv.state("slow").unwrap().0, "RUNNING");
}

#[test]
fn start_of_a_program_that_exits_quickly_fails_after_its_retries() {
    let sv = start(
        "[program:quick]\ncommand=/bin/sh -c 'echo try >> tries; exit 1'\nstartsecs=3\nstartretries=2\nautostart=false\n",
    );
    let r = sv.sv(&["start", "quick"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr, "quick: ERROR (Exited too quickly (process log may have details))\n",
        "{r:?}"
    );
    let (state, detail) = sv.state("quick").unwrap();
    assert_eq!(state, "FATAL");
    assert_eq!(detail, "Exited too quickly (process log may have details)");
    assert_eq!(lines_of(&sv.work.path().join("tries")).len(), 2);
}

#[test]
fn start_of_a_missing_executable_fails_at_once() {
    let sv = start("[program:ghost]\ncommand=/nonexistent/ghost\nautostart=false\n");
    let t = Instant::now();
    let r = sv.sv(&["start", "ghost"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr, "ghost: ERROR (spawn error: No such file or directory)\n",
        "{r:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    let (state, detail) = sv.state("ghost").unwrap();
    assert_eq!(state, "FATAL");
    assert_eq!(detail, "spawn error: No such file or directory");
}

// ------------------------------------------------------------ targets (4.2)

#[test]
fn targets_program_copies_groups_and_all() {
    let sv = start(&format!(
        "[program:x]\ncommand=/bin/sleep 60\nnumprocs=3\nprocess_name=%(program_name)s_%(process_num)02d\nstartsecs=0\n{}{}[group:g]\nprograms=y,z\n",
        sleeper("y", ""),
        sleeper("z", ""),
    ));
    for n in ["x:x_00", "x:x_01", "x:x_02", "g:y", "g:z"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    assert_eq!(names(&sv), ["x:x_00", "x:x_01", "x:x_02", "g:y", "g:z"]);

    let r = sv.sv(&["status", "x:*"]);
    let got: Vec<&str> = r
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(got, ["x:x_00", "x:x_01", "x:x_02"]);

    let r = sv.sv(&["stop", "x:*"]);
    assert_eq!(
        r.ok(),
        "x:x_00: stopped\nx:x_01: stopped\nx:x_02: stopped\n"
    );
    assert_eq!(
        rows(&sv)
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>(),
        ["STOPPED", "STOPPED", "STOPPED", "RUNNING", "RUNNING"]
    );

    let r = sv.sv(&["stop", "g:*"]);
    assert_eq!(r.ok(), "g:y: stopped\ng:z: stopped\n");
    let r = sv.sv(&["start", "g:*"]);
    assert_eq!(r.ok(), "g:y: started\ng:z: started\n");
    let r = sv.sv(&["start", "x:*"]);
    assert_eq!(
        r.ok(),
        "x:x_00: started\nx:x_01: started\nx:x_02: started\n"
    );

    // A single copy by its name.
    let r = sv.sv(&["stop", "x_01"]);
    assert_eq!(r.ok(), "x:x_01: stopped\n");

    let r = sv.sv(&["stop", "all"]);
    let out = r.ok();
    let mut stopped: Vec<&str> = out.lines().collect();
    stopped.sort();
    assert_eq!(
        stopped,
        [
            "g:y: stopped",
            "g:z: stopped",
            "x:x_00: stopped",
            "x:x_02: stopped"
        ],
        "{out}"
    );
    assert!(rows(&sv).iter().all(|(_, s)| s == "STOPPED"));

    let r = sv.sv(&["start", "all"]);
    let out = r.ok();
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(out.lines().all(|l| l.ends_with(": started")), "{out}");
    assert!(rows(&sv).iter().all(|(_, s)| s == "RUNNING"));

    // Several targets in one command, and a target by pid.
    let pid = sv.pid("g:y").unwrap();
    let r = sv.sv(&["stop", &pid.to_string(), "z"]);
    assert_eq!(r.ok(), "g:y: stopped\ng:z: stopped\n");
    let r = sv.sv(&["status", "nosuch:*"]);
    assert_ne!(r.code, 0, "{r:?}");
}

// ----------------------------------------------------------- priority (4.2)

/// A program that appends NAME to `order` once its TERM trap is set, and
/// `stop-NAME` when it gets SIGTERM.
fn ordered(name: &str, priority: u32) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'trap \"echo stop-{name} >> order; exit 0\" TERM; echo {name} >> order; while :; do sleep 0.05; done'\npriority={priority}\nstartsecs=1\n"
    )
}

#[track_caller]
fn assert_levels(got: &[String], levels: &[&[&str]]) {
    let mut at = 0;
    for level in levels {
        let mut part: Vec<&str> = got
            .get(at..at + level.len())
            .unwrap_or_else(|| panic!("too few lines: {got:?}"))
            .iter()
            .map(String::as_str)
            .collect();
        part.sort();
        let mut want = level.to_vec();
        want.sort();
        assert_eq!(part, want, "order {got:?}");
        at += level.len();
    }
    assert_eq!(at, got.len(), "order {got:?}");
}

/// The daemon's log (its stderr) from byte `from` on, without the
/// `supervisor N: ` prefix.
fn events(sv: &Sv, from: usize) -> Vec<String> {
    let text = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap_or_default();
    let prefix = format!("supervisor {N}: ");
    text.get(from..)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// From the daemon's own log: every level is spawned, in priority order,
/// before any process counts as RUNNING: no level waits for the one
/// before to be RUNNING (SPEC §4.2, as supervisord). The order shows in
/// the pids, which the kernel hands out rising (barring a wrap at pid_max).
#[track_caller]
fn assert_start_levels(ev: &[String], levels: &[&[&str]]) {
    let at = |name: &str, what: &str| -> usize {
        let want = format!("{name}: {what}");
        ev.iter()
            .position(|e| e.starts_with(&want))
            .unwrap_or_else(|| panic!("no '{want}' in the daemon's log: {ev:#?}"))
    };
    let pid = |name: &str| -> i64 {
        let e = &ev[at(name, "spawned pid ")];
        let rest = &e[format!("{name}: spawned pid ").len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or_else(|_| panic!("no pid in {e}"))
    };
    let all: Vec<&str> = levels.iter().flat_map(|l| l.iter().copied()).collect();
    let last_spawn = all.iter().map(|n| at(n, "spawned")).max().unwrap();
    let first_up = all
        .iter()
        .map(|n| at(n, "STARTING -> RUNNING"))
        .min()
        .unwrap();
    assert!(
        last_spawn < first_up,
        "a level waited for the one before to be RUNNING: {ev:#?}"
    );
    for pair in levels.windows(2) {
        let before = pair[0].iter().map(|n| pid(n)).max().unwrap();
        let after = pair[1].iter().map(|n| pid(n)).min().unwrap();
        assert!(
            before < after || before - after > pid_max() / 2,
            "{:?} spawned before {:?}: {ev:#?}",
            pair[1],
            pair[0]
        );
    }
}

#[test]
fn priority_orders_start_and_reverses_stop() {
    // Written out of order on purpose.
    let sv = start(&format!(
        "{}{}{}{}",
        ordered("c", 30),
        ordered("a1", 10),
        ordered("b", 20),
        ordered("a2", 10)
    ));
    let order = sv.work.path().join("order");
    for n in ["a1", "a2", "b", "c"] {
        sv.wait_state(n, "RUNNING", 15);
    }
    let levels: &[&[&str]] = &[&["a1", "a2"], &["b"], &["c"]];
    assert_start_levels(&events(&sv, 0), levels);
    // Every TERM trap is set before the stop.
    assert!(wait_until(10, || lines_of(&order).len() == 4));
    let mut started = lines_of(&order);
    started.sort();
    assert_eq!(started, ["a1", "a2", "b", "c"]);

    std::fs::remove_file(&order).unwrap();
    let r = sv.sv(&["stop", "all"]);
    r.ok();
    assert_levels(
        &lines_of(&order),
        &[&["stop-c"], &["stop-b"], &["stop-a1", "stop-a2"]],
    );

    std::fs::remove_file(&order).unwrap();
    let from = log_len(&sv);
    let r = sv.sv(&["start", "all"]);
    let out = r.ok();
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.lines().all(|l| l.ends_with(": started")), "{out}");
    assert_start_levels(&events(&sv, from), levels);
    assert!(wait_until(10, || lines_of(&order).len() == 4));
}

#[test]
fn close_stops_in_reverse_priority() {
    let mut sv = start(&format!(
        "{}{}{}",
        ordered("b", 20),
        ordered("a", 10),
        ordered("c", 30)
    ));
    for n in ["a", "b", "c"] {
        sv.wait_state(n, "RUNNING", 15);
    }
    let order = sv.work.path().join("order");
    assert!(wait_until(10, || lines_of(&order).len() == 3));
    std::fs::remove_file(&order).unwrap();
    assert_eq!(sv.close().ok(), format!("supervisor {N}: stopped\n"));
    assert_eq!(lines_of(&order), ["stop-c", "stop-b", "stop-a"]);
}

#[test]
fn restart_all_stops_everything_then_starts_by_priority() {
    let sv = start(&format!(
        "{}{}{}{}",
        ordered("c", 30),
        ordered("a1", 10),
        ordered("b", 20),
        ordered("a2", 10)
    ));
    for n in ["a1", "a2", "b", "c"] {
        sv.wait_state(n, "RUNNING", 15);
    }
    let order = sv.work.path().join("order");
    assert!(wait_until(10, || lines_of(&order).len() == 4));
    std::fs::remove_file(&order).unwrap();
    let from = log_len(&sv);
    let r = sv.sv(&["restart", "all"]);
    let out = r.ok();
    let ev = events(&sv, from);
    // Nothing is spawned before everything has stopped.
    let first_spawn = ev.iter().position(|e| e.contains(": spawned")).unwrap();
    let last_stop = ev
        .iter()
        .rposition(|e| e.ends_with("STOPPING -> STOPPED"))
        .unwrap();
    assert!(last_stop < first_spawn, "{ev:#?}");
    assert_start_levels(&ev, &[&["a1", "a2"], &["b"], &["c"]]);
    // Both lines for each, its stop before its start.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    for n in ["a1", "a2", "b", "c"] {
        let stopped = lines.iter().position(|l| *l == format!("{n}: stopped"));
        let started = lines.iter().position(|l| *l == format!("{n}: started"));
        assert!(
            stopped.is_some() && started.is_some() && stopped < started,
            "{out}"
        );
    }
    assert!(wait_until(10, || lines_of(&order).len() == 8));
    let got = lines_of(&order);
    assert_levels(
        &got[..4],
        &[&["stop-c"], &["stop-b"], &["stop-a1", "stop-a2"]],
    );
    let mut started = got[4..].to_vec();
    started.sort();
    assert_eq!(started, ["a1", "a2", "b", "c"]);
}

// -------------------------------------------------------------- shell (4.2)

fn shell(sv: &Sv, args: &[&str], input: &str) -> (i32, String, String) {
    sv_with_input(sv, args, input.as_bytes())
}

#[test]
fn shell_runs_commands_from_a_pipe() {
    let sv = start(&format!("{}{}", sleeper("web", ""), sleeper("db", "")));
    sv.wait_state("web", "RUNNING", 10);
    sv.wait_state("db", "RUNNING", 10);
    let n = N.to_string();
    let (code, out, err) = shell(
        &sv,
        &["shell", "-i", &n],
        "status\nstop web\nstatus\nexit\nstop db\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines = norm(&out);
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].starts_with("web RUNNING pid "), "{out}");
    assert!(lines[1].starts_with("db RUNNING pid "), "{out}");
    assert_eq!(lines[2], "web: stopped", "{out}");
    assert_eq!(lines[3], "web STOPPED Stopped (killed by SIGTERM)", "{out}");
    assert!(lines[4].starts_with("db RUNNING pid "), "{out}");
    // No prompt on a pipe; nothing after `exit` ran.
    assert!(!out.contains("sv:"), "{out}");
    assert_eq!(sv.state("db").unwrap().0, "RUNNING");

    // `sv -i N` with no command is the shell too; `help` prints help.
    let (code, out, err) = shell(&sv, &["-i", &n], "help\nstart web\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("help"), "{out}");
    assert!(out.contains("exit"), "{out}");
    assert!(out.ends_with("web: started\n"), "{out}");
    assert_eq!(sv.state("web").unwrap().0, "RUNNING");

    // A failing line does not stop the rest; the exit status reports it.
    let (code, out, err) = shell(&sv, &["shell", "-i", &n], "start web\nstop db\n");
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err, "web: ERROR (already started)\n");
    assert_eq!(out, "db: stopped\n");
    let (code, _out, err) = shell(&sv, &["shell", "-i", &n], "frobnicate\n");
    assert_ne!(code, 0);
    assert!(err.contains("frobnicate"), "{err}");
}

/// A status larger than one frame (1 MiB) arrives whole, in parts.
#[test]
fn status_of_thousands_of_services_arrives_whole() {
    let conf: String = ["a", "b", "c"]
        .iter()
        .map(|p| {
            format!(
                "[program:{p}]\ncommand=/bin/sleep 100 {}\nnumprocs=1000\nautostart=false\n",
                "x".repeat(300)
            )
        })
        .collect();
    let sv = start(&conf);
    let r = sv.sv(&["status"]);
    let lines: Vec<&str> = r.ok().lines().collect();
    assert_eq!(lines.len(), 3000);
    assert!(lines[0].starts_with("a:a_00 "), "{}", lines[0]);
    assert!(lines[2999].starts_with("c:c_999 "), "{}", lines[2999]);
    assert!(lines.iter().all(|l| l.contains("STOPPED")));
    let json = sv.sv(&["status", "--json"]);
    assert_eq!(json.ok().matches("\"state\":\"STOPPED\"").count(), 3000);
}
