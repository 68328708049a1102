//! Faults and resource exhaustion (SPEC §6, §7, §9): children that ignore
//! SIGTERM, many crash loops at once, running out of descriptors or
//! processes, a full disk, a slow `close`, and a client that stops reading.
//!
//! Every daemon runs in its own runtime dir. Commands that could hang on a
//! stuck daemon run with a deadline; on failure a guard kills the daemon and
//! the service pids this test recorded (never anything by name).
mod common;
use common::*;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ================================================================ helpers

/// Kills the recorded pids (the daemon first) if the test panics, so that a
/// stuck daemon cannot hang `Sv::drop` (whose `close` has no deadline).
/// Declare it after the `Sv` so it is dropped first.
struct Guard {
    pids: Vec<i32>,
}

impl Guard {
    fn new(sv: &Sv) -> Guard {
        let pid = daemon_pid(sv);
        Guard { pids: vec![pid] }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for &pid in &self.pids {
                if alive(pid) {
                    kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// Like `Sv::state`, with a deadline.
fn state_timed(sv: &Sv, name: &str) -> Option<(String, String)> {
    status_row(&sv_within(sv, &["status", name], 5)?, name)
}

/// The pid printed by `NAME: started, pid P` (or `starting, pid P`).
fn started_pid(out: &str) -> Option<i32> {
    out.trim().rsplit("pid ").next()?.trim().parse().ok()
}

/// Bits of `SigIgn:` in /proc/PID/status.
fn sig_ignored(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// Pids listed one per line in a file (empty if missing).
fn read_pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Starts `sv daemon N` through `/bin/sh -c SCRIPT`, where the script ends in
/// `exec "$0" daemon N` ($0 is the sv binary), and records it as `sv.child`.
fn daemon_via_sh(mut sv: Sv, script: &str) -> Sv {
    let child = sv
        .sh(script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh for the daemon");
    sv.child = Some(child);
    sv
}

/// Waits for the daemon with a deadline on each status call.
#[track_caller]
fn wait_ready_timed(sv: &Sv) {
    let ok = wait_until(10, || {
        sv_within(sv, &["status"], 5).is_some_and(|r| r.code == 0)
    });
    assert!(ok, "daemon {} never became ready", sv.instance);
}

// ================================================================ 1

/// §6: stopsignal to the group, SIGKILL to the group after stopwaitsecs.
#[test]
fn sigterm_ignoring_child_and_grandchildren_are_killed_after_stopwaitsecs() {
    let sv = Sv::daemon(60);
    let mut guard = Guard::new(&sv);
    let dpid = daemon_pid(&sv);
    let gc = sv.work.path().join("gc");
    let me = sv.work.path().join("me");
    let script = format!(
        "trap '' TERM; sleep 1000 & echo $! >> {gc}; sleep 1000 & echo $! >> {gc}; \
         echo $$ > {me}; while :; do sleep 1; done",
        gc = gc.display(),
        me = me.display()
    );
    let r = sv.run(&[
        "create-service",
        "--no-wait",
        "-i",
        &sv.instance.to_string(),
        "/bin/sh",
        "--name",
        "stubborn",
        "--set",
        "stopwaitsecs=1",
        "--",
        "-c",
        &script,
    ]);
    let pid = started_pid(r.ok()).expect("pid in answer");
    guard.pids.push(pid);
    assert!(
        wait_until(10, || read_pids(&gc).len() == 2
            && read_pids(&me) == vec![pid]),
        "the child never wrote its pids"
    );
    let grandkids = read_pids(&gc);
    guard.pids.extend(&grandkids);
    sv.wait_state("stubborn", "RUNNING", 10);
    // They ignore SIGTERM too (inherited) and share the child's group, so
    // only SIGKILL to the group can end them.
    for &p in std::iter::once(&pid).chain(&grandkids) {
        assert!(alive(p), "{p} not running");
        assert_eq!(pgid(p), Some(pid), "{p} is not in the child's group");
        assert_ne!(sig_ignored(p) & (1 << (libc::SIGTERM - 1)), 0, "{p}");
    }

    let t = Instant::now();
    let r = sv.sv(&["stop", "stubborn"]);
    let took = t.elapsed();
    assert_eq!(r.ok(), "stubborn: stopped\n");
    // Not before the wait (it ignores TERM), and not much later either.
    assert!(
        took >= Duration::from_millis(800),
        "stopped too early: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
    let detail = sv.wait_state("stubborn", "STOPPED", 5);
    assert!(detail.contains("SIGKILL"), "detail: {detail}");
    for &p in std::iter::once(&pid).chain(&grandkids) {
        assert!(wait_until(5, || !alive(p)), "{p} survived the stop");
    }
    // Reaped: nothing of the daemon's is left, not even a zombie.
    assert!(
        wait_until(5, || children(dpid).is_empty()),
        "daemon still has children: {:?}",
        children(dpid)
            .iter()
            .map(|p| (*p, proc_state(*p)))
            .collect::<Vec<_>>()
    );
}

// ================================================================ 2

/// §6, §9: many fast crash loops must not starve the control socket, and
/// `close` leaves nothing behind.
#[test]
fn two_hundred_crash_loops_keep_status_answering() {
    let mut sv = Sv::new(61);
    let tag = format!("sv-faults-crash-{}-{}", std::process::id(), sv.instance);
    let conf = sv.work.path().join("crash.conf");
    std::fs::write(
        &conf,
        format!(
            "[program:crash]\ncommand = /bin/sh -c \"exit 1\" {tag}\nnumprocs = 200\n\
             startsecs = 0\nstartretries = 0\nautorestart = true\n\
             stdout = NONE\nstderr = NONE\n"
        ),
    )
    .unwrap();
    let mut cmd = sv.command();
    cmd.args(["daemon", "61", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sv.child = Some(cmd.spawn().expect("spawn daemon"));
    let guard = Guard::new(&sv);
    let dpid = guard.pids[0];
    wait_ready_timed(&sv);

    let until = Instant::now() + Duration::from_secs(3);
    let mut calls = 0;
    while Instant::now() < until {
        let out = status_answers(&sv, 5);
        assert_eq!(out.lines().count(), 200, "{out}");
        calls += 1;
        // One process per service at most: exited ones are reaped before
        // they are replaced, so zombies cannot pile up.
        let kids = children(dpid);
        assert!(kids.len() <= 200, "{} children", kids.len());
    }
    assert!(calls >= 2);

    let r = sv_within(&sv, &["close"], 20).expect("close did not return within 20 s");
    assert_eq!(r.ok(), "supervisor 61: stopped\n");
    let mut d = sv.child.take().unwrap();
    let mut status = None;
    assert!(
        wait_until(10, || {
            status = d.try_wait().unwrap();
            status.is_some()
        }),
        "daemon still running after close"
    );
    assert_eq!(status.unwrap().code(), Some(0));
    // No crash child is left anywhere (they carry the tag in argv[0]).
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(&tag)
                .then(|| format!("{:?}: {cmd}", e.file_name()))
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// ================================================================ 3

/// §6, §9: out of descriptors, a spawn fails with the reason; client floods
/// are refused without spinning; the daemon recovers.
#[test]
fn low_nofile_spawn_fails_clearly_and_daemon_survives_fd_exhaustion() {
    let mut sv = daemon_via_sh(Sv::new(62), "ulimit -n 40; exec \"$0\" daemon 62");
    let mut guard = Guard::new(&sv);
    let dpid = guard.pids[0];
    wait_ready_timed(&sv);

    // Create services until a spawn fails for want of descriptors.
    let mut started = Vec::new();
    let mut failed = None;
    for i in 0..60 {
        let name = format!("fd{i}");
        let r = sv_within(
            &sv,
            &[
                "create-service",
                "--no-wait",
                "/bin/sleep",
                "1000",
                "--name",
                &name,
            ],
            5,
        )
        .expect("create-service did not answer");
        if r.code == 0 {
            let pid = started_pid(&r.stdout).expect("pid");
            guard.pids.push(pid);
            started.push((name, pid));
            continue;
        }
        // The request itself may have been refused (no fd to accept it):
        // then the service does not exist; try again.
        if let Some((state, detail)) = state_timed(&sv, &name) {
            failed = Some((name, state, detail, r));
            break;
        }
    }
    let (name, state, detail, r) = failed.expect("no spawn ever failed with `ulimit -n 40`");
    assert_eq!(state, "FATAL", "{name}: {detail}");
    assert!(
        // strerror(EMFILE): glibc's words, then musl's.
        detail.contains("spawn error: Too many open files")
            || detail.contains("spawn error: No file descriptors available"),
        "{name}: {detail}"
    );
    assert!(
        r.stderr.contains("Too many open files")
            || r.stderr.contains("No file descriptors available"),
        "{r:?}"
    );
    assert!(!started.is_empty(), "not even one service started");
    // The daemon is up and goes on supervising the others.
    assert!(alive(dpid));
    status_answers(&sv, 5);
    let first = &started[0].0;
    let d = wait_until(10, || {
        state_timed(&sv, first).is_some_and(|(s, _)| s == "RUNNING")
    });
    assert!(d, "{first} never reached RUNNING");

    // Flood the socket with idle clients until the daemon runs out of fds.
    let sock = sock_path(&sv);
    let mut conns = Vec::new();
    for _ in 0..100 {
        match UnixStream::connect(&sock) {
            Ok(c) => conns.push(c),
            Err(_) => break,
        }
    }
    assert!(conns.len() >= 40, "only {} connections", conns.len());
    // It must not spin while they are held.
    let c0 = cpu_secs(dpid);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        // A client meanwhile gets an answer or a clear refusal, never a hang.
        let r = sv_within(&sv, &["status"], 5).expect("status hung while fds were exhausted");
        assert!(
            r.code == 0 || r.stderr.contains("file descriptors"),
            "unexpected answer: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let used = cpu_secs(dpid) - c0;
    assert!(
        used < 2.0,
        "daemon used {used:.2} s of CPU in {:?}",
        t0.elapsed()
    );
    assert!(alive(dpid));

    drop(conns);
    let ok = wait_until(10, || {
        sv_within(&sv, &["status"], 5).is_some_and(|r| r.code == 0)
    });
    assert!(ok, "status never answered again after the clients left");

    // No descriptor leaked by the failed spawns: once some are freed, the
    // failed service starts.
    for (n, _) in started.iter().take(3) {
        sv_within(&sv, &["remove-service", n], 15)
            .expect("remove-service hung")
            .ok();
    }
    let r = sv_within(&sv, &["start", &name], 10).expect("start hung");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("{name}: started")), "{r:?}");

    let r = sv.close();
    assert_eq!(r.ok(), "supervisor 62: stopped\n");
    for (n, p) in &started {
        assert!(wait_until(5, || !alive(*p)), "{n} (pid {p}) survived close");
    }
    drop(guard);
}

// ================================================================ 4

const NPROC_UID: u32 = 61234;

/// §6: out of processes, a spawn fails with the reason and the daemon stays.
#[test]
fn low_nproc_spawn_fails_clearly_and_daemon_survives() {
    // SAFETY: getuid has no preconditions.
    let root = unsafe { libc::getuid() } == 0;
    let has_setpriv = Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !root {
        // RLIMIT_NPROC counts every task of the real uid, the test's own
        // included, so a limit cannot be chosen reliably here.
        skip("needs root to run the daemon as a spare uid");
        return;
    }
    if !has_setpriv {
        skip("RLIMIT_NPROC does not bind root and setpriv is missing");
        return;
    }
    let sv = Sv::new(63);
    // The daemon runs as a spare uid, so it must own its runtime dir.
    let rt = std::ffi::CString::new(sv.runtime.path().to_str().unwrap()).unwrap();
    // SAFETY: chown(2) on a path we created.
    let rc = unsafe { libc::chown(rt.as_ptr(), NPROC_UID, NPROC_UID) };
    assert_eq!(rc, 0, "chown runtime dir");
    let script = format!(
        "ulimit -p 5; exec setpriv --reuid {NPROC_UID} --regid {NPROC_UID} --clear-groups \
         \"$0\" daemon 63"
    );
    let mut sv = daemon_via_sh(sv, &script);
    let mut guard = Guard::new(&sv);
    let dpid = guard.pids[0];
    wait_ready_timed(&sv);
    let uid_line = std::fs::read_to_string(format!("/proc/{dpid}/status")).unwrap();
    assert!(
        uid_line.contains(&format!("Uid:\t{NPROC_UID}\t")),
        "the daemon does not run as {NPROC_UID}"
    );

    let mut started = Vec::new();
    let mut failed = None;
    for i in 0..30 {
        let name = format!("p{i}");
        let r = sv_within(
            &sv,
            &[
                "create-service",
                "--no-wait",
                "/bin/sleep",
                "1000",
                "--name",
                &name,
            ],
            5,
        )
        .expect("create-service did not answer");
        if r.code == 0 {
            let pid = started_pid(&r.stdout).expect("pid");
            guard.pids.push(pid);
            started.push(pid);
        } else {
            failed = Some((name, r));
            break;
        }
    }
    let (name, r) = failed.expect("no fork ever failed with `ulimit -p 5`");
    assert!(
        r.stderr.contains("Resource temporarily unavailable"),
        "{r:?}"
    );
    let (state, detail) = state_timed(&sv, &name).expect("status of the failed one");
    assert_eq!(state, "FATAL", "{detail}");
    assert!(
        detail.contains("spawn error: Resource temporarily unavailable"),
        "{detail}"
    );
    // The daemon stays up, answers, and keeps the others.
    assert!(alive(dpid));
    let out = status_answers(&sv, 5);
    assert!(out.contains(&name), "{out}");
    for p in &started {
        assert!(alive(*p), "service pid {p} died");
    }

    let r = sv.close();
    assert_eq!(r.ok(), "supervisor 63: stopped\n");
    for p in &started {
        assert!(wait_until(5, || !alive(*p)), "pid {p} survived close");
    }
    drop(guard);
}

// ================================================================ 5

/// §7: a log that cannot be written is reported; supervision goes on.
#[test]
fn full_disk_stops_one_log_not_the_daemon() {
    let sv = Sv::daemon(64);
    let mut guard = Guard::new(&sv);
    let loop_sh = "while :; do echo line; sleep 0.05; done";
    let r = sv.run(&[
        "create-service",
        "--no-wait",
        "-i",
        &sv.instance.to_string(),
        "/bin/sh",
        "--name",
        "full",
        "--set",
        "stdout=/dev/full",
        "--",
        "-c",
        loop_sh,
    ]);
    let full_pid = started_pid(r.ok()).expect("pid");
    guard.pids.push(full_pid);
    let r = sv.run(&[
        "create-service",
        "--no-wait",
        "-i",
        &sv.instance.to_string(),
        "/bin/sh",
        "--name",
        "fine",
        "--",
        "-c",
        loop_sh,
    ]);
    let fine_pid = started_pid(r.ok()).expect("pid");
    guard.pids.push(fine_pid);

    let mut last = None;
    let seen = wait_until(10, || {
        last = sv.state("full");
        last.as_ref()
            .is_some_and(|(s, d)| s == "RUNNING" && d.contains("log error:"))
    });
    assert!(seen, "no `log error:` on a RUNNING service; last {last:?}");
    let (_, detail) = last.unwrap();
    assert!(detail.contains(&format!("pid {full_pid}")), "{detail}");

    // The other log keeps growing while the full one keeps failing.
    let log = log_path(&sv, "fine", "stdout");
    let before = file_len(&log);
    assert!(
        wait_until(10, || file_len(&log) >= before + 40),
        "the other service's log stopped at {} bytes",
        file_len(&log)
    );
    let d = sv.wait_state("full", "RUNNING", 5);
    assert!(d.contains(&format!("pid {full_pid}")), "restarted? {d}");
    let d = sv.wait_state("fine", "RUNNING", 5);
    assert!(!d.contains("log error"), "{d}");
    drop(guard);
}

// ================================================================ 6

/// §3, §4.2, §6: `close` stops everything together: 50 stubborn services
/// take about one stopwaitsecs, not fifty.
#[test]
fn close_with_fifty_sigterm_ignoring_services_stops_them_together() {
    let mut sv = Sv::new(65);
    let conf = sv.work.path().join("stubborn.conf");
    std::fs::write(
        &conf,
        "[program:stub]\n\
         command = /bin/sh -c \"trap '' TERM; echo $$ > pid_%(process_num)02d; exec sleep 1000\"\n\
         numprocs = 50\nstopwaitsecs = 2\nstdout = NONE\nstderr = NONE\n",
    )
    .unwrap();
    let child = sv
        .command()
        .args(["daemon", "65", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    sv.child = Some(child);
    let mut guard = Guard::new(&sv);
    wait_ready_timed(&sv);

    let files: Vec<PathBuf> = (0..50)
        .map(|i| sv.work.path().join(format!("pid_{i:02}")))
        .collect();
    assert!(
        wait_until(20, || files.iter().all(|f| read_pids(f).len() == 1)),
        "not every copy wrote its pid"
    );
    let pids: Vec<i32> = files.iter().map(|f| read_pids(f)[0]).collect();
    guard.pids.extend(&pids);
    let mut last = String::new();
    let all_running = wait_until(15, || {
        last = status_answers(&sv, 5);
        last.lines().count() == 50 && last.lines().all(|l| l.contains(" RUNNING "))
    });
    assert!(all_running, "not all RUNNING:\n{last}");
    for &p in &pids {
        assert_ne!(sig_ignored(p) & (1 << (libc::SIGTERM - 1)), 0, "{p}");
    }

    let t = Instant::now();
    let r = sv_within(&sv, &["close"], 30).expect("close did not return within 30 s");
    let took = t.elapsed();
    assert_eq!(r.ok(), "supervisor 65: stopped\n");
    assert!(
        took < Duration::from_secs(12),
        "close took {took:?}: not stopped together"
    );
    for &p in &pids {
        assert!(wait_until(5, || !alive(p)), "pid {p} survived close");
    }
    let mut d = sv.child.take().unwrap();
    assert!(
        wait_until(10, || d.try_wait().unwrap().is_some()),
        "daemon still running after close"
    );
    drop(guard);
}

// ================================================================ 7

/// §9: a `tail -f` client that stops reading blocks neither the daemon nor
/// the other clients.
#[test]
fn stuck_tail_follower_does_not_block_the_daemon() {
    let sv = Sv::daemon(66);
    let mut guard = Guard::new(&sv);
    let dpid = guard.pids[0];
    // About 2 MB/s of lines, so every buffer on the way fills quickly.
    let writer = "while :; do yes 0123456789abcdef0123456789abcdef0123456789 | head -c 200000; \
                  sleep 0.1; done";
    let r = sv.run(&[
        "create-service",
        "--no-wait",
        "-i",
        &sv.instance.to_string(),
        "/bin/sh",
        "--name",
        "fast",
        "--",
        "-c",
        writer,
    ]);
    let pid = started_pid(r.ok()).expect("pid");
    guard.pids.push(pid);
    sv.wait_state("fast", "RUNNING", 10);
    let log = log_path(&sv, "fast", "stdout");
    assert!(wait_until(10, || file_len(&log) > 0), "no output logged");

    let mut tail = sv
        .command()
        .args(["tail", "-f", "fast", "-i", "66"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tail -f");
    let tail_pid = tail.id() as i32;
    guard.pids.push(tail_pid);
    // Read a little to know the stream flows, then never read again.
    let mut out = tail.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        let n = out.read(&mut buf).unwrap_or(0);
        let _ = tx.send((n, out));
    });
    let (n, out) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("tail -f printed nothing");
    assert!(n > 0, "tail -f ended at once");

    let rss0 = status_kib(dpid, "VmRSS").unwrap_or(0);
    let size0 = file_len(&log);
    let t0 = Instant::now();
    let mut calls = 0;
    while t0.elapsed() < Duration::from_secs(3) || calls < 3 {
        let s = status_answers(&sv, 5);
        assert!(s.contains("fast") && s.contains("RUNNING"), "{s}");
        calls += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    // The log is still being written: the daemon copies output as before.
    assert!(
        wait_until(10, || file_len(&log) > size0 + 200_000),
        "the log stopped growing at {} bytes",
        file_len(&log)
    );
    assert!(alive(tail_pid), "tail -f client exited");
    let rss1 = status_kib(dpid, "VmRSS").unwrap_or(0);
    assert!(
        rss1 < rss0 + 256 * 1024,
        "daemon memory grew from {rss0} kB to {rss1} kB for one stuck follower"
    );

    kill(tail_pid, libc::SIGKILL);
    let _ = tail.wait();
    drop(out);
    status_answers(&sv, 5);
    let d = sv.wait_state("fast", "RUNNING", 5);
    assert!(d.contains(&format!("pid {pid}")), "{d}");
    drop(guard);
}
