//! SPEC §5 and §3 `sv check`: an unknown key in a known section is a
//! warning (file, line, `did you mean`), not an error, and the file loads in
//! the daemon too; `--strict` makes any warning exit 1; check also warns
//! about what would fail at run time; errors come in file order.

mod common;

use common::{wait_until, Sv};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Instance numbers: each test has its own runtime dir, these only keep
/// the daemons apart in `ps`.
const N: u8 = 57;

fn check(sv: &Sv, path: &Path, strict: bool) -> common::Run {
    let mut args = vec!["check".as_ref(), "-c".as_ref(), path.as_os_str()];
    if strict {
        args.push("--strict".as_ref());
    }
    sv.run(&args)
}

const TYPO: &str = "[program:web]\ncommand=/bin/sleep 60\nstartsecs=0\nautorestrat=true\n\
                    x_other_tool = kept for another tool\n";

#[test]
fn an_unknown_key_is_a_warning_with_file_line_and_hint() {
    let sv = Sv::new(N);
    let path = sv.write_conf(TYPO);
    let r = check(&sv, &path, false);
    let p = path.display();
    assert_eq!(
        r.ok(),
        format!(
            "web  /bin/sleep 60\n\
             warning: {p}:4: unknown key 'autorestrat' in [program:web]; did you mean autorestart?\n\
             warning: {p}:5: unknown key 'x_other_tool' in [program:web]\n"
        )
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn strict_exits_1_on_any_warning() {
    let sv = Sv::new(N);
    let path = sv.write_conf(TYPO);
    let r = check(&sv, &path, true);
    assert_eq!(r.code, 1, "{r:?}");
    // The same report, then why it failed.
    assert_eq!(r.stdout, check(&sv, &path, false).stdout);
    assert!(r.stderr.starts_with("error: 2 warnings"), "{r:?}");

    // A run-time warning counts too.
    let path = sv.write_conf("[program:web]\ncommand=/nonexistent-sv/web\n");
    assert_eq!(check(&sv, &path, false).code, 0);
    assert_eq!(check(&sv, &path, true).code, 1);

    // No warning, no failure.
    let path = sv.write_conf("[program:web]\ncommand=/bin/sleep 60\n");
    let r = check(&sv, &path, true);
    assert_eq!(r.ok(), "web  /bin/sleep 60\n");
    assert_eq!(r.stderr, "");
}

#[test]
fn check_warns_about_what_would_fail_at_run_time() {
    let sv = Sv::new(N);
    // A tool found only through the PATH check runs with.
    let bin = sv.work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let tool = bin.join("mytool");
    std::fs::write(&tool, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = sv.write_conf(
        "[program:a]\ncommand=mytool --flag\n\
         [program:b]\ncommand=no-such-program-sv\nuser=no-such-user-sv\n\
         [program:c]\nenvironment=PATH=/nonexistent-sv\ncommand=mytool\n",
    );
    let out = sv
        .command()
        .args(["check".as_ref(), "-c".as_ref(), path.as_os_str()])
        .env("PATH", format!("{}:/bin:/usr/bin", bin.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let p = path.display();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "a  mytool --flag\nb  no-such-program-sv\nc  mytool\n\
             warning: {p}:4: command 'no-such-program-sv' of [program:b] is not found in PATH\n\
             warning: {p}:5: user 'no-such-user-sv' of [program:b] does not exist\n\
             warning: {p}:8: command 'mytool' of [program:c] is not found in its env's PATH \
             (/nonexistent-sv)\n"
        )
    );

    let path = sv.write_conf("; nothing here yet\n");
    let r = check(&sv, &path, false);
    assert_eq!(
        r.ok(),
        format!(
            "warning: {}: no [program:NAME] section; nothing would run\n",
            path.display()
        )
    );
}

#[test]
fn errors_come_in_file_order() {
    let sv = Sv::new(N);
    let path = sv.write_conf("[program:a]\ncommand=/bin/true\nautostart=maybe\n\n[broken\n");
    let r = check(&sv, &path, false);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("error: {}:3: autostart", path.display())),
        "{r:?}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
}

/// The daemon loads a config with an unknown key, says so in its log, and
/// runs the program; `reload` prints the warning.
#[test]
fn the_daemon_loads_a_config_with_an_unknown_key() {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(TYPO);
    sv.launch(cmd);
    sv.wait_state("web", "RUNNING", 10);
    let log = sv.work.path().join("daemon.err");
    let want = format!(
        "{}:4: unknown key 'autorestrat' in [program:web]; did you mean autorestart?",
        sv.work.path().join("sv.conf").display()
    );
    let mut text = String::new();
    let logged = wait_until(10, || {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains(&want)
    });
    assert!(logged, "no warning in the daemon's log: {text}");

    sv.write_conf(&format!("{TYPO}stopwaitsecs=2\nstartsec=1\n"));
    let r = sv.sv(&["reload"]);
    let out = r.ok();
    assert!(out.contains(&format!("warning: {want}\n")), "{out}");
    assert!(
        out.contains(":7: unknown key 'startsec' in [program:web]; did you mean startsecs?"),
        "{out}"
    );
    sv.wait_state("web", "RUNNING", 10);
    sv.close().ok();
}
