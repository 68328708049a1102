//! SPEC §11 (names as supervisord gives them, `-i N` anywhere), §4 (TARGETs)
//! and §2 (instances): `GROUP:NAME` targets and rows, `-i` before or after
//! the command, and the one name rule with its length limit, through the
//! real CLI against a real daemon per test.
mod common;
use common::*;
use std::process::Stdio;

const N: u8 = 11;

/// A group of two programs, a numprocs program, a plain program.
const CONF: &str = "\
[group:backend]
programs=worker,api

[program:worker]
command=/bin/sh -c \"echo worker-up; exec sleep 600\"
startsecs=0

[program:api]
command=/bin/sleep 600
startsecs=0

[program:w]
command=/bin/sleep 600
numprocs=2
startsecs=0

[program:web]
command=/bin/sleep 600
startsecs=0
";

/// A daemon of its own on `CONF`, plus an ad hoc service `adhoc`, all RUNNING.
fn start() -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(CONF);
    sv.launch(cmd);
    sv.sv(&[
        "create-service",
        "--name",
        "adhoc",
        "--set",
        "startsecs=0",
        "/bin/sleep",
        "600",
    ])
    .ok();
    for n in [
        "backend:worker",
        "backend:api",
        "w:w_00",
        "w:w_01",
        "web",
        "adhoc",
    ] {
        sv.wait_state(n, "RUNNING", 10);
    }
    sv
}

// ------------------------------------------------------------ GROUP:NAME

#[test]
fn status_shows_group_colon_name_and_each_shown_name_is_a_target() {
    let sv = start();
    let shown = names(&sv, &[]);
    assert_eq!(
        shown,
        [
            "backend:worker",
            "backend:api",
            "w:w_00",
            "w:w_01",
            "web",
            "adhoc"
        ]
    );
    // What status prints is what a user copies: each is a target of itself.
    for n in &shown {
        assert_eq!(names(&sv, &[n]), [n.as_str()], "status {n}");
    }
    // JSON carries the same name.
    let r = sv.sv(&["status", "--json", "backend:worker"]);
    assert!(r.ok().contains("\"name\":\"backend:worker\""), "{r:?}");
    let r = sv.sv(&["service-status", "w:w_01"]);
    assert!(r.ok().starts_with("name:      w:w_01\n"), "{r:?}");
}

#[test]
fn group_colon_name_is_a_target_everywhere_and_bare_names_still_work() {
    let sv = start();
    // web:web, a plain program in its own implicit group; PROGRAM:NAME
    // also reaches a program inside a group, as PROGRAM:* does.
    assert_eq!(names(&sv, &["web:web"]), ["web"]);
    assert_eq!(names(&sv, &["worker:worker"]), ["backend:worker"]);
    // Bare names stay accepted where unique; shown as GROUP:NAME.
    assert_eq!(
        names(&sv, &["worker", "w_01"]),
        ["backend:worker", "w:w_01"]
    );

    let r = sv.sv(&["restart", "backend:worker"]);
    assert_eq!(r.ok(), "backend:worker: stopped\nbackend:worker: started\n");
    let r = sv.sv(&["stop", "w:w_00"]);
    assert_eq!(r.ok(), "w:w_00: stopped\n");
    let r = sv.sv(&["start", "w:w_00"]);
    assert_eq!(r.ok(), "w:w_00: started\n");
    let r = sv.sv(&["signal", "CONT", "web:web"]);
    assert_eq!(r.ok(), "web: signalled SIGCONT\n");
    let r = sv.sv(&["suspend-service", "backend:api"]);
    assert_eq!(r.ok(), "backend:api: suspended\n");
    let r = sv.sv(&["resume-service", "backend:api"]);
    assert_eq!(r.ok(), "backend:api: resumed\n");
    let r = sv.sv(&["tail", "backend:worker"]);
    assert!(r.ok().contains("worker-up"), "{r:?}");

    // `g:` is `g:*`: every member of the group, every copy of the program.
    let r = sv.sv(&["stop", "backend:"]);
    assert_eq!(r.ok(), "backend:worker: stopped\nbackend:api: stopped\n");
    let r = sv.sv(&["start", "backend:*"]);
    assert_eq!(r.ok(), "backend:worker: started\nbackend:api: started\n");
    assert_eq!(names(&sv, &["w:"]), ["w:w_00", "w:w_01"]);

    let r = sv.sv(&["remove-service", "adhoc"]);
    assert_eq!(r.ok(), "adhoc: removed\n");
}

#[test]
fn an_unknown_group_colon_name_is_no_such_service_naming_it() {
    let sv = start();
    for t in ["backend:nope", "nogroup:worker", "web:api", ":worker", ":"] {
        let r = sv.sv(&["status", t]);
        assert_eq!(r.code, 1, "{t}: {r:?}");
        assert!(
            r.stderr.contains(&format!("no such service: {t}")),
            "{t}: {r:?}"
        );
        let r = sv.sv(&["restart", t]);
        assert_eq!(r.code, 1, "{t}: {r:?}");
        assert!(r.stderr.contains(t), "{t}: {r:?}");
    }
    // A near miss gets a hint.
    let r = sv.sv(&["status", "backend:wroker"]);
    assert!(r.stderr.contains("did you mean backend:worker?"), "{r:?}");
}

#[test]
fn files_and_reload_keep_the_bare_name() {
    let sv = start();
    let logs = logs(&sv);
    assert!(wait_until(10, || logs.join("worker-stdout.log").exists()));
    for f in std::fs::read_dir(&logs).unwrap() {
        let f = f.unwrap().file_name();
        assert!(!f.to_string_lossy().contains(':'), "{f:?}");
    }
    let before = sv.pid("backend:worker").expect("pid");
    let r = sv.sv(&["reload"]);
    assert!(!r.ok().contains("worker"), "unchanged: {r:?}");
    assert_eq!(sv.pid("backend:worker"), Some(before));
    // The state file keys on the bare name: it holds no `backend:`.
    let state = std::fs::read(instance_dir(&sv).join("state")).unwrap();
    let text = String::from_utf8_lossy(&state);
    assert!(text.contains("worker") && !text.contains("backend:worker"));
}

// ------------------------------------------------------------ -i anywhere

#[test]
fn instance_before_or_after_the_command() {
    let sv = start();
    let n = N.to_string();
    let r = sv.run(&["-i", &n, "status", "web"]);
    assert!(r.ok().starts_with("web "), "{r:?}");
    let r = sv.run(&["--instance", &n, "status", "web"]);
    assert!(r.ok().starts_with("web "), "{r:?}");
    let r = sv.run(&["status", "-i", &n, "web"]);
    assert!(r.ok().starts_with("web "), "{r:?}");
    let r = sv.run(&["status", "web", "--instance", &n]);
    assert!(r.ok().starts_with("web "), "{r:?}");

    // create-service: -i before the command, after the arguments, and a
    // `-i` after `--` reaches the child unchanged.
    let r = sv.run(&[
        "-i",
        &n,
        "create-service",
        "--create-stopped",
        "/bin/sleep",
        "60",
    ]);
    assert_eq!(r.ok(), "sleep: created\n");
    let r = sv.run(&[
        "create-service",
        "/bin/sleep",
        "60",
        "-r",
        "3",
        "-i",
        &n,
        "--create-stopped",
    ]);
    assert_eq!(r.ok(), "sleep-2: created\n");
    let r = sv.run(&[
        "-i",
        &n,
        "create-service",
        "--name",
        "echo",
        "--create-stopped",
        "/bin/echo",
        "--",
        "-i",
        "99",
    ]);
    assert_eq!(r.ok(), "echo: created\n");
    let r = sv.run(&["-i", &n, "service-status", "echo", "--json"]);
    assert!(r.ok().contains("\"command\":\"/bin/echo -i 99\""), "{r:?}");

    // Out of range stays a usage error, wherever it stands.
    for args in [
        &["-i", "100", "status"][..],
        &["status", "-i", "100"],
        &["-i", "x", "status"],
    ] {
        let r = sv.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
    }
    // Before --help or --version it changes nothing.
    assert_eq!(sv.run(&["-i", &n, "--version"]).code, 0);
}

#[test]
fn daemon_and_init_take_dash_i() {
    for (i, args) in [
        (21u8, vec!["daemon", "-i", "21"]),
        (22, vec!["-i", "22", "daemon"]),
        (23, vec!["--instance", "23", "daemon"]),
    ] {
        let mut sv = Sv::new(i);
        let mut cmd = sv.command();
        cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::null());
        sv.launch(cmd);
        let r = sv.close();
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
    }
    // Two different instances on one line are refused.
    let sv = Sv::new(24);
    let r = sv.run(&["daemon", "24", "-i", "25"]);
    assert_eq!(r.code, 2, "{r:?}");
    // `sv -i N init` as `sv init -i N`.
    let mut sv = Sv::new(26);
    let r = sv.run(&["-i", "26", "init"]);
    assert!(r.ok().starts_with("supervisor 26: started, pid "), "{r:?}");
    sv.close();
}

// ------------------------------------------------------------ the name rule

#[test]
fn a_name_past_the_limit_is_refused_naming_it_and_one_at_it_logs() {
    let sv = Sv::daemon(N);
    let long = "x".repeat(300);
    let r = sv.sv(&["create-service", "--name", &long, "/bin/echo", "hi"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("at most 128 bytes"), "{r:?}");
    assert!(r.stderr.contains("is 300"), "{r:?}");
    assert_eq!(names(&sv, &[]), Vec::<String>::new());

    // 128 bytes: its output is logged, and tail finds it.
    let max = "m".repeat(128);
    let n = N.to_string();
    let r = sv.run(&[
        "create-service",
        "-i",
        &n,
        "--name",
        &max,
        "--set",
        "startsecs=0",
        "/bin/sh",
        "--",
        "-c",
        "echo logged-ok; exec sleep 600",
    ]);
    assert!(r.ok().starts_with(&format!("{max}: started")), "{r:?}");
    assert!(
        wait_until(10, || sv.sv(&["tail", &max]).stdout.contains("logged-ok")),
        "{:?}",
        sv.sv(&["status", &max])
    );

    // Names that would read as other targets.
    for (bad, why) in [
        ("all", "every service"),
        ("123", "pid"),
        ("a b", "may not contain"),
    ] {
        let r = sv.sv(&["create-service", "--name", bad, "/bin/true"]);
        assert_ne!(r.code, 0, "{bad}: {r:?}");
        assert!(r.stderr.contains(why), "{bad}: {r:?}");
    }
    // open-service --name follows the same rule.
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("600")
        .spawn()
        .expect("spawn sleep");
    let pid = child.id().to_string();
    let r = sv.sv(&["open-service", &pid, "--name", &long]);
    let r2 = sv.sv(&["open-service", &pid, "--name", "all"]);
    // Recorded pid: the sleep this test started.
    let _ = child.kill();
    let _ = child.wait();
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("at most 128 bytes"), "{r:?}");
    assert_ne!(r2.code, 0, "{r2:?}");
    assert!(r2.stderr.contains("every service"), "{r2:?}");
}

#[test]
fn a_long_program_basename_gives_a_default_name_within_the_limit() {
    let sv = Sv::daemon(N);
    let base = "s".repeat(200);
    let link = sv.work.path().join(&base);
    std::os::unix::fs::symlink("/bin/sleep", &link).unwrap();
    let path = link.to_str().unwrap();
    let first = sv.sv(&["create-service", "--set", "startsecs=0", path, "600"]);
    let second = sv.sv(&["create-service", "--set", "startsecs=0", path, "600"]);
    let a = format!("{}: started", "s".repeat(128));
    let b = format!("{}-2: started", "s".repeat(126));
    assert!(first.ok().starts_with(&a), "{first:?}");
    assert!(second.ok().starts_with(&b), "{second:?}");
}

#[test]
fn a_config_name_past_the_limit_is_an_error_naming_it() {
    let sv = Sv::new(N);
    let long = "p".repeat(300);
    let path = sv.write_conf(&format!("[program:{long}]\ncommand=/bin/true\n"));
    let r = sv.run(&["check", "-c", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("sv.conf:1:"), "{r:?}");
    assert!(r.stderr.contains("at most 128 bytes"), "{r:?}");
    let path = sv.write_conf("[program:all]\ncommand=/bin/true\n");
    let r = sv.run(&["check", "-c", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("every service"), "{r:?}");
}
