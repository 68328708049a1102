//! SPEC §7, §9, §11: nothing a client does starves the loop or the other
//! clients. Idle connections time out and make room for newcomers, one
//! process cannot hold every slot, a peer that never reads its answers gets
//! no more of them, every answer reaches the client whatever its size, and
//! one request (or a flood of refused ones) writes a bounded amount to the
//! daemon's own log.
mod common;
use common::*;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sv::wire::frame::read_msg;
use sv::wire::{encode, Request, Response, Text};

// ---------------------------------------------------------------- helpers

const N: u8 = 7;

fn connect(sv: &Sv) -> UnixStream {
    let s = UnixStream::connect(sock_path(sv)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// `sv daemon N -c CONF` with `env`, stderr to `work/daemon.err`. Ready
/// when it answers a ping: a `status` too big for the old daemon must fail
/// in the test, not here.
fn start(conf: &str, env: &[(&str, &str)]) -> Sv {
    let mut sv = Sv::new(N);
    let mut cmd = sv.config_daemon_env(conf, env);
    cmd.stdin(Stdio::null());
    sv.child = Some(cmd.spawn().expect("spawn sv daemon"));
    let ready = wait_until(10, || {
        let Ok(mut s) = UnixStream::connect(sock_path(&sv)) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&encode(&Request::Ping)).is_ok()
            && matches!(read_msg::<Response>(&mut s), Ok(Some(Response::Ok(_))))
    });
    assert!(ready, "daemon {N} never answered a ping");
    sv
}

/// Runs `cmd` with a deadline: (exit code, stdout, stderr, time taken), or
/// Err when it hung (it is killed then: a recorded pid, our own child).
fn run_within(mut cmd: Command, secs: u64) -> Result<(i32, String, String, Duration), String> {
    let t0 = Instant::now();
    let out_path = std::env::temp_dir().join(format!(
        "sv-limits-out-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let deadline = t0 + Duration::from_secs(secs);
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&out_path);
            return Err(format!("hung for {secs} s"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = t0.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    Ok((status.code().unwrap_or(-1), out, err, took))
}

/// `sv ARGS -i N` with a deadline.
fn sv_within(sv: &Sv, args: &[&str], secs: u64) -> Result<(i32, String, String, Duration), String> {
    let mut cmd = sv.command();
    cmd.args(args).args(["-i", &sv.instance.to_string()]);
    run_within(cmd, secs)
}

/// How many times the daemon went to sleep and woke (voluntary switches).
fn wakeups(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Whether the daemon has closed `s` (EOF or reset) within `secs`.
fn closed_within(s: &mut UnixStream, secs: u64) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

// ---------------------------------------------------------------- slots

/// 520 idle connections from one process (more than the table holds) once
/// locked every client out for good: the listener left poll and `sv status`
/// hung. A process now holds at most half of the slots (its oldest
/// idle connection makes room for its newest), so another process gets in.
#[test]
fn idle_connections_of_one_process_lock_nobody_out() {
    let sv = Sv::daemon(N);
    let mut held = Vec::new();
    for _ in 0..520 {
        held.push(connect(&sv));
    }
    let mut took = Vec::new();
    for _ in 0..3 {
        match sv_within(&sv, &["status"], 10) {
            Ok((0, _, _, t)) => took.push(t),
            Ok(r) => panic!("sv status failed beside 520 idle connections: {r:?}"),
            Err(e) => panic!("sv status beside 520 idle connections: {e}"),
        }
    }
    println!("status beside 520 idle connections of one process: {took:?}");
    assert!(took.iter().all(|t| *t < Duration::from_secs(5)), "{took:?}");
    // The first ones were let go to make room; the newest are still open.
    assert!(closed_within(&mut held[0], 5), "the oldest was kept");
    drop(held);
    assert!(alive(daemon_pid(&sv)));
}

/// SV_IDLE_TIMEOUT_MS: a connection that sends no whole request in that
/// time is closed, also one stalled in the middle of a frame; one waiting
/// for `tail -f` output is not. With no connection left the daemon sleeps
/// with no wake-up at all (the timeout is a deadline, not a tick).
#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let sv = start(
        "[program:p]\ncommand=/bin/sleep 600\nstartsecs=0\n",
        &[("SV_IDLE_TIMEOUT_MS", "300")],
    );
    sv.wait_state("p", "RUNNING", 10);
    let pid = daemon_pid(&sv);
    let mut silent: Vec<UnixStream> = (0..5).map(|_| connect(&sv)).collect();
    let mut stalled = connect(&sv);
    stalled.write_all(&[3, 0]).unwrap();
    // Answered, then silent.
    let mut answered = connect(&sv);
    answered.write_all(&encode(&Request::Ping)).unwrap();
    assert!(matches!(
        read_msg::<Response>(&mut answered).unwrap(),
        Some(Response::Ok(_))
    ));
    let mut follower = connect(&sv);
    follower
        .write_all(&encode(&Request::Tail(sv::wire::TailSpec {
            target: Text::from("p"),
            stream: 0,
            lines: 10,
            follow: true,
        })))
        .unwrap();
    assert!(matches!(
        read_msg::<Response>(&mut follower).unwrap(),
        Some(Response::Bytes(_))
    ));

    let t0 = Instant::now();
    for s in silent.iter_mut().chain([&mut stalled, &mut answered]) {
        assert!(closed_within(s, 5), "an idle connection was kept open");
    }
    println!("idle connections closed after {:?}", t0.elapsed());
    // The follower waits for output: still open.
    follower
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    match follower.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the tail -f connection was closed or spoke: {other:?}"),
    }
    drop(follower);
    // Nothing left to time out: no wake-up while nothing happens.
    assert!(wait_until(5, || {
        let before = wakeups(pid);
        std::thread::sleep(Duration::from_millis(500));
        wakeups(pid) == before
    }));
}

// ---------------------------------------------------------------- memory

/// Clients that pipeline `status` of 2,000 services and never read once
/// drove the daemon into gigabytes: every answer was made and buffered.
/// Now no request is taken while an answer is unread, so each holds one.
#[test]
fn clients_pipelining_status_without_reading_keep_memory_bounded() {
    let sv = start(
        "[program:p]\ncommand=/bin/sleep 600\nautostart=false\nnumprocs=1000\n\
         stdout_logfile=NONE\n\
         [program:q]\ncommand=/bin/sleep 600\nautostart=false\nnumprocs=1000\n\
         stdout_logfile=NONE\n",
        &[],
    );
    let pid = daemon_pid(&sv);
    let before = proc_kib(pid, "VmRSS");
    let one = sv_within(&sv, &["status"], 30).expect("status");
    assert_eq!(one.1.lines().count(), 2000, "{}", one.2);

    let frame = encode(&Request::Status(Vec::new().into()));
    let burst: Vec<u8> = frame.repeat(30);
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut s = connect(&sv);
        s.set_nonblocking(true).unwrap();
        // As much as the socket takes; never read.
        let _ = s.write(&burst);
        clients.push(s);
    }
    // Another client is answered meanwhile.
    let other = sv_within(&sv, &["status"], 30).expect("status beside the pipeliners");
    assert_eq!(other.0, 0, "{other:?}");
    let peak = proc_kib(pid, "VmHWM");
    let now = proc_kib(pid, "VmRSS");
    println!(
        "100 clients x 30 pipelined status of 2000 services: RSS {before} KiB before, \
         {now} KiB after, peak {peak} KiB; another status answered in {:?}",
        other.3
    );
    assert!(peak < 200 * 1024, "daemon peak RSS {peak} KiB");
    drop(clients);
    assert!(alive(pid));
}

// ---------------------------------------------------------------- big answers

/// 320 services whose commands carry 6 KB of arguments: the status is about
/// 2 MB, over one frame. It comes in parts and shows every service.
#[test]
fn status_of_services_with_long_commands_shows_them_all() {
    let arg = "a".repeat(6 * 1024);
    let conf = format!(
        "[program:p]\ncommand=/bin/sleep 600 {arg}\nautostart=false\nnumprocs=320\n\
         process_name=%(program_name)s_%(process_num)03d\nstdout_logfile=NONE\n"
    );
    let sv = start(&conf, &[]);
    let (code, out, err, took) = sv_within(&sv, &["status"], 30).expect("status");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 320, "{err}");
    for i in 0..320 {
        assert!(out.contains(&format!("p_{i:03} ")), "p_{i:03} missing");
    }
    let (code, json, err, _) = sv_within(&sv, &["status", "--json"], 30).expect("status --json");
    assert_eq!(code, 0, "{err}");
    assert_eq!(json.matches(&arg).count(), 320, "every command in full");
    println!("status of 320 services with 6 KB commands in {took:?}");
}

/// Outcomes over one frame (1 MiB) come in parts and none is lost (once
/// lost as "over the frame limit"). Names are at most 128 bytes now, so it
/// takes 8,000 services (8 programs of 1,000 in a group), removed at once
/// (none runs, so nothing is spawned): about 1.1 MB.
#[test]
fn remove_of_thousands_with_long_names_gets_every_outcome() {
    let long = "n".repeat(120);
    let mut conf = String::from("[group:g]\nprograms=p0,p1,p2,p3,p4,p5,p6,p7\n");
    for p in 0..8 {
        conf.push_str(&format!(
            "[program:p{p}]\ncommand=/bin/sleep 600\nautostart=false\nnumprocs=1000\n\
             process_name={long}_%(program_name)s_%(process_num)03d\n\
             stdout_logfile=NONE\nstderr_logfile=NONE\n"
        ));
    }
    let sv = start(&conf, &[]);
    let (code, out, err, took) =
        sv_within(&sv, &["remove-service", "g:*"], 60).expect("remove-service g:*");
    assert_eq!(code, 0, "{err}");
    assert!(out.len() > 1 << 20, "{} bytes of outcomes", out.len());
    let lines: std::collections::HashSet<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8 * 1000, "one line each");
    for p in 0..8 {
        for i in 0..1000 {
            let line = format!("g:{long}_p{p}_{i:03}: removed");
            assert!(lines.contains(line.as_str()), "p{p} {i}");
        }
    }
    println!(
        "remove of 8000 services with 128-byte names: {} bytes of outcomes in {took:?}",
        out.len()
    );
}

// ---------------------------------------------------------------- the log

/// A request naming a 1 MB target was logged twice in full (request and
/// answer). Each is now cut to a bound, and the answer still comes.
#[test]
fn a_huge_target_name_writes_a_bounded_log() {
    // Read-only requests reach stderr at debug only (SPEC §7).
    let sv = start("", &[("SV_DEBUG", "1")]);
    let log = daemon_err(&sv);
    sv.sv(&["status"]).ok();
    let before = file_len(&log);
    let name = "x".repeat((1 << 20) - 64);
    let mut s = connect(&sv);
    s.write_all(&encode(&Request::Status(
        vec![Text::from(name.as_str())].into(),
    )))
    .unwrap();
    let resp = read_msg::<Response>(&mut s).unwrap();
    assert!(matches!(resp, Some(Response::Error(_))), "{resp:?}");
    drop(s);
    // The answer is sent after its lines are written.
    let grew = file_len(&log) - before;
    println!("a 1 MB target name made the daemon log grow by {grew} bytes");
    assert!(grew < 8 * 1024, "the log grew by {grew} bytes");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("request: status xxx"),
        "the request is still logged"
    );
}

/// 100 clients of another uid, refused alike: the first is logged, the rest
/// only counted, at most one line a second, and the counts add up.
#[test]
fn a_flood_of_refused_clients_is_logged_a_bounded_number_of_times() {
    if !require_root("run a client as another uid") {
        return;
    }
    let sv = start("", &[]);
    // Only the daemon's SO_PEERCRED check stands between uid 65534 and it.
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    set(sv.runtime.path(), 0o755).unwrap();
    set(&sv.runtime.path().join(N.to_string()), 0o755).unwrap();
    set(&sock_path(&sv), 0o666).unwrap();
    let script = format!(
        "i=0; while [ $i -lt 100 ]; do \"$SV\" status -i {N} >/dev/null 2>&1; i=$((i+1)); done"
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script])
        .env("SV", sv_bin())
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .current_dir("/")
        .uid(65534)
        .gid(65534);
    let (code, _, err, took) = run_within(cmd, 120).expect("100 refused clients");
    assert_eq!(code, 0, "{err}");

    // The count of those held back is logged by a later pass: any request wakes it.
    let log = daemon_err(&sv);
    let count = |text: &str| -> (usize, u64) {
        let first = text.matches("refused a client of uid 65534").count();
        let held: u64 = text
            .lines()
            .filter_map(|l| l.split("refused uid: ").nth(1))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        (first, held)
    };
    let mut seen = (0, 0);
    let ok = wait_until(10, || {
        sv.sv(&["status"]);
        seen = count(&std::fs::read_to_string(&log).unwrap_or_default());
        seen.0 as u64 + seen.1 == 100
    });
    let lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("uid 65534") || l.contains("refused uid"))
        .count();
    println!("100 refused clients in {took:?}: {lines} log lines ({seen:?} logged, counted)");
    assert!(ok, "logged {} and counted {} of 100", seen.0, seen.1);
    // One first line and at most one count per second of the flood.
    let bound = 2 * (took.as_secs() as usize + 2);
    assert!(lines <= bound, "{lines} lines for 100 refusals in {took:?}");
}

/// 120 clients each send all but the last byte of a 1 MiB request and
/// stop: the room their unfinished requests take counts toward the same
/// budget as unread answers, so the daemon sheds the biggest instead of
/// holding 120 MiB for the idle timeout.
#[test]
fn unfinished_big_requests_count_toward_the_budget() {
    let sv = start("", &[]);
    let pid = daemon_pid(&sv);
    let len = (1u32 << 20) - 1;
    let mut partial = len.to_le_bytes().to_vec();
    partial.push(sv::wire::PROTOCOL_VERSION);
    partial.resize(4 + len as usize - 1, b'x');
    let mut clients = Vec::new();
    for _ in 0..120 {
        let mut s = connect(&sv);
        s.set_nonblocking(true).unwrap();
        let mut sent = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sent < partial.len() && std::time::Instant::now() < deadline {
            match s.write(&partial[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                // Shed by the daemon.
                Err(_) => break,
            }
        }
        clients.push(s);
    }
    let other = sv_within(&sv, &["status"], 30).expect("status beside them");
    assert_eq!(other.0, 0, "{other:?}");
    let peak = proc_kib(pid, "VmHWM");
    println!("120 unfinished 1 MiB requests: daemon peak RSS {peak} KiB");
    assert!(peak < 100 * 1024, "daemon peak RSS {peak} KiB");
    drop(clients);
    assert!(alive(pid));
}
