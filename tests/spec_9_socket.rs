//! SPEC §9: the control socket. Frames are built by hand here (4-byte LE
//! length counting the version byte and the body, version byte 1, nanoserde
//! body) so these tests also pin the bytes on the wire. A bad frame gets an
//! error response, then that connection closes; nothing a client sends can
//! stop the daemon or hold up another client.
mod common;
use common::*;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

const MAX_FRAME: u32 = 1 << 20;

/// `Request::Ping`: variant 0 as a u16.
const PING: &[u8] = &[3, 0, 0, 0, 1, 0, 0];

fn connect(sv: &Sv) -> UnixStream {
    let s = UnixStream::connect(sock_path(sv)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A frame around `body` with the given version byte.
fn frame(version: u8, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 1) as u32).to_le_bytes().to_vec();
    out.push(version);
    out.extend_from_slice(body);
    out
}

/// What the daemon sent back on a connection.
#[derive(Debug)]
struct Reply {
    /// Each frame's body (after the version byte).
    frames: Vec<Vec<u8>>,
    /// The connection was closed by the daemon after them.
    eof: bool,
}

/// Reads one whole frame, checking the header; None at a clean EOF.
fn read_frame(s: &mut UnixStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match s.read(&mut header[got..])? {
            0 if got == 0 => return Ok(None),
            0 => panic!("daemon sent a truncated header {:?}", &header[..got]),
            n => got += n,
        }
    }
    let len = u32::from_le_bytes(header);
    assert!(
        (1..=MAX_FRAME).contains(&len),
        "bad length from daemon: {len}"
    );
    let mut rest = vec![0u8; len as usize];
    s.read_exact(&mut rest)?;
    assert_eq!(rest[0], 1, "protocol version byte of the response");
    Ok(Some(rest[1..].to_vec()))
}

/// Reads frames until EOF (or `max` frames, or the read timeout).
fn read_reply(s: &mut UnixStream, max: usize) -> Reply {
    let mut frames = Vec::new();
    loop {
        if frames.len() == max {
            return Reply { frames, eof: false };
        }
        match read_frame(s) {
            Ok(Some(body)) => frames.push(body),
            Ok(None) => return Reply { frames, eof: true },
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Reply { frames, eof: true },
            Err(e) => panic!("reading the reply: {e} (so far {frames:?})"),
        }
    }
}

/// Decodes a nanoserde `String`: u64 LE length, then the bytes.
fn text_at(body: &[u8], at: usize) -> String {
    let len = u64::from_le_bytes(body[at..at + 8].try_into().unwrap()) as usize;
    assert_eq!(at + 8 + len, body.len(), "text fills the body: {body:?}");
    String::from_utf8(body[at + 8..].to_vec()).unwrap()
}

/// The text of `Response::Error` (variant 1), or a panic.
#[track_caller]
fn error_text(body: &[u8]) -> String {
    assert_eq!(&body[..2], &[1, 0], "not Response::Error: {body:?}");
    text_at(body, 2)
}

/// The text of `Response::Ok` (variant 0), or a panic.
#[track_caller]
fn ok_text(body: &[u8]) -> String {
    assert_eq!(&body[..2], &[0, 0], "not Response::Ok: {body:?}");
    text_at(body, 2)
}

/// Sends `bytes`, optionally half-closes, and expects one error response
/// naming `want`, then the daemon's close.
#[track_caller]
fn expect_rejected(sv: &Sv, bytes: &[u8], hangup: bool, want: &str) {
    let mut s = connect(sv);
    s.write_all(bytes).unwrap();
    if hangup {
        s.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let reply = read_reply(&mut s, 5);
    assert_eq!(reply.frames.len(), 1, "one error response: {reply:?}");
    let text = error_text(&reply.frames[0]);
    assert!(text.contains("bad request"), "{text}");
    assert!(text.contains(want), "{text:?} should name {want:?}");
    assert!(reply.eof, "connection left open after a bad frame");
}

fn ping(sv: &Sv) -> String {
    let mut s = connect(sv);
    s.write_all(PING).unwrap();
    let reply = read_reply(&mut s, 1);
    ok_text(&reply.frames[0])
}

// ---------------------------------------------------------------- good frames

#[test]
fn ping_frame_gets_pong_and_connection_stays_open() {
    let sv = Sv::daemon(4);
    let mut s = connect(&sv);
    // Two requests in one write, then a third after the answers.
    let mut two = PING.to_vec();
    two.extend_from_slice(PING);
    s.write_all(&two).unwrap();
    let reply = read_reply(&mut s, 2);
    assert_eq!(reply.frames.len(), 2, "{reply:?}");
    for f in &reply.frames {
        assert_eq!(ok_text(f), "pong");
    }
    s.write_all(PING).unwrap();
    assert_eq!(ok_text(&read_reply(&mut s, 1).frames[0]), "pong");
}

#[test]
fn frame_sent_a_byte_at_a_time_is_answered() {
    let sv = Sv::daemon(4);
    let mut s = connect(&sv);
    for b in PING {
        s.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        // Meanwhile other clients are served.
        assert_eq!(ping(&sv), "pong");
    }
    assert_eq!(ok_text(&read_reply(&mut s, 1).frames[0]), "pong");
}

// ---------------------------------------------------------------- bad frames

#[test]
fn garbage_gets_an_error_and_close_and_others_go_on() {
    let sv = Sv::daemon(4);
    // Another client, connected before and after the garbage.
    let mut other = connect(&sv);
    expect_rejected(&sv, b"garbage bytes, not a frame at all\n", false, "");
    other.write_all(PING).unwrap();
    assert_eq!(ok_text(&read_reply(&mut other, 1).frames[0]), "pong");
    status_answers(&sv, 10);
}

#[test]
fn oversized_length_is_refused_from_the_header() {
    let sv = Sv::daemon(4);
    let d = daemon_pid(&sv);
    expect_rejected(&sv, &[0xff, 0xff, 0xff, 0xff], false, "4294967295");
    // One past the limit.
    expect_rejected(&sv, &(MAX_FRAME + 1).to_le_bytes(), false, "larger");
    // A client that goes on sending after such a header is cut off long
    // before 4 GiB: the daemon does not buffer the body.
    let mut s = connect(&sv);
    s.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    let chunk = vec![0x55u8; 64 * 1024];
    let mut sent = 0usize;
    let cut_off = loop {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) => break Some(e.kind()),
        }
        if sent > 256 << 20 {
            break None;
        }
    };
    assert!(
        matches!(
            cut_off,
            Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
        ),
        "still accepting bytes after {sent}: {cut_off:?}"
    );
    assert!(
        sent < 16 << 20,
        "daemon read {sent} bytes of a refused frame"
    );
    status_answers(&sv, 10);
    let peak = peak_kib(d);
    assert!(peak < 64 * 1024, "daemon peak memory {peak} KiB");
}

#[test]
fn frame_of_exactly_the_limit_is_read_then_refused_as_malformed() {
    let sv = Sv::daemon(4);
    // Length MAX_FRAME: version byte + (1 MiB - 1) body bytes. A Ping with
    // that much trailing junk is within the limit but not a message.
    let mut body = vec![0u8; MAX_FRAME as usize - 1];
    body[0] = 0;
    body[1] = 0;
    let bytes = frame(1, &body);
    assert_eq!(bytes.len(), 4 + MAX_FRAME as usize);
    expect_rejected(&sv, &bytes, false, "malformed");
    status_answers(&sv, 10);
}

#[test]
fn zero_length_frame_is_refused() {
    let sv = Sv::daemon(4);
    expect_rejected(&sv, &[0, 0, 0, 0], false, "length 0");
    status_answers(&sv, 10);
}

#[test]
fn wrong_version_byte_is_refused() {
    let sv = Sv::daemon(4);
    expect_rejected(&sv, &frame(2, &[0, 0]), false, "version 2");
    expect_rejected(&sv, &frame(0, &[0, 0]), false, "version 0");
    expect_rejected(&sv, &frame(255, &[0, 0]), false, "version 255");
    status_answers(&sv, 10);
}

#[test]
fn truncated_frame_then_hangup() {
    let sv = Sv::daemon(4);
    // A header promising 16 bytes, 3 sent, then end of input.
    expect_rejected(
        &sv,
        &[16, 0, 0, 0, 1, b'a', b'b'],
        true,
        "middle of a frame",
    );
    // Half a header.
    expect_rejected(&sv, &[3, 0], true, "middle of a frame");
    // A full hangup (nobody left to answer) costs the daemon nothing.
    for bytes in [&[16u8, 0, 0, 0, 1, 0][..], &[3, 0][..], &[][..]] {
        let mut s = connect(&sv);
        s.write_all(bytes).unwrap();
        drop(s);
    }
    status_answers(&sv, 10);
    assert_eq!(ping(&sv), "pong");
}

#[test]
fn malformed_bodies_are_refused() {
    let sv = Sv::daemon(4);
    let huge = u64::MAX.to_le_bytes();
    let big = (1u64 << 40).to_le_bytes();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // An unknown request variant.
        (vec![0x63, 0x00], "malformed"),
        (vec![0xff, 0xff], "malformed"),
        // No variant at all.
        (vec![], "malformed"),
        (vec![0], "malformed"),
        // Ping with bytes left over.
        (vec![0, 0, 7], "malformed"),
        // Status(List<Text>) with absurd list lengths: no allocation.
        ([&[6u8, 0][..], &huge[..]].concat(), "malformed"),
        ([&[6u8, 0][..], &big[..]].concat(), "malformed"),
        (
            [&[6u8, 0][..], &1000u64.to_le_bytes()[..], &[1, 2, 3]].concat(),
            "malformed",
        ),
        // One Text of absurd length inside the list.
        (
            [&[6u8, 0][..], &1u64.to_le_bytes()[..], &huge[..]].concat(),
            "malformed",
        ),
        // A Text that is not UTF-8.
        (
            [
                &[6u8, 0][..],
                &1u64.to_le_bytes()[..],
                &2u64.to_le_bytes()[..],
                &[0xff, 0xfe],
            ]
            .concat(),
            "malformed",
        ),
        // A truncated u64 length.
        (vec![6, 0, 1, 0, 0], "malformed"),
    ];
    for (body, want) in cases {
        expect_rejected(&sv, &frame(1, &body), false, want);
    }
    status_answers(&sv, 10);
    assert!(peak_kib(daemon_pid(&sv)) < 64 * 1024);
}

#[test]
fn random_bodies_never_hurt_the_daemon() {
    let sv = Sv::daemon(4);
    // A small deterministic generator (xorshift); only variants that cannot
    // change anything (Ping, Info, Status) are used as the first two bytes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..150 {
        let variant = [0u8, 1, 6][i % 3];
        let len = (next() % 64) as usize;
        let mut body = vec![variant, 0];
        body.extend((0..len).map(|_| next() as u8));
        let mut s = connect(&sv);
        s.write_all(&frame(1, &body)).unwrap();
        let reply = read_reply(&mut s, 1);
        assert_eq!(reply.frames.len(), 1, "case {i} {body:?}: {reply:?}");
    }
    status_answers(&sv, 10);
    assert_eq!(ping(&sv), "pong");
}

#[test]
fn good_request_then_garbage_on_the_same_connection() {
    let sv = Sv::daemon(4);
    let mut s = connect(&sv);
    s.write_all(PING).unwrap();
    assert_eq!(ok_text(&read_reply(&mut s, 1).frames[0]), "pong");
    s.write_all(&frame(9, b"xx")).unwrap();
    let reply = read_reply(&mut s, 5);
    assert_eq!(reply.frames.len(), 1, "{reply:?}");
    assert!(error_text(&reply.frames[0]).contains("version 9"));
    assert!(reply.eof);
    status_answers(&sv, 10);
}

// ---------------------------------------------------------------- slow clients

#[test]
fn idle_client_does_not_block_others() {
    let sv = Sv::daemon(4);
    let idle = connect(&sv);
    // And one that sent half a frame and then nothing.
    let mut half = connect(&sv);
    half.write_all(&[3, 0, 0, 0, 1]).unwrap();
    for _ in 0..5 {
        status_answers(&sv, 10);
    }
    let r = sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"]);
    r.ok();
    assert_eq!(sv.sv(&["stop", "sleep"]).ok(), "sleep: stopped\n");
    // The half frame can still be finished.
    half.write_all(&[0, 0]).unwrap();
    assert_eq!(ok_text(&read_reply(&mut half, 1).frames[0]), "pong");
    drop(idle);
}

#[test]
fn client_that_never_reads_does_not_block_others() {
    let sv = Sv::daemon(4);
    for i in 0..5 {
        sv.sv(&[
            "create-service",
            "--no-wait",
            "/bin/sleep",
            "60",
            "--name",
            &format!("s{i}"),
        ])
        .ok();
    }
    let mut s = connect(&sv);
    s.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Status requests whose answers are never read.
    let mut many = Vec::new();
    for _ in 0..2000 {
        many.extend_from_slice(&frame(1, &[6, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut total = 0usize;
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            match s.write(&many) {
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
        total
    });
    let t0 = Instant::now();
    for _ in 0..5 {
        status_answers(&sv, 10);
    }
    assert!(t0.elapsed() < Duration::from_secs(10));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();
    status_answers(&sv, 10);
    assert!(peak_kib(daemon_pid(&sv)) < 64 * 1024);
}

#[test]
fn many_connections_at_once() {
    let sv = Sv::daemon(4);
    let conns: Vec<UnixStream> = (0..200).map(|_| connect(&sv)).collect();
    status_answers(&sv, 10);
    // Each of them is served.
    for c in conns.iter().step_by(10) {
        let mut c = c.try_clone().unwrap();
        c.write_all(PING).unwrap();
        assert_eq!(ok_text(&read_reply(&mut c, 1).frames[0]), "pong");
    }
    drop(conns);
    status_answers(&sv, 10);
    assert_eq!(ping(&sv), "pong");
}

#[test]
fn more_connections_than_the_daemon_takes() {
    let sv = Sv::daemon(4);
    let conns: Vec<UnixStream> = (0..700).map(|_| connect(&sv)).collect();
    // Connections past the daemon's limit may be refused, but the daemon
    // must not die, and once they are gone everything works again. A
    // request queued behind them is answered only once the daemon has
    // taken every one of them (accept goes in order).
    let taken = wait_until(10, || sv.sv(&["status"]).code == 0);
    assert!(taken, "no answer beside 700 connections");
    assert!(alive(daemon_pid(&sv)));
    drop(conns);
    let ok = wait_until(5, || sv.sv(&["status"]).code == 0);
    assert!(ok, "daemon does not answer after the connections closed");
    assert_eq!(ping(&sv), "pong");
}

// ---------------------------------------------------------------- other uids

/// Runs `sv status -i N` as uid/gid 65534 with the test's runtime dir.
fn status_as_nobody(sv: &Sv) -> Run {
    let out = sv
        .command()
        .args(["status", "-i", &sv.instance.to_string()])
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run sv as 65534");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Opens the runtime dir, instance dir and socket to every uid, so only the
/// daemon's SO_PEERCRED check stands between another uid and the daemon.
fn open_to_everyone(sv: &Sv) {
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    // The chain down to the runtime dir must be searchable.
    let mut dir = sv.runtime.path().parent();
    while let Some(d) = dir {
        let mode = std::fs::metadata(d).unwrap().permissions().mode();
        assert!(mode & 0o001 != 0, "{d:?} is not searchable by others");
        dir = d.parent();
    }
    set(sv.runtime.path(), 0o755);
    set(&sv.runtime.path().join(sv.instance.to_string()), 0o755);
    set(&sock_path(sv), 0o666);
    assert!(
        std::fs::metadata(sv_bin()).unwrap().permissions().mode() & 0o001 != 0,
        "sv binary not executable by others"
    );
}

#[test]
fn client_of_another_uid_is_refused() {
    if !require_root("run a client as another uid") {
        return;
    }
    let sv = Sv::daemon(4);
    open_to_everyone(&sv);
    sv.sv(&["create-service", "--no-wait", "/bin/sleep", "60"])
        .ok();
    for _ in 0..5 {
        let r = status_as_nobody(&sv);
        // Refused, and it learns nothing about the services.
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.is_empty(), "{r:?}");
        assert!(!r.stderr.contains("sleep"), "{r:?}");
        assert!(r.stderr.contains("permission denied"), "{r:?}");
    }
    // The daemon keeps working for its own uid.
    status_answers(&sv, 10);
    assert!(sv.state("sleep").is_some());
}

#[test]
fn client_of_another_uid_is_told_permission_denied() {
    if !require_root("run a client as another uid") {
        return;
    }
    let sv = Sv::daemon(4);
    open_to_everyone(&sv);
    // The daemon answers and hangs up before reading the request, so the
    // client's write may fail first; it must still read the answer. Timing
    // decides which way it goes, so try many times.
    for _ in 0..40 {
        let r = status_as_nobody(&sv);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("permission denied"), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    }
    status_answers(&sv, 10);
}

#[test]
fn raw_connection_of_another_uid_gets_an_error_response() {
    if !require_root("connect as another uid") {
        return;
    }
    let sv = Sv::daemon(4);
    open_to_everyone(&sv);
    // This test binary, run again as uid 65534, connects and reads what
    // the daemon says without sending anything (helper_connect_and_dump).
    let sock = sock_path(&sv);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_connect_and_dump",
            "--nocapture",
            "--ignored",
        ])
        .env("SV_TEST_SOCK", &sock)
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let st = child.wait().unwrap();
    assert!(st.success(), "helper failed: {text}");
    assert!(
        text.contains("REPLY: permission denied: uid 65534 may not use this supervisor"),
        "{text}"
    );
    assert!(text.contains("EOF: true"), "{text}");
    status_answers(&sv, 10);
}

/// Not a test on its own: run by raw_connection_of_another_uid_gets_an_error_response
/// as uid 65534. Connects, reads the daemon's words without sending anything.
#[test]
#[ignore = "helper run as another uid by raw_connection_of_another_uid_gets_an_error_response"]
fn helper_connect_and_dump() {
    let Some(sock) = std::env::var_os("SV_TEST_SOCK") else {
        return;
    };
    let mut s = UnixStream::connect(sock).expect("connect as 65534");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let reply = read_reply(&mut s, 5);
    for f in &reply.frames {
        println!("REPLY: {}", error_text(f));
    }
    println!("EOF: {}", reply.eof);
}
