//! SPEC 3 (`check`, a daemon on a broken config) and the shipped configs,
//! checked and run against a real daemon per test.
//!
//! Helpers shared with the other spec_4_2_programs_* files (the instance,
//! a daemon on a config, the status rows) are in tests/common/programs.rs.
mod common;
use common::programs::N;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// Writes `conf` to `sv.work/sv.conf` and returns its path.
/// Spawns `sv daemon N -c PATH` with its stderr in `work/daemon.err`.
fn spawn_daemon(sv: &Sv, path: &Path) -> Child {
    let err = std::fs::File::create(sv.work.path().join("daemon.err")).expect("daemon.err");
    sv.command()
        .args(["daemon", &N.to_string(), "-c"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn sv daemon")
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

// ---------------------------------------------------------------- check (3)

#[test]
fn check_lists_processes_then_warnings() {
    let sv = Sv::new(N);
    let conf = repo("testdata/configs/supervisord-docker.conf");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), conf.as_os_str()]);
    let out = r.ok();
    let lines: Vec<&str> = out.lines().collect();
    let procs: Vec<(&str, String)> = lines
        .iter()
        .take_while(|l| !l.starts_with("warning: "))
        .map(|l| {
            let (name, cmd) = l.split_once("  ").expect("NAME  command");
            (name, cmd.trim_start().to_string())
        })
        .collect();
    assert_eq!(
        procs,
        vec![
            ("nginx", "/usr/sbin/nginx -g 'daemon off;'".to_string()),
            (
                "php-fpm",
                "/usr/local/sbin/php-fpm --nodaemonize".to_string()
            ),
            (
                "queue-worker:queue-worker_00",
                "php /var/www/html/artisan queue:work --sleep=3 --tries=3 --max-time=3600"
                    .to_string()
            ),
            (
                "queue-worker:queue-worker_01",
                "php /var/www/html/artisan queue:work --sleep=3 --tries=3 --max-time=3600"
                    .to_string()
            ),
            (
                "queue-worker:queue-worker_02",
                "php /var/www/html/artisan queue:work --sleep=3 --tries=3 --max-time=3600"
                    .to_string()
            ),
            (
                "queue-worker:queue-worker_03",
                "php /var/www/html/artisan queue:work --sleep=3 --tries=3 --max-time=3600"
                    .to_string()
            ),
            ("cron", "/usr/sbin/cron -f".to_string()),
        ],
        "{out}"
    );
    let warnings: Vec<&str> = lines[procs.len()..].to_vec();
    assert!(warnings.iter().all(|w| w.starts_with("warning: ")), "{out}");
    // supervisord's own sections are read (SPEC §13), so not warned about.
    for named in [
        "[supervisord]",
        "[rpcinterface:supervisor]",
        "[supervisorctl]",
        "[unix_http_server]",
    ] {
        assert!(
            warnings.iter().all(|w| !w.contains(named)),
            "a warning names {named}: {out}"
        );
    }
    // Read since SPEC §14, so not warned about.
    assert!(
        warnings
            .iter()
            .all(|w| !w.contains("stdout_events_enabled")),
        "a warning names stdout_events_enabled: {out}"
    );
    // Each warning names the file and line (an included file's, for what
    // would fail at run time in a program of it).
    let file = conf.display().to_string();
    let included = repo("testdata/configs/docker.d").display().to_string();
    assert!(
        warnings
            .iter()
            .all(|w| w.starts_with(&format!("warning: {file}:"))
                || w.starts_with(&format!("warning: {included}/"))),
        "{out}"
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn check_accepts_the_shipped_configs() {
    let sv = Sv::new(N);
    let conf = repo("testdata/configs/ecommerce.conf");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), conf.as_os_str()]);
    let out = r.ok();
    let got: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        got,
        vec![
            vec!["ecommerce_api:ecommerce_api_00", "/bin/sleep", "3600"],
            vec!["ecommerce_api:ecommerce_api_01", "/bin/sleep", "3600"],
        ],
        "{out}"
    );

    let conf = repo("testdata/demo.conf");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), conf.as_os_str()]);
    let out = r.ok();
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "parrot",
            "parrots:parrots_00",
            "parrots:parrots_01",
            "parrots:parrots_02",
            "crasher",
            "chatty"
        ],
        "{out}"
    );
    assert!(out.contains("--message 'copy 1 of parrots'"), "{out}");
    assert!(!out.contains("warning"), "{out}");
}

#[test]
fn check_reports_a_broken_config_with_file_and_line() {
    let sv = Sv::new(N);
    let path = sv.write_conf(
        "[program:a]\ncommand=/bin/true\n\n[program:b]\ncommand=/bin/true\nautorestart=sometimes\n",
    );
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    let want = format!("error: {}:6: ", path.display());
    assert!(r.stderr.starts_with(&want), "{r:?}");
    assert!(r.stderr.contains("autorestart"), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");

    // A program without a command names its section's line.
    let path = sv.write_conf("; nothing\n[program:a]\nnumprocs=2\n");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("error: {}:2: ", path.display())),
        "{r:?}"
    );
    // A bad value.
    let path = sv.write_conf("[program:a]\ncommand=/bin/true\nnumprocs=many\n");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("error: {}:3: ", path.display())),
        "{r:?}"
    );
}

#[test]
fn daemon_refuses_a_broken_config_and_starts_nothing() {
    let mut sv = Sv::new(N);
    let path = sv.write_conf("[program:marker]\ncommand=/bin/sh -c 'touch started; exec sleep 60'\nstartsecs=0\n\ngarbage line\n",
    );
    let out = sv
        .command()
        .args(["daemon", &N.to_string(), "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .output()
        .expect("run daemon");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("error: {}:5:", path.display())),
        "{stderr}"
    );
    assert!(!sv.work.path().join("started").exists());
    let r = sv.sv(&["status"]);
    assert_eq!(r.code, 3, "{r:?}");
    // Nothing to close.
    let r = sv.close();
    assert_eq!(r.code, 3, "{r:?}");
}

// --------------------------------------------------------------- the demo

#[test]
fn demo_config_runs() {
    let mut sv = Sv::new(N);
    let child = spawn_daemon(&sv, &repo("testdata/demo.conf"));
    sv.child = Some(child);
    sv.wait_ready();
    sv.wait_state("parrot", "RUNNING", 10);
    for n in [
        "parrots:parrots_00",
        "parrots:parrots_01",
        "parrots:parrots_02",
        "chatty",
    ] {
        sv.wait_state(n, "RUNNING", 10);
    }
    let detail = sv.wait_state("crasher", "FATAL", 20);
    assert_eq!(detail, "Exited too quickly (process log may have details)");
    let pids: Vec<i32> = [
        "parrots:parrots_00",
        "parrots:parrots_01",
        "parrots:parrots_02",
    ]
    .iter()
    .map(|n| sv.pid(n).unwrap())
    .collect();
    let r = sv.sv(&["stop", "parrots:*"]);
    assert_eq!(
        r.ok(),
        "parrots:parrots_00: stopped\nparrots:parrots_01: stopped\nparrots:parrots_02: stopped\n"
    );
    for p in pids {
        assert!(wait_until(5, || !alive(p)), "pid {p} still alive");
    }
    for n in [
        "parrots:parrots_00",
        "parrots:parrots_01",
        "parrots:parrots_02",
    ] {
        assert_eq!(sv.state(n).unwrap().0, "STOPPED");
    }
    assert_eq!(sv.state("parrot").unwrap().0, "RUNNING");
    assert_eq!(sv.state("chatty").unwrap().0, "RUNNING");
    // The parrot talks into its AUTO log.
    let log = log_path(&sv, "parrot", "stdout");
    assert!(wait_until(5, || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("the parrot is alive")));
    let r = sv.close();
    assert_eq!(r.ok(), format!("supervisor {N}: stopped\n"));
}
