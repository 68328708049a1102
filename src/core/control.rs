//! Client connections on the control socket (SPEC §9).
//!
//! Each connection has a read buffer that never holds more than one maximal
//! frame and a write buffer drained as the socket allows, so a slow or stuck
//! client costs memory bounded by [`WBUF_LIMIT`] and blocks nobody. A bad
//! frame gets an error response and the connection closes after it. The
//! next request is taken only once the answers before it have left: a peer
//! that pipelines requests and never reads holds at most one answer here.

use super::log::Logger;
use crate::wire::{self, frame, FrameError, Outcome, Request, Response, ServiceInfo, Text};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A client whose unread responses pass this is dropped.
pub const WBUF_LIMIT: usize = 4 << 20;
/// Encoded bytes of rows (or outcomes) per frame: a long answer goes out in
/// parts of at most this much, well inside the 1 MiB frame.
const PART_BYTES: usize = 256 * 1024;
/// The most bytes one text of a row may take on the wire; a longer one (a
/// command line of megabytes) is cut, so every row fits a frame.
const FIELD_MAX: usize = 64 * 1024;
/// At most this many connections at once; past it the oldest idle one
/// makes room, or the newcomer is told no.
pub const MAX_CONNS: usize = 512;
/// Unread answers of all clients together past which the ones holding the
/// most are dropped.
pub const BUFFERED_MAX: usize = 64 << 20;
/// No one process may hold more than this share of the table: at most
/// half, so one process cannot take every slot, yet a test harness or a
/// script may still open a couple of hundred at once.
pub const MAX_PER_PID: usize = MAX_CONNS / 2;
/// Idle connections are closed after this long, unless
/// `$SV_IDLE_TIMEOUT_MS` says otherwise (tests use a short one).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection may sit with no request and nothing in flight.
pub fn idle_timeout() -> Duration {
    static T: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("SV_IDLE_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(IDLE_TIMEOUT)
    })
}

/// The peer's pid and uid (SO_PEERCRED).
pub fn peer_cred(stream: &UnixStream) -> io::Result<(i32, u32)> {
    crate::core::sys::peer_cred(stream).map(|c| (c.pid, c.uid))
}

pub struct Conn {
    pub stream: UnixStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// A request is being served (a waiter holds its answer): read no more.
    pub busy: bool,
    /// Close once the write buffer is empty.
    pub closing: bool,
    /// The peer is gone or broke the rules: drop now.
    pub dead: bool,
    /// The peer has shut down its side: serve what it sent, then close.
    eof: bool,
    /// The peer's pid (SO_PEERCRED), for its share of the table.
    pub pid: i32,
    /// When it last took a request or an answer moved: idle time runs from here.
    pub last_active: Instant,
    /// Why its last frame was refused, for the daemon's log.
    pub refused: Option<String>,
}

impl Conn {
    pub fn new(stream: UnixStream, pid: i32, now: Instant) -> Conn {
        Conn {
            stream,
            pid,
            last_active: now,
            refused: None,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            busy: false,
            closing: false,
            dead: false,
            eof: false,
        }
    }

    /// A peer that has not read its last answer sends nothing more that
    /// we take: answers cannot pile up here.
    pub fn wants_read(&self) -> bool {
        self.serving() && !self.eof
    }

    /// May another request be taken from the buffer now?
    fn serving(&self) -> bool {
        !self.busy && !self.closing && !self.dead && self.wbuf.is_empty()
    }

    /// Since when it has been idle: None while it waits for an answer or
    /// follows a log, or is about to be dropped anyway.
    pub fn idle_since(&self) -> Option<Instant> {
        (!self.busy && !self.dead).then_some(self.last_active)
    }

    /// Bytes held for the peer: answers it has not taken yet, and the
    /// room its unfinished request takes (up to a frame each: 512 of them
    /// would be 512 MiB).
    pub fn buffered(&self) -> usize {
        self.wbuf.len() + self.rbuf.capacity()
    }

    pub fn wants_write(&self) -> bool {
        !self.wbuf.is_empty() && !self.dead
    }

    /// Done with: dead, or closing with everything sent.
    pub fn finished(&self) -> bool {
        self.dead || (self.closing && self.wbuf.is_empty())
    }

    /// Reads what is there, up to one whole frame beyond what is buffered.
    pub fn fill(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if self.rbuf.len() >= wire::MAX_FRAME + 4 {
                return;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    // Whole requests before the end are still served
                    // (`next_request`); a partial one is refused there.
                    self.eof = true;
                    return;
                }
                Ok(n) => {
                    self.rbuf.extend_from_slice(&buf[..n]);
                    // Refuse an oversized frame from its header, before
                    // buffering its body.
                    if let Err(e) = frame::split(&self.rbuf) {
                        self.rbuf.clear();
                        self.reject(&e);
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
    }

    /// The next whole request, if one has arrived. A bad one is answered
    /// with an error and ends the connection.
    pub fn next_request(&mut self) -> Option<Request> {
        if !self.serving() {
            return None;
        }
        let result = match frame::split(&self.rbuf) {
            Ok(None) if self.eof && self.rbuf.is_empty() => {
                self.closing = true;
                return None;
            }
            Ok(None) if self.eof => Err(FrameError::Truncated),
            Ok(None) => return None,
            Ok(Some((body, used))) => frame::decode::<Request>(body).map(|r| (r, used)),
            Err(e) => Err(e),
        };
        match result {
            Ok((req, used)) => {
                self.rbuf.drain(..used);
                self.last_active = Instant::now();
                Some(req)
            }
            Err(e) => {
                self.rbuf.clear();
                self.reject(&e);
                None
            }
        }
    }

    fn reject(&mut self, e: &FrameError) {
        self.refused = Some(e.to_string());
        self.send(&Response::Error(format!("bad request: {e}").into()));
        self.closing = true;
    }

    /// Queues a response and sends what the socket takes now. A status or
    /// outcome list too long for one frame goes out in parts.
    pub fn send(&mut self, resp: &Response) {
        match resp {
            Response::Status(rows) => {
                let rows: Vec<ServiceInfo> = rows.iter().map(fit_row).collect();
                self.send_parts(rows, row_size, Response::StatusPart, Response::Status)
            }
            Response::Outcomes(list) => {
                let list: Vec<Outcome> = list.iter().map(fit_outcome).collect();
                self.send_parts(
                    list,
                    outcome_size,
                    Response::OutcomesPart,
                    Response::Outcomes,
                )
            }
            Response::Ok(t) => self.send_one(&Response::Ok(clip_text(t, wire::MAX_FRAME / 2))),
            Response::Error(t) => {
                self.send_one(&Response::Error(clip_text(t, wire::MAX_FRAME / 2)))
            }
            _ => self.send_one(resp),
        }
    }

    /// Items in frames of at most [`PART_BYTES`] each: `part` for every
    /// frame but the last, `last` for the last (also when there is one).
    fn send_parts<T>(
        &mut self,
        items: Vec<T>,
        size: fn(&T) -> usize,
        part: fn(wire::List<T>) -> Response,
        last: fn(wire::List<T>) -> Response,
    ) {
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for item in items {
            let n = size(&item);
            if !chunk.is_empty() && bytes + n > PART_BYTES {
                self.send_one(&part(std::mem::take(&mut chunk).into()));
                bytes = 0;
            }
            bytes += n;
            chunk.push(item);
        }
        self.send_one(&last(chunk.into()));
    }

    fn send_one(&mut self, resp: &Response) {
        let mut frame = wire::encode(resp);
        if frame.len() > wire::MAX_FRAME + 4 {
            // Cannot happen with the parts above; the peer would refuse it,
            // so say so in a frame it can read.
            frame = wire::encode(&Response::Error(
                format!("the answer is {} bytes, over the frame limit", frame.len()).into(),
            ));
        }
        self.wbuf.extend_from_slice(&frame);
        self.flush();
        if self.wbuf.len() > WBUF_LIMIT {
            self.dead = true;
        }
    }

    /// Writes until the socket would block.
    pub fn flush(&mut self) {
        while !self.wbuf.is_empty() && !self.dead {
            match self.stream.write(&self.wbuf) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.wbuf.drain(..n);
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        // A big answer, once sent, leaves no big buffer behind.
        if self.wbuf.is_empty() && self.wbuf.capacity() > 64 * 1024 {
            self.wbuf = Vec::new();
        }
    }
}

/// `s` cut to at most about `max` bytes at a character boundary, saying how
/// long it was.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len()).into()
}

fn clip_text(t: &Text, max: usize) -> Text {
    Text(clip(t, max).into_owned())
}

/// Encoded size of a text: its u64 length, then its bytes.
fn text_size(t: &Text) -> usize {
    8 + t.len()
}

/// Encoded size of one status row.
fn row_size(r: &ServiceInfo) -> usize {
    // pid 4, uptime 8, restarts 4, adopted 1.
    17 + [&r.name, &r.state, &r.last_exit, &r.detail, &r.command]
        .iter()
        .map(|t| text_size(t))
        .sum::<usize>()
}

fn outcome_size(o: &Outcome) -> usize {
    1 + text_size(&o.name) + text_size(&o.message)
}

/// A row whose texts are each cut to [`FIELD_MAX`], so it fits one frame.
fn fit_row(r: &ServiceInfo) -> ServiceInfo {
    ServiceInfo {
        name: clip_text(&r.name, FIELD_MAX),
        state: clip_text(&r.state, FIELD_MAX),
        last_exit: clip_text(&r.last_exit, FIELD_MAX),
        detail: clip_text(&r.detail, FIELD_MAX),
        command: clip_text(&r.command, FIELD_MAX),
        ..r.clone()
    }
}

fn fit_outcome(o: &Outcome) -> Outcome {
    Outcome {
        name: clip_text(&o.name, FIELD_MAX),
        ok: o.ok,
        message: clip_text(&o.message, FIELD_MAX),
    }
}

// ------------------------------------------------------------- the table

/// When the first idle connection times out; None with none idle, so an
/// empty table adds no wake-up.
pub fn idle_deadline<K>(conns: &BTreeMap<K, Conn>) -> Option<Instant> {
    let t = idle_timeout();
    conns
        .values()
        .filter_map(|c| c.idle_since())
        .min()
        .map(|s| s + t)
}

/// Drops the connections idle for the timeout; says how many.
pub fn expire_idle<K>(conns: &mut BTreeMap<K, Conn>, now: Instant) -> usize {
    let t = idle_timeout();
    let mut n = 0;
    for c in conns.values_mut() {
        if c.idle_since().is_some_and(|s| s + t <= now) {
            c.dead = true;
            n += 1;
        }
    }
    n
}

/// The connection idle the longest, of `pid` only if given.
pub fn oldest_idle<K: Copy>(conns: &BTreeMap<K, Conn>, pid: Option<i32>) -> Option<K> {
    conns
        .iter()
        .filter(|(_, c)| pid.is_none_or(|p| c.pid == p) && !c.finished())
        .filter_map(|(k, c)| c.idle_since().map(|s| (s, *k)))
        .min_by_key(|(s, _)| *s)
        .map(|(_, k)| k)
}

/// Connections of `pid` still open.
pub fn count_of<K>(conns: &BTreeMap<K, Conn>, pid: i32) -> usize {
    conns
        .values()
        .filter(|c| c.pid == pid && !c.finished())
        .count()
}

/// Bytes of answers waiting for all peers together.
pub fn buffered_total<K>(conns: &BTreeMap<K, Conn>) -> usize {
    conns.values().filter(|c| !c.dead).map(Conn::buffered).sum()
}

/// Drops the peers holding the most unread answers (or `tail -f` output)
/// until all together hold at most [`BUFFERED_MAX`]; says whose.
pub fn shed<K>(conns: &mut BTreeMap<K, Conn>) -> Vec<i32> {
    let mut total = buffered_total(conns);
    let mut dropped = Vec::new();
    while total > BUFFERED_MAX {
        let Some(c) = conns
            .values_mut()
            .filter(|c| !c.dead)
            .max_by_key(|c| c.buffered())
        else {
            break;
        };
        total -= c.buffered();
        c.dead = true;
        dropped.push(c.pid);
    }
    dropped
}

/// Closes the connections idle too long, and the peers that leave the
/// most unread when all together hold too much.
pub fn limit<K>(conns: &mut BTreeMap<K, Conn>, log: &mut Logger) {
    let expired = expire_idle(conns, Instant::now());
    if expired > 0 {
        log.info(&format!("closed {expired} idle connections"));
    }
    for pid in shed(conns) {
        let msg = format!(
            "clients hold over {} MiB of unread answers and unfinished requests: dropped a client of pid {pid}",
            BUFFERED_MAX >> 20
        );
        log.warn_limited("unread answers", &msg);
    }
}

/// Frees a slot for a new client of `pid`, closing the connection idle the
/// longest (its own, when it holds its whole share), or says why there is
/// none: a full table of idle clients locks nobody out.
pub fn make_room<K: Copy + Ord>(
    conns: &mut BTreeMap<K, Conn>,
    pid: i32,
    log: &mut Logger,
) -> Result<(), String> {
    let open = conns.values().filter(|c| !c.finished()).count();
    let mine = count_of(conns, pid);
    let of = if mine >= MAX_PER_PID {
        Some(pid)
    } else if open >= MAX_CONNS {
        None
    } else {
        return Ok(());
    };
    match oldest_idle(conns, of) {
        Some(old) => {
            if let Some(c) = conns.remove(&old) {
                let msg = format!(
                    "closed the oldest idle connection (pid {}) to make room",
                    c.pid
                );
                log.warn_limited("making room", &msg);
            }
            Ok(())
        }
        None if of.is_some() => Err(format!(
            "too many connections: pid {pid} holds {mine}, the most one process may"
        )),
        None => Err(format!(
            "too many connections: all {MAX_CONNS} are busy; try again later"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(command_len: usize) -> ServiceInfo {
        ServiceInfo {
            name: "web".into(),
            state: "RUNNING".into(),
            pid: 7,
            detail: "pid 7, uptime 0:00:01".into(),
            command: "x".repeat(command_len).into(),
            ..ServiceInfo::default()
        }
    }

    #[test]
    fn sizes_match_the_encoding() {
        for n in [0, 5, 6000] {
            let r = row(n);
            let list = Response::Status(vec![r.clone()].into());
            // Header 4, version 1, variant 2, list length 8.
            assert_eq!(wire::encode(&list).len(), 15 + row_size(&r));
            let o = Outcome {
                name: "x".repeat(n).into(),
                ok: true,
                message: "started".into(),
            };
            let list = Response::Outcomes(vec![o.clone()].into());
            assert_eq!(wire::encode(&list).len(), 15 + outcome_size(&o));
        }
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_at_a_char_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc... (4 bytes)");
        // 'é' is two bytes: a cut inside it moves back before it.
        assert_eq!(clip("aéb", 2), "a... (4 bytes)");
    }

    #[test]
    fn a_huge_row_is_cut_to_fit() {
        let r = fit_row(&row(3 << 20));
        assert!(row_size(&r) < FIELD_MAX + 1024);
        assert!(r.command.ends_with(&format!("... ({} bytes)", 3 << 20)));
    }

    #[test]
    fn the_biggest_unread_buffers_are_shed_first() {
        let now = Instant::now();
        let mut conns = BTreeMap::new();
        let mut peers = Vec::new();
        for (k, size) in [(1, 30 << 20), (2, 1 << 10), (3, 40 << 20), (4, 20 << 20)] {
            let (a, b) = UnixStream::pair().unwrap();
            peers.push(b);
            let mut c = Conn::new(a, k, now);
            c.wbuf = vec![0; size];
            conns.insert(k, c);
        }
        // 91 MiB: dropping the 40 MiB one leaves 51, under the budget.
        assert_eq!(shed(&mut conns), vec![3]);
        assert!(buffered_total(&conns) <= BUFFERED_MAX);
        assert_eq!(shed(&mut conns), Vec::<i32>::new());
    }
}
