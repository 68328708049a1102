//! SPEC §12 at its edges (found by review): an exec check that times out
//! leaves nothing of its own behind, `create-service` cannot close a
//! dependency cycle, and a `ready=` program continued after a SIGSTOP is
//! RUNNING only if it has been ready; `sv check` warns of a watchdog that
//! nothing would ping.

mod common;

use common::*;

const N: u8 = 26;

/// Processes whose command line is exactly `sleep ARG`.
fn sleeps_of(arg: &str) -> usize {
    cmdlines()
        .iter()
        .filter(|(_, argv)| {
            argv.len() == 2 && argv[0].ends_with(b"sleep") && argv[1] == arg.as_bytes()
        })
        .count()
}

#[test]
fn an_exec_check_that_times_out_leaves_no_process_behind() {
    let sv = Sv::daemon(N);
    let mark = format!("77{}", std::process::id());
    let check = format!("health=exec:sh -c \"sleep {mark}\"");
    sv.sv(&[
        "create-service",
        "/bin/sleep",
        "--name",
        "h1",
        "--set",
        &check,
        "--set",
        "health_interval=1",
        "--set",
        "health_timeout=1",
        "--set",
        "health_retries=1000",
        "100000",
    ])
    .ok();
    // Three checks have timed out.
    let mut last = None;
    let failed = wait_until(20, || {
        last = sv.state("h1");
        last.as_ref()
            .is_some_and(|(_, d)| d.contains("unhealthy (3/1000"))
    });
    assert!(failed, "{last:?}");
    // At most the check under way is alive, not one per timed-out try.
    let n = sleeps_of(&mark);
    assert!(
        n <= 1,
        "{n} 'sleep {mark}' processes left by timed-out checks"
    );
    sv.sv(&["remove-service", "h1"]).ok();
    assert!(wait_until(10, || sleeps_of(&mark) == 0));
}

#[test]
fn create_service_cannot_close_a_dependency_cycle() {
    let sv = Sv::daemon(N);
    let create = |args: &[&str]| {
        let mut all = vec!["create-service", "--no-wait"];
        all.extend_from_slice(args);
        sv.sv(&all)
    };
    create(&["--name", "cx", "/bin/sleep", "1000"]).ok();
    create(&[
        "--name",
        "cy",
        "--set",
        "depends_on=cx",
        "/bin/sleep",
        "1000",
    ])
    .ok();
    sv.sv(&["remove-service", "cx"]).ok();
    let r = create(&[
        "--name",
        "cx",
        "--set",
        "depends_on=cy",
        "/bin/sleep",
        "1000",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("dependency cycle cx -> cy -> cx"),
        "{r:?}"
    );
    assert!(sv.state("cx").is_none(), "cx was created");
}

#[test]
fn a_never_ready_program_continued_after_sigstop_is_not_running() {
    let sv = Sv::daemon(N);
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ready = format!("ready=tcp:127.0.0.1:{port}");
    sv.sv(&[
        "create-service",
        "--no-wait",
        "--name",
        "nr",
        "--set",
        &ready,
        "--set",
        "ready_timeout=2",
        "/bin/sleep",
        "1000",
    ])
    .ok();
    sv.sv(&[
        "create-service",
        "--no-wait",
        "--name",
        "dep",
        "--set",
        "depends_on=nr",
        "/bin/sleep",
        "1000",
    ])
    .ok();
    let pid = sv.pid("nr").expect("nr has a pid");
    kill(pid, libc::SIGSTOP);
    sv.wait_state("nr", "SUSPENDED", 10);
    // The thing under test: its ready_timeout passes while it is stopped.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    kill(pid, libc::SIGCONT);
    let mut seen = Vec::new();
    wait_until(10, || {
        let s = sv.state("nr").map(|s| s.0).unwrap_or_default();
        seen.push(s.clone());
        s != "SUSPENDED" && s != "STARTING" && s != "STOPPING"
    });
    assert!(
        !seen.iter().any(|s| s == "RUNNING"),
        "a program never ready went RUNNING: {seen:?}"
    );
    assert_eq!(sv.state("dep").map(|s| s.0).as_deref(), Some("PENDING"));
}

/// A program ready a moment after its spawn is RUNNING a moment later,
/// not a whole ready_interval later: tries come soon at first (every
/// 10 ms for 100 ms, then doubling), at most ready_interval apart. With ready_interval=30 the
/// old rule (one try at spawn, the next 30 s later) took 30 s.
#[test]
fn a_program_ready_soon_after_its_spawn_is_not_held_an_interval() {
    let sv = Sv::daemon(N);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ready = format!("ready=tcp:127.0.0.1:{port}");
    sv.sv(&[
        "create-service",
        "--no-wait",
        "--name",
        "soon",
        "--set",
        &ready,
        "--set",
        "ready_interval=30",
        "/bin/sleep",
        "1000",
    ])
    .ok();
    sv.wait_state("soon", "STARTING", 5);
    // Its port opens now, after the first try at spawn was refused.
    let _open = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    sv.wait_state("soon", "RUNNING", 10);
}

/// `watchdog_secs` without `ready=notify` would never be pinged: `sv
/// check` says so, with the key's line; with notify it says nothing.
#[test]
fn check_warns_about_a_watchdog_without_notify() {
    let sv = Sv::new(N);
    let path = sv.write_conf(
        "[program:web]\ncommand=/bin/sleep 60\nwatchdog_secs=5\n\n\
         [program:ok]\ncommand=/bin/sleep 60\nready=notify\nwatchdog_secs=5\n",
    );
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 0, "{r:?}");
    let want = format!(
        "warning: {}:3: watchdog_secs of [program:web] does nothing without ready=notify",
        path.display()
    );
    assert!(r.stdout.contains(&want), "{r:?}");
    assert_eq!(r.stdout.matches("watchdog_secs").count(), 1, "{r:?}");
}
