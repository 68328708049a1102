//! SPEC §4.2 and §11, start order: `start all`, the daemon's autostart and
//! the autostart of programs added by `reload` spawn every priority level
//! at once, lowest first, without waiting for one level to be RUNNING; a
//! program that never starts holds back no other. `restart` stops every
//! target before it starts any. `create-service` waits like `start`
//! unless `--no-wait`.
//!
//! Order is read from the daemon's own log (its stderr), never from
//! timing: every `spawned` line comes before the first `RUNNING` when
//! nothing waits for a level, and the spawned pids follow the priorities.

mod common;
use common::*;

const N: u8 = 12;

fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

/// The daemon's log lines so far, from byte `from` on.
fn log_from(sv: &Sv, from: usize) -> Vec<String> {
    let text = std::fs::read(sv.work.path().join("daemon.err")).unwrap_or_default();
    String::from_utf8_lossy(text.get(from..).unwrap_or(&[]))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Index of the first log line that has `NAME: what`.
#[track_caller]
fn at(log: &[String], name: &str, what: &str) -> usize {
    let want = format!("{name}: {what}");
    log.iter()
        .position(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("no '{want}' in the daemon's log: {log:#?}"))
}

/// The pid of the first `NAME: spawned pid P` line.
#[track_caller]
fn spawned_pid(log: &[String], name: &str) -> i64 {
    let line = &log[at(log, name, "spawned pid ")];
    let rest = &line[line.find(&format!("{name}: spawned pid ")).unwrap()
        + name.len()
        + ": spawned pid ".len()..];
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no pid in {line}"))
}

/// Waits until the log has `NAME: what` for every name.
#[track_caller]
fn wait_log(sv: &Sv, from: usize, names: &[String], what: &str) -> Vec<String> {
    let mut log = Vec::new();
    let ok = wait_until(20, || {
        log = log_from(sv, from);
        names
            .iter()
            .all(|n| log.iter().any(|l| l.contains(&format!("{n}: {what}"))))
    });
    assert!(ok, "not every one of {names:?} logged '{what}': {log:#?}");
    log
}

/// Every program was spawned before the first of them was RUNNING (no
/// level waited for the one before), in priority order: the pids of
/// `names` (lowest priority first) rise, as the kernel hands them out.
#[track_caller]
fn assert_spawned_at_once(log: &[String], names: &[String]) {
    let last_spawn = names.iter().map(|n| at(log, n, "spawned")).max().unwrap();
    let first_up = names
        .iter()
        .map(|n| at(log, n, "STARTING -> RUNNING"))
        .min()
        .unwrap();
    assert!(
        last_spawn < first_up,
        "a level waited for the one before to be RUNNING: {log:#?}"
    );
    let pids: Vec<i64> = names.iter().map(|n| spawned_pid(log, n)).collect();
    // Pids wrap around at pid_max; a wrap in the middle is not an order.
    let wrapped = pids.iter().max().unwrap() - pids.iter().min().unwrap() > pid_max() / 2;
    if !wrapped {
        assert!(
            pids.windows(2).all(|w| w[0] < w[1]),
            "not spawned in priority order: {names:?} got pids {pids:?}"
        );
    }
}

/// Nine programs at nine priorities, written in reverse order, startsecs=1.
fn nine() -> (String, Vec<String>) {
    let names: Vec<String> = (1..=9).map(|i| format!("lvl{i}")).collect();
    let conf = names
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| {
            format!(
                "[program:{n}]\ncommand=/bin/sleep 600\npriority={}\nstartsecs=1\n\n",
                (i + 1) * 10
            )
        })
        .collect();
    (conf, names)
}

#[test]
fn nine_levels_are_spawned_without_waiting_at_startup_and_on_start_all() {
    let (conf, names) = nine();
    let sv = start(&conf);
    // The daemon's autostart.
    let log = wait_log(&sv, 0, &names, "STARTING -> RUNNING");
    assert_spawned_at_once(&log, &names);

    let r = sv.sv(&["stop", "all"]);
    assert_eq!(r.ok().lines().count(), 9, "{r:?}");
    let from = log_len(&sv);
    // `start all` still answers once every one is RUNNING.
    let r = sv.sv(&["start", "all"]);
    let mut got: Vec<&str> = r.ok().lines().collect();
    got.sort();
    let want: Vec<String> = names.iter().map(|n| format!("{n}: started")).collect();
    assert_eq!(got, want, "{r:?}");
    let log = log_from(&sv, from);
    assert_spawned_at_once(&log, &names);
    for n in &names {
        assert_eq!(sv.state(n).map(|s| s.0).as_deref(), Some("RUNNING"));
    }
}

#[test]
fn a_program_that_never_starts_holds_back_no_later_level() {
    // `loops` crash-loops for ever (startretries=0), `missing` cannot be
    // executed; both come first.
    let stuck =
        "[program:loops]\ncommand=/bin/sh -c 'exit 1'\npriority=1\nstartsecs=1\nstartretries=0\n\n\
                 [program:missing]\ncommand=/nonexistent/sv-order-test\npriority=2\n\n";
    let sv = start(&format!(
        "{stuck}[program:later]\ncommand=/bin/sleep 600\npriority=5\nstartsecs=1\n\n\
         [program:last]\ncommand=/bin/sleep 600\npriority=9\nstartsecs=0\n"
    ));
    sv.wait_state("later", "RUNNING", 20);
    sv.wait_state("last", "RUNNING", 20);
    sv.wait_state("missing", "FATAL", 20);
    let (state, _) = sv.state("loops").unwrap();
    assert!(matches!(state.as_str(), "STARTING" | "BACKOFF"), "{state}");

    // Programs added by reload: behind a new never-starting first level.
    sv.write_conf(&format!(
        "{stuck}[program:later]\ncommand=/bin/sleep 600\npriority=5\nstartsecs=1\n\n\
         [program:last]\ncommand=/bin/sleep 600\npriority=9\nstartsecs=0\n\n\
         [program:loops2]\ncommand=/bin/sh -c 'exit 1'\npriority=1\nstartsecs=1\nstartretries=0\n\n\
         [program:added]\ncommand=/bin/sleep 600\npriority=7\nstartsecs=1\n"
    ));
    let r = sv.sv(&["reload"]);
    assert!(r.ok().contains("added: added"), "{r:?}");
    sv.wait_state("added", "RUNNING", 20);
    let (state, _) = sv.state("loops2").unwrap();
    assert!(matches!(state.as_str(), "STARTING" | "BACKOFF"), "{state}");

    // `start` of several, one of which never starts: the others are
    // spawned and RUNNING all the same (the answer waits for all).
    sv.sv(&["stop", "later", "last"]).ok();
    let child = sv
        .command()
        .args(["start", "missing", "later", "last", "-i", &N.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run sv start");
    let out = String::from_utf8_lossy(&child.stdout);
    let err = String::from_utf8_lossy(&child.stderr);
    assert_eq!(child.status.code(), Some(1), "{out} {err}");
    assert!(
        out.contains("later: started") && out.contains("last: started"),
        "{out}"
    );
    assert!(err.starts_with("missing: ERROR ("), "{err}");
}

#[test]
fn restart_stops_every_target_before_it_starts_any() {
    // `slow` takes a while to stop; `off` is not running, comes first by
    // priority and would be started at once if nothing waited.
    let sv = start(
        "[program:off]\ncommand=/bin/sleep 600\npriority=1\nautostart=false\nstartsecs=0\n\n\
         [program:quick]\ncommand=/bin/sleep 600\npriority=10\nstartsecs=0\n\n\
         [program:slow]\ncommand=/bin/sh -c 'trap \"sleep 0.5; exit 0\" TERM; echo up > slow.up; while :; do sleep 0.05; done'\npriority=20\nstartsecs=0\n",
    );
    sv.wait_state("quick", "RUNNING", 20);
    sv.wait_state("slow", "RUNNING", 20);
    // Its TERM trap is set.
    assert!(wait_until(10, || sv.work.path().join("slow.up").exists()));
    // Both ran a second: the restart floor (SPEC §11) delays neither.
    assert!(wait_until(10, || ["quick", "slow"].iter().all(|n| sv
        .state(n)
        .is_some_and(|(_, d)| !d.ends_with("uptime 0:00:00")))));
    let from = log_len(&sv);
    let r = sv.sv(&["restart", "all"]);
    let lines: Vec<&str> = r.ok().lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "off: started",
            "quick: started",
            "quick: stopped",
            "slow: started",
            "slow: stopped"
        ],
        "{r:?}"
    );
    // Every `stopped` line before the first `started` one.
    let last_stopped = lines.iter().rposition(|l| l.ends_with(": stopped"));
    let first_started = lines.iter().position(|l| l.ends_with(": started"));
    assert!(last_stopped < first_started, "{lines:?}");
    // Nothing was spawned while anything was still stopping.
    let log = log_from(&sv, from);
    let last_down = ["quick", "slow"]
        .iter()
        .map(|n| at(&log, n, "STOPPING -> STOPPED"))
        .max()
        .unwrap();
    for n in ["off", "quick", "slow"] {
        assert!(
            at(&log, n, "spawned") > last_down,
            "{n} spawned while another was stopping: {log:#?}"
        );
    }
    // And they came up by priority.
    let names: Vec<String> = ["off", "quick", "slow"].map(String::from).to_vec();
    let pids: Vec<i64> = names.iter().map(|n| spawned_pid(&log, n)).collect();
    if (pids[2] - pids[0]).abs() < pid_max() / 2 {
        assert!(pids.windows(2).all(|w| w[0] < w[1]), "{pids:?}");
    }
}

#[test]
fn create_service_waits_for_running_unless_no_wait() {
    let sv = Sv::daemon(N);
    // Waits past startsecs: RUNNING when it answers.
    let r = sv.sv(&[
        "create-service",
        "/bin/sleep",
        "600",
        "--name",
        "waits",
        "--set",
        "startsecs=2",
    ]);
    let out = r.ok();
    assert!(out.starts_with("waits: started, pid "), "{r:?}");
    let pid: i32 = out.trim_end()["waits: started, pid ".len()..]
        .parse()
        .unwrap();
    let (state, detail) = sv.state("waits").unwrap();
    assert_eq!(state, "RUNNING", "{detail}");
    assert!(detail.starts_with(&format!("pid {pid},")), "{detail}");

    // --no-wait: at once, while it is STARTING.
    let r = sv.sv(&[
        "create-service",
        "--no-wait",
        "/bin/sleep",
        "600",
        "--name",
        "nowait",
        "--set",
        "startsecs=30",
    ]);
    assert!(r.ok().starts_with("nowait: starting, pid "), "{r:?}");
    assert_eq!(sv.state("nowait").unwrap().0, "STARTING");

    // A start that fails: ERROR on stderr, exit 1.
    // (`-i` before `--`: what follows goes to the program.)
    let r = sv.run(&[
        "create-service",
        "-i",
        &N.to_string(),
        "/bin/sh",
        "--name",
        "dies",
        "--",
        "-c",
        "exit 3",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert_eq!(r.stderr, "dies: ERROR (exited: exit 3)\n", "{r:?}");
    let r = sv.sv(&[
        "create-service",
        "/nonexistent/sv-order-test",
        "--name",
        "gone",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.starts_with("sv: gone: ") || r.stderr.starts_with("gone: ERROR"),
        "{r:?}"
    );

    // -c and --create-stopped answer at once, as before.
    let r = sv.sv(&[
        "create-service",
        "/bin/sleep",
        "600",
        "--name",
        "later",
        "-c",
        "60",
    ]);
    assert_eq!(r.ok(), "later: pending, starts in 60 s\n");
    let r = sv.sv(&[
        "create-service",
        "/bin/sleep",
        "600",
        "--name",
        "idle",
        "--create-stopped",
    ]);
    assert_eq!(r.ok(), "idle: created\n");
}
