//! Issue 14's drop-in gaps in `supervisord.log` (SPEC §13, §7): the
//! `[supervisord] logfile` is created 0644 under the umask, as supervisord
//! creates it, and the `supervisord` applet writes supervisord's lines for
//! state changes in supervisord's format, judged against a real
//! supervisord running the same config. `sv daemon --log` keeps sv's.

mod common;

use common::{applet_link, kill, wait_until, Sv};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const N: u8 = 85;

/// The programs both daemons run: one that stays up, one that keeps
/// failing, one that ends well. `bad` has startsecs=10 so that a loaded
/// machine cannot make supervisord see it stay up.
const PROGRAMS: &str = "[program:ok]\ncommand=/bin/sleep 100\nstartsecs=1\n\n\
                        [program:bad]\ncommand=/bin/sh -c 'exit 1'\nstartsecs=10\nstartretries=1\n\n\
                        [program:once]\ncommand=/bin/sh -c 'sleep 0.3'\nstartsecs=0\n\
                        autorestart=false\n";

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// `supervisord -n -c DIR/s.conf` (ours or the real one), its log in DIR.
fn start(sv: &Sv, program: &Path, dir: &Path) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let conf = format!(
        "[supervisord]\nlogfile={0}/supervisord.log\npidfile={0}/supervisord.pid\n\n{PROGRAMS}",
        dir.display()
    );
    std::fs::write(dir.join("s.conf"), conf).unwrap();
    Command::new(program)
        .args(["-n", "-c"])
        .arg(dir.join("s.conf"))
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env("SV_INSTANCE", N.to_string())
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisord")
}

/// Waits until the log in `dir` has said what the three programs did,
/// then stops the daemon with SIGTERM and returns its whole log.
fn run_to_the_end(mut child: Child, dir: &Path) -> String {
    let log = dir.join("supervisord.log");
    let ok = wait_until(20, || {
        let t = read(&log);
        t.contains("gave up: bad") && t.contains("success: ok") && t.contains("exited: once")
    });
    // Recorded pid: the daemon this test started.
    kill(child.id() as i32, libc::SIGTERM);
    let _ = child.wait();
    assert!(ok, "not every change was logged: {}", read(&log));
    read(&log)
}

/// The lines about programs, each with its timestamp checked and cut off
/// and its pids as `N`, once each.
fn program_lines(log: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in log.lines() {
        let (stamp, rest) = line.split_at(line.len().min(23));
        assert!(is_asctime(stamp), "not supervisord's time format: {line:?}");
        let rest = rest.trim_start();
        let words = [
            "spawned:",
            "success:",
            "exited:",
            "gave up:",
            "stopped:",
            "waiting for",
        ];
        let Some((_, msg)) = rest.split_once(' ') else {
            continue;
        };
        if !words.iter().any(|w| msg.starts_with(w)) {
            continue;
        }
        let mut norm = String::new();
        let mut digits = false;
        for c in rest.chars() {
            if c.is_ascii_digit() && msg.starts_with("spawned:") {
                if !digits {
                    norm.push('N');
                }
                digits = true;
            } else {
                digits = false;
                norm.push(c);
            }
        }
        if !out.contains(&norm) {
            out.push(norm);
        }
    }
    out.sort();
    out
}

/// `2026-12-06 21:00:00,123`.
fn is_asctime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 23
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            19 => *c == b',',
            _ => c.is_ascii_digit(),
        })
}

/// The process's umask, from /proc (umask(2) would change it).
fn umask() -> u32 {
    let status = read(Path::new("/proc/self/status"));
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn supervisord_log_has_supervisords_mode_format_and_lines() {
    let sv = Sv::new(N);
    let bin = sv.work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = applet_link(&bin, "supervisord");
    let ours_dir = sv.work.path().join("ours");
    let ours = run_to_the_end(start(&sv, &link, &ours_dir), &ours_dir);
    let mode = std::fs::metadata(ours_dir.join("supervisord.log"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o644 & !umask(), "supervisord.log's mode");
    let lines = program_lines(&ours);
    for want in [
        "INFO spawned: 'ok' with pid N",
        "INFO success: ok entered RUNNING state, process has stayed up for > than 1 seconds \
         (startsecs)",
        "WARN exited: bad (exit status 1; not expected)",
        "INFO gave up: bad entered FATAL state, too many start retries too quickly",
        "INFO success: once entered RUNNING state, process has stayed up for > than 0 seconds \
         (startsecs)",
        "INFO exited: once (exit status 0; expected)",
        "INFO waiting for ok to die",
        "WARN stopped: ok (terminated by SIGTERM)",
    ] {
        assert!(lines.iter().any(|l| l == want), "no {want:?} in {ours}");
    }
    // The judge: a real supervisord on the same config says the same.
    let Some(real) = common::python::venv_program("supervisord") else {
        return;
    };
    let real_dir = sv.work.path().join("real");
    let theirs = run_to_the_end(start(&sv, &real, &real_dir), &real_dir);
    assert_eq!(
        lines,
        program_lines(&theirs),
        "ours:\n{ours}\ntheirs:\n{theirs}"
    );
}

#[test]
fn sv_daemon_log_keeps_svs_own_format() {
    let mut sv = Sv::new(N);
    let file = sv.work.path().join("d.log");
    let mut c = sv.config_daemon("[program:web]\ncommand=/bin/sleep 60\nstartsecs=0\n");
    c.arg("--log").arg(&file);
    sv.launch(c);
    sv.wait_state("web", "RUNNING", 10);
    assert!(wait_until(10, || read(&file)
        .contains("NOTICE  web: STOPPED -> RUNNING")));
    assert!(!read(&file).contains("success:"), "{}", read(&file));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_stop_command_is_waited_for_and_said_as_supervisord_says_it() {
    let mut sv = Sv::new(N);
    let dir = sv.work.path().to_path_buf();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = applet_link(&bin, "supervisord");
    std::fs::write(
        dir.join("s.conf"),
        format!(
            "[supervisord]\nlogfile={0}/supervisord.log\npidfile={0}/supervisord.pid\n\
             [program:web]\ncommand=/bin/sleep 60\nstartsecs=0\n\
             [program:deaf]\ncommand=/bin/sh -c 'trap \"\" TERM; sleep 60'\nstartsecs=0\n\
             stopwaitsecs=1\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut c = Command::new(&link);
    c.args(["-n", "-c", "s.conf"])
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env("SV_INSTANCE", N.to_string())
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sv.launch(c);
    sv.wait_state("web", "RUNNING", 10);
    sv.sv(&["stop", "web"]).ok();
    let log = dir.join("supervisord.log");
    let ok = wait_until(10, || {
        program_lines(&read(&log)).contains(&"WARN stopped: web (terminated by SIGTERM)".into())
    });
    assert!(ok, "{}", read(&log));
    let lines = program_lines(&read(&log));
    assert!(
        lines.contains(&"INFO waiting for web to stop".into()),
        "{lines:?}"
    );
    assert!(
        !read(&log).contains("STOPPING"),
        "sv's own line too: {}",
        read(&log)
    );
    // One that ignores SIGTERM is killed after stopwaitsecs, as supervisord says.
    sv.wait_state("deaf", "RUNNING", 10);
    let pid = sv.pid("deaf").expect("deaf's pid");
    sv.sv(&["stop", "deaf"]).ok();
    let lines = program_lines(&read(&log));
    assert!(
        read(&log).contains(&format!(" WARN killing 'deaf' ({pid}) with SIGKILL")),
        "{}",
        read(&log)
    );
    assert!(
        lines.contains(&"WARN stopped: deaf (terminated by SIGKILL)".into()),
        "{lines:?}"
    );
}
