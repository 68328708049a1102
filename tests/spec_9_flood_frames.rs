//! SPEC §9 under load: thousands of random, truncated, oversized and garbage
//! frames over many connections. Through all of it the daemon keeps
//! answering `sv status`, answers every frame as §9 says, and gives back
//! every descriptor it took.
//!
//! The frames are made with a small deterministic xorshift generator, so a
//! failure names a case that replays the same way. Every byte stream is
//! first decoded here with the library's own framing; a stream that would
//! carry a request able to change anything (shutdown, create, stop...) is
//! never sent.
//!
//! Helpers shared with the other spec_9_flood_* file (a client connection,
//! the daemon's descriptor count) are in tests/common/flood.rs.
mod common;
use common::flood::{assert_fds_return_to, connect, fd_count, settled_fd_count};
use common::*;

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv::wire::frame::{self, read_msg};
use sv::wire::{encode, List, Request, Response, TailSpec, Text, MAX_FRAME};

/// Runs `sv status` again and again on a thread until told to stop; every
/// one must answer. Returns how many did.
struct StatusProbe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<usize, String>>,
}

impl StatusProbe {
    fn start(sv: &Sv) -> StatusProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let cmd_env = (
            sv.runtime.path().to_path_buf(),
            sv.work.path().to_path_buf(),
        );
        let instance = sv.instance.to_string();
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(Ordering::SeqCst) {
                let t0 = Instant::now();
                let mut child = std::process::Command::new(sv_bin())
                    .args(["status", "-i", &instance])
                    .env("SV_RUNTIME_DIR", &cmd_env.0)
                    .env_remove("SV_INSTANCE")
                    .env_remove("SV_SYSLOG_SOCKET")
                    .current_dir(&cmd_env.1)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("spawn sv status: {e}"))?;
                loop {
                    if let Some(st) = child.try_wait().unwrap() {
                        if st.code() != Some(0) {
                            return Err(format!("sv status #{n} failed: {st}"));
                        }
                        break;
                    }
                    if t0.elapsed() > Duration::from_secs(15) {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!("sv status #{n} hung for 15 s"));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(n)
        });
        StatusProbe { stop, thread }
    }

    #[track_caller]
    fn finish(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.join().expect("status probe panicked") {
            Ok(n) => n,
            Err(e) => panic!("while flooding: {e}"),
        }
    }
}

/// xorshift64: small, deterministic, no crates.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A frame around `body` with the given version byte.
fn raw_frame(version: u8, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 1) as u32).to_le_bytes().to_vec();
    out.push(version);
    out.extend_from_slice(body);
    out
}

/// A request that reads and changes nothing.
fn harmless(req: &Request) -> bool {
    match req {
        Request::Ping | Request::Info | Request::Status(_) => true,
        Request::Tail(t) => !t.follow,
        _ => false,
    }
}

fn valid_request(rng: &mut Rng) -> Request {
    match rng.below(7) {
        0 => Request::Ping,
        1 => Request::Info,
        2 => Request::Status(List::default()),
        3 => Request::Status(vec![Text::from("sleeper")].into()),
        4 => {
            let name: String = (0..rng.range(0, 12))
                .map(|_| (b'a' + rng.below(26) as u8) as char)
                .collect();
            Request::Status(vec![Text::from(name), Text::from("sleeper")].into())
        }
        5 => Request::Tail(TailSpec {
            target: "sleeper".into(),
            stream: rng.below(2) as u8,
            lines: rng.below(50) as u32,
            follow: false,
        }),
        _ => Request::Tail(TailSpec {
            target: "no-such-service".into(),
            stream: 0,
            lines: 10,
            follow: false,
        }),
    }
}

/// One piece of a connection's byte stream.
fn piece(rng: &mut Rng) -> Vec<u8> {
    match rng.below(100) {
        // Whole valid requests: a third of the pieces.
        0..=32 => encode(&valid_request(rng)),
        // Garbage of any kind.
        33..=44 => {
            let n = rng.range(0, 200);
            rng.bytes(n)
        }
        // A right header and version around a random body, mostly with a
        // plausible variant number in front.
        45..=59 => {
            let mut body = Vec::new();
            if rng.chance(80) {
                body.extend_from_slice(&(rng.below(12) as u16).to_le_bytes());
            }
            let n = rng.range(0, 48);
            body.extend(rng.bytes(n));
            raw_frame(1, &body)
        }
        // A valid request with a few bytes changed.
        60..=71 => {
            let mut f = encode(&valid_request(rng));
            for _ in 0..rng.range(1, 3) {
                let at = rng.below(f.len() as u64) as usize;
                f[at] = rng.next() as u8;
            }
            f
        }
        // Oversized: a length past the limit, then some of its "body".
        72..=77 => {
            let len = MAX_FRAME as u64 + 1 + rng.below(u32::MAX as u64 - MAX_FRAME as u64);
            let mut f = (len as u32).to_le_bytes().to_vec();
            let n = rng.range(0, 1024);
            f.extend(rng.bytes(n));
            f
        }
        // A bad version byte.
        78..=82 => {
            let v = match rng.next() as u8 {
                1 => 0,
                v => v,
            };
            let mut f = encode(&valid_request(rng));
            f[4] = v;
            f
        }
        // Length zero.
        83..=85 => vec![0, 0, 0, 0],
        // Lengths that claim far more than is sent.
        86..=91 => {
            let mut f = ((rng.range(2, 4096)) as u32).to_le_bytes().to_vec();
            f.push(1);
            let n = rng.range(0, 64);
            f.extend(rng.bytes(n));
            f
        }
        // A valid request cut short anywhere (header included).
        92..=97 => {
            let f = encode(&valid_request(rng));
            let cut = rng.range(1, f.len() - 1);
            f[..cut].to_vec()
        }
        // Rarely, a large legal frame: up to the limit itself.
        _ => {
            let len = if rng.chance(30) {
                MAX_FRAME
            } else {
                rng.range(64 * 1024, MAX_FRAME)
            };
            let mut body = vec![0u8; len - 1];
            let head = rng.bytes(64.min(body.len()));
            body[..head.len()].copy_from_slice(&head);
            raw_frame(1, &body)
        }
    }
}

/// What the daemon will make of a byte stream, read the way it reads.
#[derive(Debug, PartialEq)]
enum Fate {
    /// This many requests answered, then the stream ended on a frame boundary.
    Clean(usize),
    /// This many answered, then bytes of an unfinished frame.
    Partial(usize),
    /// This many answered, then a frame refused: one error and a close.
    Refused(usize),
}

/// None when the stream holds a request that could change anything.
fn fate(stream: &[u8]) -> Option<Fate> {
    let mut rest = stream;
    let mut answered = 0;
    loop {
        match frame::split(rest) {
            Ok(Some((body, used))) => match sv::wire::decode::<Request>(body) {
                Ok(req) if harmless(&req) => {
                    answered += 1;
                    rest = &rest[used..];
                }
                Ok(_) => return None,
                Err(_) => return Some(Fate::Refused(answered)),
            },
            Ok(None) if rest.is_empty() => return Some(Fate::Clean(answered)),
            Ok(None) => return Some(Fate::Partial(answered)),
            Err(_) => return Some(Fate::Refused(answered)),
        }
    }
}

/// Writes as much of `bytes` as the daemon takes, in a few pieces. A
/// refusing daemon may close while we write: not an error here.
fn send_in_pieces(s: &mut UnixStream, bytes: &[u8], rng: &mut Rng) {
    let mut at = 0;
    while at < bytes.len() {
        let n = if rng.chance(70) {
            bytes.len() - at
        } else {
            rng.range(1, bytes.len() - at)
        };
        if s.write_all(&bytes[at..at + n]).is_err() {
            return;
        }
        at += n;
        if at < bytes.len() && rng.chance(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Reads one response; None at the end (EOF, or reset by a daemon that
/// closed with our bytes unread).
fn next_response(s: &mut UnixStream, case: &str) -> Result<Option<Response>, String> {
    match read_msg::<Response>(s) {
        Ok(r) => Ok(r),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(None),
        Err(e) => Err(format!("{case}: reading a response: {e}")),
    }
}

/// Sends one generated connection's bytes and checks what comes back.
fn run_case(sv: &Sv, seed: u64, held: &mut Vec<UnixStream>) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    // Make a stream; try again (same generator) until it is harmless.
    let (bytes, fate) = loop {
        let mut bytes = Vec::new();
        for _ in 0..rng.range(1, 4) {
            bytes.extend(piece(&mut rng));
        }
        if let Some(f) = fate(&bytes) {
            break (bytes, f);
        }
    };
    let case = format!("case {seed} ({fate:?}, {} bytes)", bytes.len());
    let mut s = connect(sv);
    match rng.below(10) {
        // Hang up without reading: the daemon must drop it on its own.
        0 => {
            send_in_pieces(&mut s, &bytes, &mut rng);
            Ok(())
        }
        // Leave it open for a while, half-read or not.
        1 => {
            send_in_pieces(&mut s, &bytes, &mut rng);
            held.push(s);
            if held.len() > 24 {
                held.drain(..12);
            }
            Ok(())
        }
        // Read every answer, as §9 says they come.
        _ => {
            send_in_pieces(&mut s, &bytes, &mut rng);
            // Half the time end our side at once (`printf ... | nc -U`):
            // whole requests before the end are still answered.
            let early_eof = rng.chance(50);
            if early_eof {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
            let answered = match fate {
                Fate::Clean(n) | Fate::Partial(n) | Fate::Refused(n) => n,
            };
            for i in 0..answered {
                match next_response(&mut s, &case)? {
                    Some(r) => {
                        if let Response::Error(t) = &r {
                            if t.starts_with("bad request") {
                                return Err(format!("{case}: request {i} refused: {t}"));
                            }
                        }
                    }
                    None => return Err(format!("{case}: closed after {i} of {answered} answers")),
                }
            }
            match fate {
                Fate::Refused(_) => {}
                Fate::Clean(_) | Fate::Partial(_) if !early_eof => {
                    // Every request is answered: now end our side.
                    let _ = s.shutdown(std::net::Shutdown::Write);
                }
                Fate::Clean(_) | Fate::Partial(_) => {}
            }
            match (&fate, next_response(&mut s, &case)?) {
                (Fate::Clean(_), None) => return Ok(()),
                (Fate::Clean(_), Some(r)) => {
                    return Err(format!("{case}: an extra response {r:?}"));
                }
                (_, Some(Response::Error(t))) if t.starts_with("bad request") => {}
                (_, other) => {
                    return Err(format!("{case}: expected a refusal, got {other:?}"));
                }
            }
            match next_response(&mut s, &case)? {
                None => Ok(()),
                Some(r) => Err(format!("{case}: a response after the refusal: {r:?}")),
            }
        }
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn flood_of_random_frames_keeps_status_answering_and_leaks_no_descriptor() {
    const CASES: u64 = 3000;
    const THREADS: u64 = 8;
    let sv = Sv::daemon(6);
    sv.sv(&[
        "create-service",
        "--no-wait",
        "/bin/sleep",
        "600",
        "--name",
        "sleeper",
    ])
    .ok();
    sv.wait_state("sleeper", "RUNNING", 10);
    let pid = daemon_pid(&sv);
    status_answers(&sv, 15);
    let baseline = settled_fd_count(pid);

    let sv = Arc::new(sv);
    let probe = StatusProbe::start(&sv);
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let peak_fds = Arc::new(AtomicUsize::new(baseline));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (sv, done, failures, peak_fds) =
                (sv.clone(), done.clone(), failures.clone(), peak_fds.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                let mut seed = t + 1;
                while seed <= CASES {
                    if let Err(e) = run_case(&sv, seed, &mut held) {
                        failures.lock().unwrap().push(e);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                    if seed % 50 == 0 {
                        peak_fds.fetch_max(fd_count(pid), Ordering::SeqCst);
                    }
                    seed += THREADS;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("flood worker panicked");
    }
    let statuses = probe.finish();
    let sv = Arc::try_unwrap(sv).ok().expect("all workers are done");

    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases went wrong; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(done.load(Ordering::SeqCst), CASES as usize);
    assert!(statuses > 0, "no sv status ran during the flood");
    println!(
        "flood: {CASES} connections, {statuses} sv status meanwhile, \
         descriptors {baseline} before, at most {} seen, peak memory {} KiB",
        peak_fds.load(Ordering::SeqCst),
        peak_kib(pid)
    );

    assert!(alive(pid), "the daemon died");
    status_answers(&sv, 15);
    assert_eq!(sv.state("sleeper").map(|s| s.0).as_deref(), Some("RUNNING"));
    assert_fds_return_to(pid, baseline, "after the flood");
    // And it still speaks the protocol.
    let mut s = connect(&sv);
    s.write_all(&encode(&Request::Ping)).unwrap();
    assert_eq!(
        read_msg::<Response>(&mut s).unwrap(),
        Some(Response::Ok("pong".into()))
    );
}

/// The fate computed here agrees with the library's framing on the cases
/// that matter, so the flood's expectations mean what they say.
#[test]
fn fate_of_streams() {
    let ping = encode(&Request::Ping);
    assert_eq!(fate(&ping), Some(Fate::Clean(1)));
    assert_eq!(
        fate(&[ping.clone(), ping.clone()].concat()),
        Some(Fate::Clean(2))
    );
    assert_eq!(fate(&ping[..3]), Some(Fate::Partial(0)));
    assert_eq!(
        fate(&[&ping[..], &[0xff, 0xff, 0xff, 0xff]].concat()),
        Some(Fate::Refused(1))
    );
    assert_eq!(fate(&[0, 0, 0, 0]), Some(Fate::Refused(0)));
    assert_eq!(fate(&raw_frame(2, &[0, 0])), Some(Fate::Refused(0)));
    assert_eq!(fate(&encode(&Request::Shutdown)), None);
    assert_eq!(
        fate(&[ping.clone(), encode(&Request::Reload)].concat()),
        None
    );
    // Refused before it is reached: harmless.
    assert_eq!(
        fate(&[&raw_frame(1, &[0x63, 0])[..], &encode(&Request::Shutdown)].concat()),
        Some(Fate::Refused(0))
    );
    // The generator is deterministic.
    let (mut a, mut b) = (Rng::new(7), Rng::new(7));
    assert_eq!(piece(&mut a), piece(&mut b));
}
