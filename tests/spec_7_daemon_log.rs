//! SPEC §7: the daemon's own log. Syslog priorities that mean something
//! (err for failures, notice for state changes, info for commands that
//! change something, debug for read-only requests), `--log FILE`, the
//! instance's own `daemon.log` when nothing else is heard, lines in order
//! with children that share the daemon's stdout, and lines that say what
//! happened (which signal, SIGKILL after stopwaitsecs, FATAL after N
//! attempts).

mod common;

use common::{alive, daemon_err, daemon_pid, kill, wait_until, Sv};
use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const N: u8 = 17;

/// A datagram socket standing in for /dev/log, drained by a thread of its
/// own: a unix datagram socket queues only a few lines
/// (net.unix.max_dgram_qlen) and the daemon drops what does not fit.
struct Syslog {
    path: PathBuf,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Syslog {
    fn bind(sv: &Sv) -> Syslog {
        let path = sv.work.path().join("log.sock");
        let sock = UnixDatagram::bind(&path).expect("bind syslog socket");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !st.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                    s.lock().unwrap().push(line);
                }
            }
        });
        Syslog { path, seen, stop }
    }

    /// The first line received (now or before) that contains `want`.
    fn line(&self, want: &str, secs: u64) -> Option<String> {
        let mut found = None;
        wait_until(secs, || {
            found = self
                .seen
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(want))
                .cloned();
            found.is_some()
        });
        found
    }

    /// The `<PRI>` of the first line containing `want`.
    #[track_caller]
    fn pri(&self, want: &str) -> u32 {
        let line = self.line(want, 10).unwrap_or_else(|| {
            panic!(
                "no syslog line with {want:?}: {:#?}",
                self.seen.lock().unwrap()
            )
        });
        let pri: String = line[1..].chars().take_while(|c| *c != '>').collect();
        pri.parse()
            .unwrap_or_else(|_| panic!("no priority: {line}"))
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `sv daemon N -c CONF` with stderr in `work/daemon.err`, `env` added.
fn start(sv: &mut Sv, conf: &str, env: &[(&str, &std::ffi::OsStr)], extra: &[&str]) {
    let mut cmd = sv.config_daemon_env(conf, env);
    cmd.args(extra);
    sv.launch(cmd);
}

/// What the daemon has written to `work/daemon.err` so far.
fn err_text(sv: &Sv) -> String {
    std::fs::read_to_string(daemon_err(sv)).unwrap_or_default()
}

/// Waits for the foreground daemon to exit; its exit code.
fn wait_exit(sv: &mut Sv, secs: u64) -> Option<i32> {
    let child = sv.child.as_mut()?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn each_kind_of_line_has_its_syslog_priority() {
    let mut sv = Sv::new(N);
    let log = Syslog::bind(&sv);
    let conf = "[program:web]\ncommand=/bin/sleep 60\nstartsecs=0\nautostart=false\n\n\
                [program:bad]\ncommand=/nonexistent/prog\nautostart=false\n";
    start(
        &mut sv,
        conf,
        &[("SV_SYSLOG_SOCKET", log.path.clone().as_os_str())],
        &[],
    );
    // LOG_DAEMON (3) * 8 + level.
    assert_eq!(log.pri("request: status"), 31, "status is debug");
    assert_eq!(log.pri("answer: 2 services"), 31, "its answer too");
    assert_eq!(sv.sv(&["start", "web"]).ok(), "web: started\n");
    assert_eq!(log.pri("request: start web"), 30, "a command is info");
    assert_eq!(
        log.pri("web: STOPPED -> RUNNING"),
        29,
        "a state change is notice"
    );
    assert_eq!(sv.sv(&["start", "bad"]).code, 1);
    assert_eq!(log.pri("bad: STOPPED -> FATAL"), 27, "a failure is err");
    sv.sv(&["stop", "web"]).ok();
    assert_eq!(log.pri("web: STOPPING -> STOPPED"), 29);
}

#[test]
fn read_only_requests_reach_stderr_only_when_asked() {
    let mut sv = Sv::new(N);
    start(&mut sv, "[program:web]\ncommand=/bin/sleep 60\n", &[], &[]);
    sv.sv(&["status", "web"]).ok();
    // The answer to `stop` is sent after its lines are written.
    sv.sv(&["stop", "web"]).ok();
    let err = err_text(&sv);
    assert!(err.contains("request: stop web"), "{err}");
    assert!(!err.contains("request: status"), "debug on stderr: {err}");
    sv.close();

    let mut sv = Sv::new(N);
    let one = std::ffi::OsString::from("1");
    start(
        &mut sv,
        "[program:web]\ncommand=/bin/sleep 60\n",
        &[("SV_DEBUG", &one)],
        &[],
    );
    sv.sv(&["status", "web"]).ok();
    sv.sv(&["stop", "web"]).ok();
    let err = err_text(&sv);
    assert!(err.contains("request: status web"), "{err}");
}

#[test]
fn log_option_appends_every_line_to_a_file_reopened_on_sigusr2() {
    let mut sv = Sv::new(N);
    let file = sv.work.path().join("d.log");
    let path = file.to_str().unwrap().to_string();
    start(
        &mut sv,
        "[program:web]\ncommand=/bin/sleep 60\n",
        &[],
        &["--log", &path],
    );
    sv.sv(&["stop", "web"]).ok();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(text.contains("request: stop web"), "{text}");
    assert!(text.contains("NOTICE  web: STOPPING -> STOPPED"), "{text}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // logrotate moves it away and says so.
    let moved = sv.work.path().join("d.log.1");
    std::fs::rename(&file, &moved).unwrap();
    kill(daemon_pid(&sv), libc::SIGUSR2);
    assert!(
        wait_until(10, || {
            sv.sv(&["start", "web"]);
            std::fs::read_to_string(&file).is_ok_and(|t| t.contains("request: start web"))
        }),
        "no new file after SIGUSR2"
    );
}

#[test]
fn a_daemon_nobody_hears_keeps_its_log_in_the_instance_directory() {
    let sv = Sv::new(N);
    let own = sv.runtime.path().join(N.to_string()).join("daemon.log");
    let out = sv
        .command()
        .env("SV_SYSLOG_SOCKET", sv.work.path().join("nowhere/log.sock"))
        .args(["init", "-i", &N.to_string()])
        .output()
        .expect("sv init");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // It says so where it can: on init's stderr.
    assert!(err.contains(&own.display().to_string()), "{err}");
    sv.sv(&["create-service", "/bin/sleep", "60"]).ok();
    let text = std::fs::read_to_string(&own).unwrap_or_default();
    assert!(
        text.contains("request: create-service /bin/sleep 60"),
        "{text}"
    );
    let mode = std::fs::metadata(&own).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_daemon_with_syslog_keeps_no_file_of_its_own() {
    let sv = Sv::new(N);
    let log = Syslog::bind(&sv);
    let out = sv
        .command()
        .env("SV_SYSLOG_SOCKET", &log.path)
        .args(["init", "-i", &N.to_string()])
        .output()
        .expect("sv init");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    sv.wait_ready();
    let own = sv.runtime.path().join(N.to_string()).join("daemon.log");
    assert!(!own.exists());
}

/// SIGTERM names itself and how many services it stops; SIGQUIT stops the
/// daemon as SIGTERM does (SPEC §3).
#[test]
fn a_stop_signal_is_named_with_the_number_of_services() {
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGQUIT, "SIGQUIT")] {
        let mut sv = Sv::new(N);
        let conf = "[program:a]\ncommand=/bin/sleep 60\nstartsecs=0\n\n\
                    [program:b]\ncommand=/bin/sleep 60\nstartsecs=0\n";
        start(&mut sv, conf, &[], &[]);
        sv.wait_state("a", "RUNNING", 10);
        sv.wait_state("b", "RUNNING", 10);
        let pids = [sv.pid("a").unwrap(), sv.pid("b").unwrap()];
        kill(daemon_pid(&sv), sig);
        assert_eq!(wait_exit(&mut sv, 20), Some(0), "{name}: {}", err_text(&sv));
        let err = err_text(&sv);
        assert!(
            err.contains(&format!("received {name}: stopping 2 services")),
            "{err}"
        );
        assert!(pids.iter().all(|p| !alive(*p)), "{name} left services");
    }
}

#[test]
fn sigkill_after_stopwaitsecs_is_logged() {
    let mut sv = Sv::new(N);
    let conf = "[program:stubborn]\n\
                command=/bin/sh -c 'trap \"\" TERM; exec sleep 60'\n\
                startsecs=0\nstopwaitsecs=1\n";
    start(&mut sv, conf, &[], &[]);
    sv.wait_state("stubborn", "RUNNING", 10);
    assert_eq!(sv.sv(&["stop", "stubborn"]).ok(), "stubborn: stopped\n");
    let err = err_text(&sv);
    assert!(
        err.contains("stubborn: still running 1 s after SIGTERM; sending SIGKILL"),
        "{err}"
    );
}

#[test]
fn fatal_says_after_how_many_attempts() {
    let mut sv = Sv::new(N);
    let conf = "[program:quick]\ncommand=/bin/false\nstartsecs=1\nstartretries=2\n";
    start(&mut sv, conf, &[], &[]);
    let detail = sv.wait_state("quick", "FATAL", 20);
    // The status detail stays supervisord's.
    assert_eq!(detail, "Exited too quickly (process log may have details)");
    let ok = wait_until(5, || {
        err_text(&sv)
            .contains("quick: STARTING -> FATAL: exited too quickly; gave up after 2 attempts")
    });
    assert!(ok, "{}", err_text(&sv));
}

/// A program with `stdout=/dev/stdout` shares the daemon's output: the
/// daemon's line about what it decided comes before what the child
/// prints in answer (the SIGTERM and the stop before the child's
/// goodbye), not when the loop next sleeps.
#[test]
fn daemon_lines_come_in_order_with_a_childs_shared_output() {
    let mut sv = Sv::new(N);
    let out = sv.work.path().join("out");
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .unwrap()
    };
    let conf = "[program:talker]\n\
                command=/bin/sh -c 'trap \"echo talker-bye; exit 0\" TERM; echo talker-hello; \
                while :; do sleep 0.05; done'\n\
                stdout=/dev/stdout\nstartsecs=0\n";
    let mut cmd = sv.config_daemon(conf);
    cmd.stdout(Stdio::from(open())).stderr(Stdio::from(open()));
    sv.launch(cmd);
    sv.wait_state("talker", "RUNNING", 10);
    let text = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    assert!(wait_until(5, || text(&out).contains("talker-hello")));
    kill(daemon_pid(&sv), libc::SIGTERM);
    assert_eq!(wait_exit(&mut sv, 20), Some(0));
    let t = text(&out);
    let at = |s: &str| t.find(s).unwrap_or_else(|| panic!("no {s:?} in:\n{t}"));
    assert!(at("talker: RUNNING -> STOPPING") < at("talker-bye"), "{t}");
    assert!(at("received SIGTERM") < at("talker-bye"), "{t}");
}
