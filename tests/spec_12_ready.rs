//! SPEC §12 `ready=` in its polled forms: `tcp:`, `http://`, `exec:` and
//! `file:`, each against a real listener or file that turns up only after
//! the program was spawned, so the program is STARTING (whatever startsecs
//! says) until its check succeeds; a program that never becomes ready
//! goes FATAL after startretries; a check against a peer that never
//! answers does not stall the daemon; the loop wakes only when a check is
//! due, and not at all once none is left.

mod common;

use common::{wait_until, Sv};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Instance numbers: each test has its own runtime dir.
const N: u8 = 12;

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

fn daemon_pid(sv: &Sv) -> i32 {
    sv.child.as_ref().expect("foreground daemon").id() as i32
}

/// How many times the daemon went to sleep and woke (voluntary switches).
fn wakeups(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Asserts `name` stays STARTING, waiting for `check`, for `secs`.
#[track_caller]
fn stays_starting(sv: &Sv, name: &str, check: &str, secs: f64) {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < until {
        let (state, detail) = sv.state(name).expect("listed");
        assert_eq!(state, "STARTING", "{name}: {detail}");
        assert!(
            detail.contains(&format!("waiting for ready: {check}")),
            "{name}: {detail}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A program that just sleeps; startsecs=0 would make it RUNNING at once
/// without `ready=`.
fn program(name: &str, ready: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sleep 600\nstartsecs=0\nready={ready}\nready_interval=1\n{extra}\n"
    )
}

#[test]
fn tcp_ready_waits_for_the_listener_then_the_daemon_sleeps() {
    let port = free_port();
    let check = format!("tcp:127.0.0.1:{port}");
    let mut sv = start(&program("web", &check, ""));
    stays_starting(&sv, "web", &check, 1.5);
    // The JSON status carries the same detail.
    let json = sv.sv(&["status", "web", "--json"]);
    assert!(
        json.stdout.contains("waiting for ready: tcp:127.0.0.1"),
        "{json:?}"
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let t0 = Instant::now();
    sv.wait_state("web", "RUNNING", 10);
    println!("RUNNING {:?} after the listener opened", t0.elapsed());
    // No check is left: the daemon does not wake while nothing happens.
    let pid = daemon_pid(&sv);
    assert!(wait_until(10, || {
        let before = wakeups(pid);
        std::thread::sleep(Duration::from_millis(1500));
        wakeups(pid) == before
    }));
    drop(listener);
    sv.close();
}

/// A tiny HTTP server: answers every request with the status in `code`
/// (0: close without a word).
fn http_server(code: Arc<AtomicU16>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
            let c = code.load(Ordering::SeqCst);
            if c == 999 {
                return;
            }
            if c != 0 {
                let _ = write!(conn, "HTTP/1.1 {c} Whatever\r\nContent-Length: 0\r\n\r\n");
            }
        }
    });
    port
}

#[test]
fn http_ready_needs_a_2xx() {
    let code = Arc::new(AtomicU16::new(503));
    let port = http_server(code.clone());
    let check = format!("http://127.0.0.1:{port}/healthz");
    let mut sv = start(&program("api", &check, ""));
    stays_starting(&sv, "api", &check, 1.5);
    let (_, detail) = sv.state("api").unwrap();
    assert!(detail.contains("HTTP 503"), "{detail}");
    code.store(204, Ordering::SeqCst);
    sv.wait_state("api", "RUNNING", 10);
    code.store(999, Ordering::SeqCst);
    let _ = TcpStream::connect(("127.0.0.1", port));
    sv.close();
}

/// A real `python3 -m http.server` as the program itself: RUNNING once it
/// answers, not when it was spawned.
#[test]
fn http_ready_with_a_real_python_server() {
    if std::process::Command::new("python3")
        .arg("-c")
        .arg("import http.server")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        println!("no python3: skipped");
        return;
    }
    let port = free_port();
    let mut sv = start(&format!(
        "[program:py]\ncommand=/bin/sh -c 'sleep 1; exec python3 -m http.server {port} --bind 127.0.0.1'\n\
         startsecs=0\nready=http://127.0.0.1:{port}/\nready_interval=1\nstdout=NONE\nstderr=NONE\n"
    ));
    stays_starting(&sv, "py", &format!("http://127.0.0.1:{port}/"), 0.8);
    sv.wait_state("py", "RUNNING", 30);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    sv.close();
}

#[test]
fn exec_ready_runs_the_command_until_it_exits_0() {
    let dir = common::TempDir::new("flag");
    let flag = dir.path().join("flag");
    let check = format!("exec:test -f {}", flag.display());
    let mut sv = start(&program("job", &check, ""));
    stays_starting(&sv, "job", &check, 1.5);
    let (_, detail) = sv.state("job").unwrap();
    assert!(detail.contains("exit 1"), "{detail}");
    std::fs::write(&flag, "").unwrap();
    sv.wait_state("job", "RUNNING", 10);
    // The check's children were reaped: none is left a zombie or counted
    // as a leftover of the service.
    let (_, detail) = sv.state("job").unwrap();
    assert!(!detail.contains("left"), "{detail}");
    sv.close();
}

/// The slow starter: its program creates the file only after a while, and
/// `sv start` returns once it is ready, not when it was spawned.
#[test]
fn file_ready_slow_starter_and_sv_start_waits_for_it() {
    let dir = common::TempDir::new("ready");
    let file = dir.path().join("up");
    let mut sv = start(&format!(
        "[program:slow]\ncommand=/bin/sh -c 'sleep 2; touch {}; exec sleep 600'\n\
         autostart=false\nstartsecs=0\nready=file:{}\nready_interval=1\n",
        file.display(),
        file.display()
    ));
    let t0 = Instant::now();
    let r = sv.sv(&["start", "slow"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("slow: started"), "{r:?}");
    assert!(
        file.exists(),
        "sv start returned before the program was ready"
    );
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    let (state, _) = sv.state("slow").unwrap();
    assert_eq!(state, "RUNNING");
    sv.close();
}

#[test]
fn never_ready_is_fatal_after_startretries() {
    let port = free_port();
    let mut sv = start(&program(
        "never",
        &format!("tcp:127.0.0.1:{port}"),
        "ready_timeout=1\nstartretries=2\nstopwaitsecs=1",
    ));
    let mut backoff = None;
    assert!(wait_until(20, || {
        backoff = sv.state("never").filter(|(s, _)| s == "BACKOFF");
        backoff.is_some()
    }));
    let (_, detail) = backoff.unwrap();
    assert!(
        detail.starts_with("not ready within 1 s, retry in"),
        "{detail}"
    );
    let detail = sv.wait_state("never", "FATAL", 30);
    assert!(detail.contains("not ready within 1 s"), "{detail}");
    let log = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    let why =
        format!("never: not ready within 1 s (tcp:127.0.0.1:{port}, last try: connection refused)");
    assert!(log.contains(&why), "{log}");
    sv.close();
}

/// A listener whose accept queue is full drops every SYN: a connect to it
/// hangs as one to a host that drops packets does.
fn black_hole() -> (OwnedFd, TcpStream, u16) {
    // SAFETY: plain socket calls on a descriptor this function owns.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let owned = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as _;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut l = len;
        libc::getsockname(fd, (&mut got as *mut libc::sockaddr_in).cast(), &mut l);
        let port = u16::from_be(got.sin_port);
        // Fills the queue (backlog 0 holds one).
        let filler = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert!(owned.as_raw_fd() >= 0);
        (owned, filler, port)
    }
}

#[test]
fn a_check_that_hangs_does_not_stall_the_daemon() {
    let (_listener, _filler, port) = black_hole();
    let check = format!("tcp:127.0.0.1:{port}");
    let mut sv = start(&program("hung", &check, "ready_timeout=60"));
    stays_starting(&sv, "hung", &check, 0.5);
    for _ in 0..5 {
        let t0 = Instant::now();
        let r = sv.sv(&["status"]);
        let took = t0.elapsed();
        assert_eq!(r.code, 0, "{r:?}");
        assert!(took < Duration::from_secs(1), "status took {took:?}");
        let (state, detail) = sv.state("hung").unwrap();
        assert_eq!(state, "STARTING", "{detail}");
        // The first try is still under way: nothing has answered it.
        assert!(!detail.contains("last try"), "{detail}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The try is under way with a deadline seconds off: the daemon sleeps.
    let pid = daemon_pid(&sv);
    assert!(wait_until(10, || {
        let before = wakeups(pid);
        std::thread::sleep(Duration::from_millis(1000));
        wakeups(pid) <= before + 2
    }));
    // The try gives up at its own deadline, and the next one begins.
    let mut detail = String::new();
    assert!(
        wait_until(15, || {
            detail = sv.state("hung").unwrap().1;
            detail.contains("last try: timed out")
        }),
        "{detail}"
    );
    sv.close();
}

/// An exec check that never ends is killed at its deadline and reaped:
/// once the program is FATAL the daemon has no child left.
#[test]
fn an_exec_check_that_hangs_is_killed_and_reaped() {
    let mut sv = start(&program(
        "stuck",
        "exec:/bin/sleep 600",
        "ready_timeout=1\nstartretries=1\nstopwaitsecs=1",
    ));
    let detail = sv.wait_state("stuck", "FATAL", 30);
    assert!(detail.contains("not ready within 1 s"), "{detail}");
    let pid = daemon_pid(&sv);
    let mut left = Vec::new();
    assert!(
        wait_until(10, || {
            left = common::children(pid);
            left.is_empty()
        }),
        "children left: {left:?}"
    );
    sv.close();
}

#[test]
fn unsupported_forms_are_refused_with_file_and_line() {
    let sv = Sv::new(N);
    for (value, line) in [("fd:2", 4), ("fd:x", 4)] {
        let path = sv.write_conf(&format!(
            "[program:n]\ncommand=/bin/sleep 60\n\nready={value}\n"
        ));
        let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
        assert_ne!(r.code, 0, "{r:?}");
        let want = format!(
            "sv.conf:{line}: ready in [program:n]: ready '{value}': N of fd:N must be 3 to 255"
        );
        assert!(r.stderr.contains(&want), "{r:?}");
    }
}

/// `create-service --set ready=...`: it waits for ready as `start` does.
#[test]
fn ad_hoc_services_take_ready_too() {
    let mut sv = Sv::daemon(N);
    let dir = common::TempDir::new("adhoc");
    let file = dir.path().join("ok");
    let set = format!("ready=file:{}", file.display());
    let create = sv.spawn_sv(&[
        "create-service",
        "--set",
        &set,
        "--name",
        "adhoc",
        "/bin/sleep",
        "600",
    ]);
    assert!(wait_until(10, || sv.state("adhoc").is_some()));
    stays_starting(&sv, "adhoc", &format!("file:{}", file.display()), 1.2);
    std::fs::write(&file, "").unwrap();
    let out = create.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {:?}", out.stderr);
    assert!(text.contains("adhoc: started"), "{text}");
    assert_eq!(sv.state("adhoc").unwrap().0, "RUNNING");
    let r = sv.sv(&["create-service", "--set", "ready=fd:1", "/bin/sleep", "600"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        (r.stdout.clone() + &r.stderr).contains("N of fd:N must be 3 to 255"),
        "{r:?}"
    );
    sv.close();
}
