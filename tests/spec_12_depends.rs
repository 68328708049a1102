//! SPEC §12 `depends_on` (without readiness checks: `running` is the
//! RUNNING state here): a chain started in order and stopped in reverse, a
//! FATAL dependency that holds its dependents PENDING with the reason, a
//! cycle and an unknown name refused (by `sv check`, the daemon and
//! `reload`), a reload that adds a dependency, `create-service --set
//! depends_on=...`, and `sv start web` that starts db too.
//!
//! Order is read from the daemon's own log (its stderr), never from timing.

mod common;
use common::*;

const N: u8 = 13;

fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

/// The daemon's log lines so far.
fn log(sv: &Sv) -> Vec<String> {
    let text = std::fs::read(sv.work.path().join("daemon.err")).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Index of the first log line with `NAME: what`.
#[track_caller]
fn at(log: &[String], name: &str, what: &str) -> usize {
    let want = format!(" {name}: {what}");
    log.iter()
        .position(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("no '{want}' in the daemon's log: {log:#?}"))
}

/// Waits until the log has `NAME: what`, and returns it.
#[track_caller]
fn wait_log(sv: &Sv, name: &str, what: &str) -> Vec<String> {
    let want = format!(" {name}: {what}");
    let mut lines = Vec::new();
    let ok = wait_until(20, || {
        lines = log(sv);
        lines.iter().any(|l| l.contains(&want))
    });
    assert!(ok, "no '{want}' in the daemon's log: {lines:#?}");
    lines
}

/// How many times the daemon went to sleep and woke (voluntary switches).
fn wakeups(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

const CHAIN: &str = "\
[program:web]
command = /bin/sleep 60
startsecs = 1
depends_on = db
stopwaitsecs = 5

[program:db]
command = /bin/sleep 60
startsecs = 1
depends_on = migrate:completed
stopwaitsecs = 5

[program:migrate]
command = /bin/sh -c 'sleep 0.5; exit 0'
startsecs = 0
autorestart = false
";

#[test]
fn a_chain_starts_in_order_and_stops_in_reverse() {
    let mut sv = start(CHAIN);
    sv.wait_state("web", "RUNNING", 20);
    let l = log(&sv);
    // migrate ran to completion before db was spawned; db was RUNNING
    // before web was spawned.
    assert!(at(&l, "migrate", "spawned pid") < at(&l, "migrate", "RUNNING -> EXITED"));
    assert!(at(&l, "migrate", "RUNNING -> EXITED") < at(&l, "db", "spawned pid"));
    assert!(at(&l, "db", "STARTING -> RUNNING") < at(&l, "web", "spawned pid"));
    let (state, detail) = sv.state("migrate").unwrap();
    assert_eq!((state.as_str(), detail.as_str()), ("EXITED", "exit 0"));

    // `stop all` stops web before what it depends on.
    sv.sv(&["stop", "all"]).ok();
    let l = log(&sv);
    assert!(
        at(&l, "web", "STOPPING -> STOPPED") < at(&l, "db", "RUNNING -> STOPPING"),
        "{l:#?}"
    );

    // And so does `close`.
    sv.sv(&["start", "all"]).ok();
    sv.wait_state("web", "RUNNING", 20);
    let before = log(&sv).len();
    sv.close();
    let l = log(&sv)[before..].to_vec();
    assert!(
        at(&l, "web", "STOPPING -> STOPPED") < at(&l, "db", "RUNNING -> STOPPING"),
        "{l:#?}"
    );
}

#[test]
fn a_fatal_dependency_holds_its_dependents_pending_with_the_reason() {
    let conf = "\
[program:web]
command = /bin/sleep 60
depends_on = db

[program:db]
command = /nonexistent/db-server
";
    let sv = start(conf);
    sv.wait_state("db", "FATAL", 10);
    let detail = sv.wait_state("web", "PENDING", 10);
    assert_eq!(detail, "waiting for db (FATAL)");
    // The daemon's log says why it waits.
    wait_log(&sv, "web", "waiting for db (");
    // Waiting costs no wake-up: the graph is looked at on state changes.
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    assert!(wait_until(5, || {
        let before = wakeups(daemon);
        std::thread::sleep(std::time::Duration::from_millis(500));
        wakeups(daemon) == before
    }));
    let json = sv.sv(&["status", "web", "--json"]);
    assert!(json.ok().contains("waiting for db (FATAL)"), "{json:?}");
    // `start web` tries db again, and does not wait for ever: it fails,
    // naming the reason.
    let r = sv.sv(&["start", "web"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("web: ERROR (waiting for db (FATAL))"),
        "{r:?}"
    );
    assert_eq!(sv.state("web").unwrap().0, "PENDING");
    assert!(!log(&sv).iter().any(|l| l.contains(" web: spawned")));
    // `sv wait` for it fails at once, naming why, rather than timing out.
    let r = sv.sv(&["wait", "web", "--timeout", "30"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("web is PENDING (waiting for db (FATAL))"),
        "{r:?}"
    );

    // When db runs again (a reload that fixes it), web starts.
    sv.write_conf(&conf.replace("/nonexistent/db-server", "/bin/sleep 60"));
    sv.sv(&["reload"]).ok();
    sv.wait_state("web", "RUNNING", 20);
    let l = log(&sv);
    assert!(at(&l, "db", "STARTING -> RUNNING") < at(&l, "web", "spawned pid"));
}

#[test]
fn a_cycle_is_refused_with_file_line_and_the_cycle() {
    let conf = "\
[program:web]
command = /bin/sleep 60
depends_on = db

[program:db]
command = /bin/sleep 60
depends_on = cache, web

[program:cache]
command = /bin/sleep 60
";
    let sv = Sv::new(N);
    let path = sv.write_conf(conf);
    let want = format!(
        "{}:3: depends_on in [program:web]: dependency cycle web -> db -> web",
        path.display()
    );
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&want) || r.stdout.contains(&want),
        "{r:?}"
    );

    // The daemon refuses to start with it.
    let out = sv
        .command()
        .args(["daemon", &N.to_string(), "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&want),
        "{out:?}"
    );
}

#[test]
fn an_unknown_name_is_refused_and_a_reload_with_one_changes_nothing() {
    let conf = "\
[program:web]
command = /bin/sleep 60
startsecs = 0
";
    let sv = start(conf);
    sv.wait_state("web", "RUNNING", 10);
    let pid = sv.pid("web");
    let path = sv.write_conf(&format!(
        "{conf}depends_on = dbb\n[program:db]\ncommand = /bin/sleep 60\n"
    ));
    let r = sv.sv(&["reload"]);
    assert_ne!(r.code, 0, "{r:?}");
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(
        text.contains(&format!(
            "{}:4: depends_on in [program:web]: no program, process or group named 'dbb'; \
             did you mean db?",
            path.display()
        )),
        "{r:?}"
    );
    // Nothing changed: web runs on, db was not added.
    assert_eq!(sv.pid("web"), pid);
    assert!(sv.state("db").is_none());
}

#[test]
fn a_reload_that_adds_a_dependency_restarts_after_it() {
    let conf = "\
[program:web]
command = /bin/sleep 60
startsecs = 0
";
    let sv = start(conf);
    sv.wait_state("web", "RUNNING", 10);
    sv.write_conf(&format!(
        "{conf}depends_on = db\n[program:db]\ncommand = /bin/sleep 60\nstartsecs = 1\n"
    ));
    let r = sv.sv(&["reload"]);
    let out = r.ok();
    assert!(
        out.contains("web: changed") && out.contains("db: added"),
        "{r:?}"
    );
    sv.wait_state("web", "RUNNING", 20);
    sv.wait_state("db", "RUNNING", 20);
    let l = log(&sv);
    let second_spawn = l
        .iter()
        .enumerate()
        .filter(|(_, x)| x.contains(" web: spawned pid"))
        .nth(1)
        .map(|(i, _)| i)
        .expect("web spawned again");
    assert!(at(&l, "db", "STARTING -> RUNNING") < second_spawn, "{l:#?}");
}

#[test]
fn create_service_takes_depends_on() {
    let sv = Sv::daemon(N);
    // Unknown name: refused, nothing created.
    let r = sv.sv(&[
        "create-service",
        "/bin/sleep",
        "60",
        "--name",
        "web",
        "--set",
        "depends_on=db",
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("depends_on: no service, program or group named 'db'"),
        "{r:?}"
    );
    assert!(sv.state("web").is_none());

    sv.sv(&[
        "create-service",
        "/bin/sleep",
        "60",
        "--name",
        "db",
        "--create-stopped",
    ])
    .ok();
    // db is stopped: web waits for it, PENDING with the reason.
    let r = sv.sv(&[
        "create-service",
        "/bin/sleep",
        "60",
        "--name",
        "web",
        "--set",
        "depends_on=db",
        "--no-wait",
    ]);
    assert_eq!(
        r.stdout, "web: pending, waiting for db (STOPPED)\n",
        "{r:?}"
    );
    let detail = sv.wait_state("web", "PENDING", 10);
    assert_eq!(detail, "waiting for db (STOPPED)");
    sv.sv(&["start", "db"]).ok();
    sv.wait_state("web", "RUNNING", 20);
}

#[test]
fn start_web_starts_db_too_and_says_so() {
    let conf = "\
[program:web]
command = /bin/sleep 60
autostart = false
depends_on = db

[program:db]
command = /bin/sleep 60
autostart = false
";
    let sv = start(conf);
    let r = sv.sv(&["start", "web"]);
    let out = r.ok();
    assert!(
        out.contains("db: started") && out.contains("web: started"),
        "{r:?}"
    );
    assert_eq!(sv.state("db").unwrap().0, "RUNNING");
    assert_eq!(sv.state("web").unwrap().0, "RUNNING");
    let l = log(&sv);
    assert!(at(&l, "db", "STARTING -> RUNNING") < at(&l, "web", "spawned pid"));
}

#[test]
fn start_web_runs_the_one_shot_that_a_waiting_dependency_needs() {
    // migrate does not start by itself: db waits for it, web for db.
    let conf = "\
[program:web]
command = /bin/sleep 60
depends_on = db

[program:db]
command = /bin/sleep 60
depends_on = migrate:completed

[program:migrate]
command = /bin/sh -c 'sleep 0.2; exit 0'
autostart = false
startsecs = 0
autorestart = false
";
    let sv = start(conf);
    let detail = sv.wait_state("db", "PENDING", 10);
    assert_eq!(detail, "waiting for migrate (STOPPED)");
    assert_eq!(
        sv.wait_state("web", "PENDING", 10),
        "waiting for db (PENDING)"
    );
    // `start web` runs migrate (a one-shot: no line of its own), then db
    // and web start by themselves.
    let r = sv.sv(&["start", "web"]);
    assert!(r.ok().contains("web: started"), "{r:?}");
    assert!(!r.stdout.contains("ERROR"), "{r:?}");
    assert_eq!(sv.state("migrate").unwrap().0, "EXITED");
    assert_eq!(sv.state("db").unwrap().0, "RUNNING");
}

#[test]
fn independent_branches_start_together() {
    let conf = "\
[program:web]
command = /bin/sleep 60
depends_on = a, b:started

[program:a]
command = /bin/sleep 60

[program:b]
command = /bin/sleep 60
";
    let sv = start(conf);
    sv.wait_state("web", "RUNNING", 20);
    let l = log(&sv);
    // a and b did not wait for each other; web waited for a's RUNNING.
    let first_up = at(&l, "a", "STARTING -> RUNNING").min(at(&l, "b", "STARTING -> RUNNING"));
    assert!(
        at(&l, "a", "spawned pid").max(at(&l, "b", "spawned pid")) < first_up,
        "{l:#?}"
    );
    assert!(
        at(&l, "a", "STARTING -> RUNNING") < at(&l, "web", "spawned pid"),
        "{l:#?}"
    );
}
