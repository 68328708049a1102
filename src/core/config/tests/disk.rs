//! Real files: the configs in testdata, `load` and the real host.

use super::*;
use crate::core::service::{AutoRestart, RestartRule};
use crate::core::spec::OutputSpec;
use std::time::Duration;

// ---- on disk ----

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

#[test]
fn loads_the_docker_config() {
    let path = testdata("configs/supervisord-docker.conf");
    let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.path, path);
    assert_eq!(
        names(&c),
        [
            "nginx",
            "php-fpm",
            "queue-worker_00",
            "queue-worker_01",
            "queue-worker_02",
            "queue-worker_03",
            "cron"
        ]
    );
    let nginx = &c.programs[0].processes[0];
    assert_eq!(argv(nginx), ["/usr/sbin/nginx", "-g", "daemon off;"]);
    assert_eq!(nginx.stdout, OutputSpec::Daemon(1));
    assert_eq!(nginx.stderr, OutputSpec::Daemon(2));
    assert_eq!(nginx.maxbytes, [0, 0]);
    let w = &c.programs[2].processes[3];
    assert_eq!(w.user.as_deref(), Some("www-data"));
    assert_eq!(w.policy.stopwait, Duration::from_secs(3600));
    assert!(matches!(
        w.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Always,
            startretries: 3
        }
    ));
    // From docker.d/cron.conf, included by a glob.
    assert!(c.programs[3].file.ends_with("configs/docker.d/cron.conf"));
    let warned: Vec<_> = c
        .warnings
        .iter()
        .map(|w| w.rsplit(": ").next().unwrap_or(""))
        .collect();
    // Read, and so not warned about (SPEC §13).
    for section in [
        "[supervisord]",
        "[rpcinterface:supervisor]",
        "[supervisorctl]",
        "[unix_http_server]",
    ] {
        assert!(
            c.warnings.iter().all(|w| !w.contains(section)),
            "{warned:?}"
        );
    }
    assert!(c.supervisord.is_some());
    assert!(c.http.unix.is_some());
    // Read since SPEC §14: no warning.
    assert!(c
        .warnings
        .iter()
        .all(|w| !w.contains("stdout_events_enabled")));
    assert_eq!(c.programs[2].processes[0].events_enabled, [true, false]);
    assert!(c
        .warnings
        .iter()
        .all(|w| w.starts_with(path.to_str().unwrap())));
}

#[test]
fn loads_the_ecommerce_config() {
    let path = testdata("configs/ecommerce.conf");
    let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(names(&c), ["ecommerce_api_00", "ecommerce_api_01"]);
    let s = &c.programs[0].processes[1];
    assert_eq!(argv(s), ["/bin/sleep", "3600"]);
    assert!(!s.autostart);
    assert_eq!(s.cwd, Some(PathBuf::from("/tmp")));
    assert_eq!(
        s.env,
        vec![
            ("APP_ENV".to_string(), "production".to_string()),
            ("GREETING".to_string(), "hello, world".to_string()),
            ("PORT".to_string(), "8001".to_string()),
        ]
    );
    assert_eq!(s.umask, Some(0o022));
    assert_eq!(s.user.as_deref(), Some("nobody"));
    assert_eq!(
        s.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Unexpected,
            startretries: 5
        }
    );
    assert_eq!(s.policy.exitcodes, vec![0, 2]);
    assert_eq!(s.policy.startsecs, Duration::from_secs(2));
    assert_eq!(s.policy.stopsignal, libc::SIGQUIT);
    assert_eq!(s.policy.stopwait, Duration::from_secs(20));
    assert!(s.policy.group);
    assert_eq!(
        s.stdout,
        OutputSpec::File("/tmp/ecommerce_api_01.out.log".into())
    );
    assert_eq!(
        s.stderr,
        OutputSpec::File("/tmp/ecommerce_api_01.err.log".into())
    );
    assert_eq!(s.maxbytes, [10 << 20, 1 << 20]);
    assert_eq!(s.backups, [5, 2]);
    assert!(!s.redirect_stderr);
    assert_eq!(s.priority, 100);
}

#[test]
fn loads_the_demo_config() {
    let c = load(&testdata("demo.conf")).unwrap_or_else(|e| panic!("{e}"));
    assert!(processes(&c).count() >= 1);
}

#[test]
fn load_reports_a_missing_file() {
    let e = load(Path::new("/nonexistent/sv.conf")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/sv.conf: cannot read the config file: "),
        "{e}"
    );
}

#[test]
fn load_follows_includes_on_disk_and_dedups() {
    let dir = std::env::temp_dir().join(format!("sv-config-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(
        dir.join("main.conf"),
        "[include]\nfiles=conf.d/*.conf *.conf\n[program:main]\ncommand=/bin/main\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("conf.d/b.conf"),
        "[program:b]\ncommand=%(here)s/b\n",
    )
    .unwrap();
    std::fs::write(dir.join("conf.d/a.conf"), "[program:a]\ncommand=/bin/a\n").unwrap();
    std::fs::write(
        dir.join("conf.d/bad.conf"),
        b"[program:c]\ncommand=/bin/\xff\n",
    )
    .unwrap();
    let e = load(&dir.join("main.conf")).unwrap_err().to_string();
    assert!(
        e.contains("conf.d/bad.conf: line 2 is not UTF-8 text"),
        "{e}"
    );
    std::fs::remove_file(dir.join("conf.d/bad.conf")).unwrap();
    // main.conf matches *.conf itself: it is not read twice.
    let c = load(&dir.join("main.conf")).unwrap_or_else(|e| panic!("{e}"));
    let progs: Vec<_> = c.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(progs, ["main", "a", "b"]);
    assert_eq!(
        argv(&c.programs[2].processes[0]),
        [dir.join("conf.d/b").to_str().unwrap()]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn system_hostname_is_not_empty() {
    assert!(!System.hostname().is_empty());
}
