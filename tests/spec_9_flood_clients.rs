//! SPEC §9 under load from clients that misbehave: clients that stall in the
//! middle of a header, `tail -f` clients that never read, clients that use
//! up the daemon's descriptors, and requests followed at once by a
//! half-close. Through all of it the daemon keeps answering `sv status`,
//! and gives back every descriptor it took.
//!
//! Helpers shared with the other spec_9_flood_* file (a client connection,
//! the daemon's descriptor count) are in tests/common/flood.rs.
mod common;
use common::flood::{assert_fds_return_to, connect, fd_count, settled_fd_count};
use common::*;

use std::io::{ErrorKind, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sv::wire::frame::read_msg;
use sv::wire::{encode, Action, Request, Response, TailSpec, Text};

#[test]
fn hundred_clients_stalled_in_a_header_block_nobody() {
    let sv = Sv::daemon(6);
    let pid = daemon_pid(&sv);
    status_answers(&sv, 15);
    let baseline = settled_fd_count(pid);

    // Half of a frame header each, then nothing.
    let stalled: Vec<UnixStream> = (0..100)
        .map(|i| {
            let mut s = connect(&sv);
            s.write_all(&[3, 0][..1 + i % 2]).unwrap();
            s
        })
        .collect();
    let held = wait_until(10, || fd_count(pid) >= baseline + 100);
    println!(
        "stalled: descriptors {baseline} before, {} with 100 stalled clients (all held: {held})",
        fd_count(pid)
    );
    let t0 = Instant::now();
    for _ in 0..5 {
        status_answers(&sv, 15);
    }
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "status slowed down to {:?} for 5",
        t0.elapsed()
    );
    let mut s = connect(&sv);
    s.write_all(&encode(&Request::Info)).unwrap();
    assert!(matches!(
        read_msg::<Response>(&mut s).unwrap(),
        Some(Response::Info(_))
    ));
    drop(s);

    drop(stalled);
    assert!(alive(pid), "the daemon died");
    status_answers(&sv, 15);
    assert_fds_return_to(pid, baseline, "after the stalled clients closed");
}

#[test]
fn tail_follower_that_never_reads_is_dropped_and_blocks_nobody() {
    let sv = Sv::daemon(6);
    let n = sv.instance.to_string();
    sv.run(&[
        "create-service",
        "--no-wait",
        "/bin/sh",
        "--name",
        "chatty",
        "-i",
        &n,
        "--",
        "-c",
        "while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
    ])
    .ok();
    sv.wait_state("chatty", "RUNNING", 10);
    let pid = daemon_pid(&sv);
    status_answers(&sv, 15);
    let baseline = settled_fd_count(pid);

    // Followers that send their request and never read a byte.
    let followers: Vec<UnixStream> = (0..3)
        .map(|_| {
            let mut s = connect(&sv);
            s.write_all(&encode(&Request::Tail(TailSpec {
                target: "chatty".into(),
                stream: 0,
                lines: 100,
                follow: true,
            })))
            .unwrap();
            s
        })
        .collect();

    // A few seconds of status: always answered, descriptors bounded.
    let mut max_fds = fd_count(pid);
    let t0 = Instant::now();
    let mut statuses = 0;
    while t0.elapsed() < Duration::from_secs(4) {
        status_answers(&sv, 15);
        statuses += 1;
        max_fds = max_fds.max(fd_count(pid));
    }
    assert!(statuses >= 4, "only {statuses} sv status in 4 s");

    // Each follower is dropped once its unread answers pass the limit:
    // its end of the socket sees the hangup.
    let hung_up = |s: &UnixStream| {
        let mut pfd = libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        n == 1 && pfd.revents & libc::POLLHUP != 0
    };
    let dropped = wait_until(60, || {
        max_fds = max_fds.max(fd_count(pid));
        followers.iter().all(hung_up)
    });
    assert!(
        dropped,
        "the daemon still holds followers that read nothing ({} of 3 dropped)",
        followers.iter().filter(|s| hung_up(s)).count()
    );
    println!(
        "tail: descriptors {baseline} before, at most {max_fds} meanwhile, peak memory {} KiB",
        peak_kib(pid)
    );
    assert!(
        max_fds <= baseline + 3 + 8,
        "descriptors grew from {baseline} to {max_fds}"
    );
    assert!(
        peak_kib(pid) < 96 * 1024,
        "daemon peak memory {} KiB",
        peak_kib(pid)
    );

    // What was sent before the drop is whole frames of output (the last
    // one may be cut off by the drop).
    for mut s in followers {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut frames = 0;
        loop {
            match read_msg::<Response>(&mut s) {
                Ok(Some(Response::Bytes(_))) => frames += 1,
                Ok(Some(other)) => panic!("a follower got {other:?}"),
                Ok(None) => break,
                Err(e) if e.kind() == ErrorKind::InvalidData => {
                    assert!(e.to_string().contains("middle of a frame"), "{e}");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e) => panic!("reading what the follower was sent: {e}"),
            }
        }
        assert!(frames > 0, "the follower was sent nothing");
    }

    assert!(alive(pid), "the daemon died");
    status_answers(&sv, 15);
    // A follower that reads still gets the output.
    let mut s = connect(&sv);
    s.write_all(&encode(&Request::Tail(TailSpec {
        target: "chatty".into(),
        stream: 0,
        lines: 5,
        follow: true,
    })))
    .unwrap();
    let mut got = 0;
    while got < 64 * 1024 {
        match read_msg::<Response>(&mut s).unwrap() {
            Some(Response::Bytes(b)) => {
                assert!(b.iter().all(|c| *c == b'a' || *c == b'\n'));
                got += b.len();
            }
            other => panic!("a reading follower got {other:?}"),
        }
    }
    drop(s);
    sv.sv(&["stop", "chatty"]).ok();
    assert_fds_return_to(pid, baseline, "after the followers");
}

/// Clients that use up the daemon's descriptors are refused with a word,
/// the daemon does not spin on its listener meanwhile, and once they are
/// gone it answers again with every descriptor given back.
#[test]
fn clients_past_the_descriptor_limit_are_refused_and_leak_nothing() {
    const LIMIT: u64 = 48;
    let sv = daemon_with_fd_limit(6, LIMIT);
    let pid = daemon_pid(&sv);
    status_answers(&sv, 15);
    let baseline = settled_fd_count(pid);
    assert!(
        baseline < LIMIT as usize / 2,
        "{baseline} descriptors at rest"
    );

    // Twice as many stalled clients as the daemon has descriptors.
    let stalled: Vec<UnixStream> = (0..2 * LIMIT)
        .map(|_| {
            let mut s = connect(&sv);
            s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
            let _ = s.write_all(&[3, 0]);
            s
        })
        .collect();
    assert!(wait_until(10, || fd_count(pid) + 1 >= LIMIT as usize));
    // A client now is told why it is refused, or queued: never a crash.
    let mut s = UnixStream::connect(sock_path(&sv)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let _ = s.write_all(&encode(&Request::Ping));
    match read_msg::<Response>(&mut s) {
        Ok(Some(Response::Error(t))) => assert!(t.contains("descriptors"), "{t}"),
        Ok(other) => panic!("at the limit a client got {other:?}"),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{e}"
        ),
    }
    drop(s);
    // No busy loop while the descriptors are used up.
    let spent = cpu_ticks_over(pid, 2);
    assert!(
        spent < 50,
        "the daemon used {spent} ticks of CPU in 2 s at the limit"
    );
    assert!(alive(pid), "the daemon died at the descriptor limit");

    drop(stalled);
    let ok = wait_until(10, || try_status(&sv, 15).is_ok());
    assert!(ok, "no status after the clients closed");
    assert_fds_return_to(pid, baseline, "after the clients past the limit");
    let mut s = connect(&sv);
    s.write_all(&encode(&Request::Ping)).unwrap();
    assert_eq!(
        read_msg::<Response>(&mut s).unwrap(),
        Some(Response::Ok("pong".into()))
    );
}

/// Spawns `sv daemon` with RLIMIT_NOFILE at `limit` and waits until it answers.
fn daemon_with_fd_limit(instance: u8, limit: u64) -> Sv {
    use std::os::unix::process::CommandExt;
    let mut sv = Sv::new(instance);
    let mut cmd = sv.command();
    cmd.args(["daemon", &sv.instance.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only setrlimit(2) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    sv.child = Some(cmd.spawn().expect("spawn sv daemon"));
    sv.wait_ready();
    sv
}

/// Clients holding every descriptor while a service keeps exiting and
/// being restarted: a spawn then fails for want of descriptors. The daemon
/// must survive it, report it (§6: `spawn error: ...`, never a silent loop),
/// and give every descriptor back once the clients are gone.
#[test]
fn restarts_while_clients_hold_every_descriptor() {
    const LIMIT: u64 = 48;
    let sv = daemon_with_fd_limit(6, LIMIT);
    let pid = daemon_pid(&sv);
    let n = sv.instance.to_string();
    status_answers(&sv, 15);
    let baseline = settled_fd_count(pid);
    sv.run(&[
        "create-service",
        "--no-wait",
        "/bin/sh",
        "--name",
        "flappy",
        "-r",
        "100000",
        "--set",
        "startsecs=0",
        "-i",
        &n,
        "--",
        "-c",
        "echo up; sleep 0.05; exit 1",
    ])
    .ok();
    status_answers(&sv, 15);
    let stalled: Vec<UnixStream> = (0..2 * LIMIT)
        .map(|_| {
            let mut s = connect(&sv);
            let _ = s.write_all(&[3, 0]);
            s
        })
        .collect();
    let spent = cpu_ticks_over(pid, 3);
    assert!(alive(pid), "the daemon died while out of descriptors");
    assert!(spent < 100, "the daemon used {spent} ticks of CPU in 3 s");
    drop(stalled);
    let ok = wait_until(10, || try_status(&sv, 15).is_ok());
    assert!(ok, "no status after the clients closed");
    // Running again, or FATAL with the reason: not stuck in between.
    let mut last = None;
    let settled = wait_until(10, || {
        last = sv.state("flappy");
        match &last {
            Some((st, detail)) => {
                matches!(st.as_str(), "RUNNING" | "STARTING" | "BACKOFF")
                    || (st == "FATAL" && detail.contains("spawn error"))
            }
            None => false,
        }
    });
    assert!(settled, "flappy after the clients closed: {last:?}");
    println!("flappy after the descriptors came back: {last:?}");
    sv.sv(&["remove-service", "flappy"]).ok();
    assert_fds_return_to(pid, baseline, "after removing the service");
}

/// §9: "one request, one response". A client that sends a whole request
/// and at once shuts down its writing side (`printf ... | nc -U`) is owed
/// the answer, not an error.
///
/// Once a bug: `Conn::fill` met the end of input in the same call that read
/// the request, and answered "bad request: connection closed in the middle
/// of a frame" instead of serving the whole requests it had buffered
/// (`03 00 00 00 01 00 00`, a Ping, then shutdown(SHUT_WR) got `Error`, not
/// `Ok("pong")`, about 6 times in 10).
#[test]
fn whole_requests_then_half_close_are_answered() {
    let sv = Sv::daemon(6);
    for n in [1, 2, 5] {
        for _ in 0..20 {
            let mut s = connect(&sv);
            let mut bytes = Vec::new();
            for _ in 0..n {
                bytes.extend(encode(&Request::Ping));
            }
            s.write_all(&bytes).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            for i in 0..n {
                let r = read_msg::<Response>(&mut s);
                assert!(
                    matches!(&r, Ok(Some(Response::Ok(t))) if &**t == "pong"),
                    "{n} pings then a half-close: answer {i} is {r:?}"
                );
            }
            assert!(matches!(read_msg::<Response>(&mut s), Ok(None)));
        }
    }
    status_answers(&sv, 15);
}

/// A request answered later (`start` waits for RUNNING) and then a
/// half-close: the answer comes when it is ready, then the end of the
/// connection. Bytes of an unfinished frame before a half-close are still
/// refused as truncated, after the whole requests before them are served.
#[test]
fn waiting_request_then_half_close_gets_its_answer_then_eof() {
    let sv = Sv::daemon(6);
    sv.sv(&[
        "create-service",
        "/bin/sleep",
        "600",
        "--name",
        "slow",
        "--set",
        "startsecs=1",
        "--create-stopped",
    ])
    .ok();
    let mut s = connect(&sv);
    s.write_all(&encode(&Request::Act(
        Action::Start,
        vec![Text::from("slow")].into(),
    )))
    .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let t0 = Instant::now();
    match read_msg::<Response>(&mut s) {
        Ok(Some(Response::Outcomes(o))) => {
            assert_eq!(o.len(), 1, "{o:?}");
            assert!(o[0].ok, "{o:?}");
        }
        other => panic!("start then a half-close: {other:?}"),
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "answered before startsecs"
    );
    assert!(
        matches!(read_msg::<Response>(&mut s), Ok(None)),
        "the connection stays open after the answer"
    );

    let mut s = connect(&sv);
    let ping = encode(&Request::Ping);
    s.write_all(&[&ping[..], &ping[..], &ping[..3]].concat())
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    for _ in 0..2 {
        assert_eq!(
            read_msg::<Response>(&mut s).unwrap(),
            Some(Response::Ok("pong".into()))
        );
    }
    match read_msg::<Response>(&mut s) {
        Ok(Some(Response::Error(t))) => assert!(t.contains("middle of a frame"), "{t}"),
        other => panic!("a partial frame then a half-close: {other:?}"),
    }
    assert!(matches!(read_msg::<Response>(&mut s), Ok(None)));
    status_answers(&sv, 15);
}
