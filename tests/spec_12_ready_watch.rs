//! SPEC §12 `ready=tcp:` on a loopback address, between two spread-out
//! tries: after a refused try the daemon also watches the kernel's table of
//! listening sockets (`checks::listening`), so a port that opens while the
//! next scheduled try is seconds away is tried, and its dependents spawned,
//! when it opens, not at that try. The program's age comes from its
//! /proc start time, so the port opens where the schedule alone would be
//! late by more than 2 s: no race with a scheduled try decides the outcome.

mod common;

use common::Sv;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that nothing listens on (for now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How long ago `pid` was started, from /proc (to a clock tick).
fn age(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Field 22, counted after the command's closing parenthesis (field 2).
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let ticks: u64 = after.split(' ').nth(19).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut up = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec; /proc's start times count CLOCK_BOOTTIME.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut up) };
    let now = up.tv_sec as f64 + up.tv_nsec as f64 / 1e9;
    Duration::from_secs_f64((now - ticks as f64 / hz).max(0.0))
}

/// Where `line` first appears in the daemon's log (lines end the log
/// is flushed with, so a line is whole or absent).
fn log_at(log: &str, line: &str) -> Option<usize> {
    log.lines().position(|l| l.ends_with(line))
}

#[test]
fn ports_that_open_between_spread_out_tries_are_seen_when_they_open() {
    let (p1, p2) = (free_port(), free_port());
    // With ready_interval=30 the scheduled tries after the first 100 ms
    // come 20, 40, ... ms apart, doubling: at about 2.64 s, 5.2 s and
    // 10.3 s after the spawn.
    let db = |n: u8, port: u16| {
        format!(
            "[program:db{n}]\ncommand=/bin/sleep 600\nstartsecs=0\n\
             ready=tcp:127.0.0.1:{port}\nready_interval=30\n\n\
             [program:web{n}]\ncommand=/bin/sleep 600\nstartsecs=0\ndepends_on=db{n}\n\n"
        )
    };
    let conf = db(1, p1) + &db(2, p2);
    let mut sv = Sv::new(12);
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    sv.wait_state("db1", "STARTING", 10);
    sv.wait_state("db2", "STARTING", 10);
    let pid = sv.pid("db1").expect("db1's pid");
    std::thread::sleep(Duration::from_secs(3).saturating_sub(age(pid)));
    for web in ["web1", "web2"] {
        let (state, detail) = sv.state(web).expect("listed");
        assert_eq!(state, "PENDING", "{web}: {detail}");
        assert!(detail.contains("waiting for db"), "{web}: {detail}");
    }

    // Both open within microseconds: the daemon sees them in one look.
    let l1 = TcpListener::bind(("127.0.0.1", p1)).unwrap();
    let l2 = TcpListener::bind(("127.0.0.1", p2)).unwrap();
    let opened = Instant::now();
    let opened_at = age(pid);
    l1.set_nonblocking(true).unwrap();
    // The daemon's try is the first connection; the schedule's next try
    // would come at 5.2 s, at least 2 s from now.
    let limit = Duration::from_millis(1500);
    let took = loop {
        match l1.accept() {
            Ok(_) => break opened.elapsed(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept: {e}"),
        }
        assert!(
            opened.elapsed() < limit,
            "no try within {limit:?} of the port opening at {opened_at:?} after db1's spawn"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    println!("the daemon connected {took:?} after the port opened ({opened_at:?} after the spawn)");
    for name in ["db1", "db2", "web1", "web2"] {
        sv.wait_state(name, "RUNNING", 10);
    }
    // Both were found ready in the same pass, and their dependents were
    // launched together after it, not each after the one before had
    // reached its exec.
    let log = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    let at = |line: &str| log_at(&log, line).unwrap_or_else(|| panic!("no '{line}' in:\n{log}"));
    let ready = at(&format!("db1: ready (tcp:127.0.0.1:{p1})"))
        .max(at(&format!("db2: ready (tcp:127.0.0.1:{p2})")));
    let first_spawn = log
        .lines()
        .position(|l| l.contains(": web") && l.contains(": spawned pid"))
        .expect("webs spawned");
    assert!(
        ready < first_spawn,
        "a web spawned before both dbs were ready:\n{log}"
    );
    drop((l1, l2));
    sv.close();
}
