//! SPEC §12 `health=`: a RUNNING program is checked every health_interval;
//! health_retries failures in a row run health_action (restart: a new pid
//! and a log line; stop: STOPPED; none: only the status says so); a check
//! that passes again resets the count; a check that never answers fails at
//! health_timeout without stalling the daemon.

mod common;

use common::{alive, wait_until, Sv};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Instance number (each test has its own runtime dir).
const N: u8 = 13;

fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

/// A port on 127.0.0.1 that nothing listens on (for now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A sleeper checked every second, one second per check.
fn program(name: &str, health: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sleep 600\nstartsecs=0\nhealth={health}\n\
         health_interval=1\nhealth_timeout=1\n{extra}\n"
    )
}

fn daemon_log(sv: &Sv) -> String {
    std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap_or_default()
}

/// Waits until the detail of `name` satisfies `f`; returns it.
#[track_caller]
fn wait_detail(sv: &Sv, name: &str, secs: u64, f: impl Fn(&str, &str) -> bool) -> String {
    let mut last = None;
    let ok = wait_until(secs, || {
        last = sv.state(name);
        last.as_ref().is_some_and(|(s, d)| f(s, d))
    });
    assert!(ok, "{name}: last seen {last:?}\n{}", daemon_log(sv));
    last.map(|(_, d)| d).unwrap_or_default()
}

/// Asserts `name` stays RUNNING with `pid` and no failure for `secs`.
#[track_caller]
fn stays_healthy(sv: &Sv, name: &str, pid: i32, secs: f64) {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < until {
        let (state, detail) = sv.state(name).expect("listed");
        assert_eq!(state, "RUNNING", "{name}: {detail}");
        assert!(!detail.contains("unhealthy"), "{name}: {detail}");
        assert_eq!(sv.pid(name), Some(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_check_that_starts_failing_restarts_the_program_after_the_retries() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let check = format!("tcp:127.0.0.1:{port}");
    let mut sv = start(&program("web", &check, "health_retries=3"));
    sv.wait_state("web", "RUNNING", 10);
    let pid = sv.pid("web").unwrap();
    stays_healthy(&sv, "web", pid, 2.5);

    drop(listener);
    let detail = wait_detail(&sv, "web", 10, |_, d| d.contains("unhealthy (2/3"));
    assert!(
        detail.contains("unhealthy (2/3: connection refused)"),
        "{detail}"
    );
    assert_eq!(sv.pid("web"), Some(pid), "not restarted before the retries");
    let json = sv.sv(&["status", "web", "--json"]);
    assert!(json.stdout.contains("unhealthy ("), "{json:?}");

    let mut new = None;
    assert!(wait_until(10, || {
        new = sv.pid("web").filter(|p| *p != pid);
        new.is_some()
    }));
    assert!(
        wait_until(10, || !alive(pid)),
        "the old process was stopped"
    );
    // Counted with its other restarts.
    let info = sv.sv(&["service-status", "web", "--json"]);
    assert!(info.stdout.contains("\"restarts\":1"), "{info:?}");
    let log = daemon_log(&sv);
    assert!(
        log.contains("web: unhealthy (3/3: connection refused); restarting"),
        "{log}"
    );
    sv.close();
}

#[test]
fn health_action_none_only_reports() {
    let check = format!("tcp:127.0.0.1:{}", free_port());
    let extra = "health_retries=2\nhealth_action=none";
    let mut sv = start(&program("web", &check, extra));
    sv.wait_state("web", "RUNNING", 10);
    let pid = sv.pid("web").unwrap();
    wait_detail(&sv, "web", 10, |_, d| {
        d.contains("unhealthy (2/2: connection refused)")
    });
    // A few more failed checks: still the same process, still reported.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        let (state, detail) = sv.state("web").unwrap();
        assert_eq!(state, "RUNNING");
        assert!(detail.contains("unhealthy (2/2"), "{detail}");
        assert_eq!(sv.pid("web"), Some(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = daemon_log(&sv);
    assert!(
        log.contains("web: unhealthy (2/2: connection refused)"),
        "{log}"
    );
    assert!(!log.contains("restarting"), "{log}");
    sv.close();
}

#[test]
fn health_action_stop_stops_it() {
    let check = format!("tcp:127.0.0.1:{}", free_port());
    let extra = "health_retries=2\nhealth_action=stop";
    let mut sv = start(&program("web", &check, extra));
    sv.wait_state("web", "RUNNING", 10);
    let pid = sv.pid("web").unwrap();
    sv.wait_state("web", "STOPPED", 10);
    assert!(wait_until(10, || !alive(pid)));
    let log = daemon_log(&sv);
    assert!(
        log.contains("web: unhealthy (2/2: connection refused); stopping"),
        "{log}"
    );
    sv.close();
}

#[test]
fn a_check_that_passes_again_resets_the_count() {
    let port = free_port();
    let check = format!("tcp:127.0.0.1:{port}");
    let mut sv = start(&program("web", &check, "health_retries=4"));
    sv.wait_state("web", "RUNNING", 10);
    let pid = sv.pid("web").unwrap();
    wait_detail(&sv, "web", 10, |_, d| d.contains("unhealthy (2/4"));

    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    wait_detail(&sv, "web", 10, |s, d| {
        s == "RUNNING" && !d.contains("unhealthy")
    });
    assert_eq!(sv.pid("web"), Some(pid));
    assert!(daemon_log(&sv).contains("web: healthy again"));

    // Failing again counts from 1: two earlier failures are forgotten.
    drop(listener);
    let detail = wait_detail(&sv, "web", 10, |_, d| d.contains("unhealthy ("));
    assert!(detail.contains("unhealthy (1/4"), "{detail}");
    assert_eq!(sv.pid("web"), Some(pid));
    sv.close();
}

#[test]
fn a_check_that_never_answers_fails_at_its_timeout() {
    // Accepts (the kernel's backlog does) but never answers the request.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let check = format!("http://127.0.0.1:{port}/healthz");
    let extra = "health_retries=2\nhealth_action=none";
    let mut sv = start(&program("api", &check, extra));
    sv.wait_state("api", "RUNNING", 10);
    let detail = wait_detail(&sv, "api", 15, |_, d| d.contains("unhealthy ("));
    assert!(detail.contains("no answer within 1 s"), "{detail}");
    // Answered while a check hangs: no check blocks the loop.
    assert_eq!(sv.sv(&["status"]).code, 0);
    drop(listener);
    sv.close();
}

#[test]
fn an_exec_health_check_is_run_and_reaped() {
    let extra = "health_retries=2\nhealth_action=none";
    let mut sv = start(&program("job", "exec:test -f ok", extra));
    sv.wait_state("job", "RUNNING", 10);
    let detail = wait_detail(&sv, "job", 10, |_, d| d.contains("unhealthy (2/2"));
    assert!(detail.contains("the check exit 1"), "{detail}");
    std::fs::write(sv.work.path().join("ok"), "").unwrap();
    wait_detail(&sv, "job", 10, |s, d| {
        s == "RUNNING" && !d.contains("unhealthy")
    });
    // Reaped: no check process is left a zombie under the daemon.
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    let zombie = |p: &i32| common::proc_state(*p).is_some_and(|s| s.starts_with('Z'));
    assert!(wait_until(5, || !common::children(daemon)
        .iter()
        .any(zombie)));
    sv.close();
}

/// `create-service --set health=...` and its keys work as in a config;
/// a form that cannot check a running program is refused, saying why.
#[test]
fn ad_hoc_services_take_health_too() {
    let mut sv = Sv::daemon(N);
    let dir = common::TempDir::new("adhoc");
    let set = format!("health=file:{}", dir.path().join("ok").display());
    let mut args = vec!["create-service", "--set", &set];
    for kv in [
        "health_interval=1",
        "health_timeout=1",
        "health_retries=2",
        "health_action=stop",
    ] {
        args.extend(["--set", kv]);
    }
    args.extend(["--name", "adhoc", "/bin/sleep", "600"]);
    let r = sv.sv(&args);
    assert_eq!(r.code, 0, "{r:?}");
    let detail = wait_detail(&sv, "adhoc", 10, |_, d| d.contains("unhealthy (1/2"));
    assert!(detail.contains("No such file or directory"), "{detail}");
    sv.wait_state("adhoc", "STOPPED", 10);
    let r = sv.sv(&[
        "create-service",
        "--set",
        "health=notify",
        "/bin/sleep",
        "600",
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    let text = r.stdout.clone() + &r.stderr;
    assert!(text.contains("health 'notify'"), "{r:?}");
    sv.close();
}
