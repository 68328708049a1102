//! One HTTP client connection: bounded buffers both ways, the phase of
//! the request under way, and the deadline that ends a slow or idle one.
//!
//! A request is taken only once the answer before it has left (a client
//! that pipelines and never reads holds one answer here); a log stream a
//! client does not read is dropped past [`WBUF_LIMIT`]. Nothing here ever
//! blocks: the loop polls, and each call does what the socket takes now.

use crate::core::config::Credentials;
use crate::wire::http::{self, Parsed, Request};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Unread output past which a client is dropped.
pub const WBUF_LIMIT: usize = 4 << 20;
/// A request must arrive whole within this much of its first byte (408),
/// unless `$SV_HTTP_TIMEOUT_MS` says otherwise (tests use a short one).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A kept-alive connection with no request is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Output that has not moved for this long ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// A closing connection gets this long to take its last answer.
const LINGER: Duration = Duration::from_secs(5);
/// What a connection may buffer of a request without a grant: a head (and
/// a small body with it).
const READ_BASE: usize = http::MAX_HEAD + 16;
/// Request bytes past [`READ_BASE`] that all connections together may
/// buffer: 256 clients with no password could otherwise pin 256 MiB with
/// 1 MiB bodies. A request whose body would pass it gets a 503.
pub const BODIES_MAX: usize = 16 << 20;

/// How long a request may take to arrive.
pub fn request_timeout() -> Duration {
    static T: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("SV_HTTP_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(REQUEST_TIMEOUT)
    })
}

/// A unix or TCP stream.
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn write_two(&mut self, a: &[u8], b: &[u8]) -> io::Result<usize> {
        let bufs = [io::IoSlice::new(a), io::IoSlice::new(b)];
        match self {
            Stream::Unix(s) => s.write_vectored(&bufs),
            Stream::Tcp(s) => s.write_vectored(&bufs),
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }

    /// Blocking again, with a write timeout: for the last flush at exit.
    pub fn linger(&self, timeout: Duration) {
        let _ = match self {
            Stream::Unix(s) => s
                .set_nonblocking(false)
                .and_then(|_| s.set_write_timeout(Some(timeout))),
            Stream::Tcp(s) => s
                .set_nonblocking(false)
                .and_then(|_| s.set_write_timeout(Some(timeout))),
        };
    }
}

/// Where a connection is in its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the next request.
    Reading,
    /// A request is being served; its answer comes later.
    Waiting,
    /// Streaming a log to the end of the connection (`/logtail`);
    /// `chunked` for an HTTP/1.1 client.
    Streaming { chunked: bool },
}

pub struct HttpConn {
    pub stream: Stream,
    rbuf: Vec<u8>,
    /// Output not yet taken by the socket: `wbuf[wpos..]` (an offset, so a
    /// big answer sent in pieces is not shifted down after each).
    wbuf: Vec<u8>,
    wpos: usize,
    pub phase: Phase,
    /// Whether the request under way keeps the connection open after it.
    pub keep_alive: bool,
    /// Close once the output is sent.
    pub closing: bool,
    /// Gone or broke the rules: drop now.
    pub dead: bool,
    /// Dropped for not reading what it was sent, for the daemon's log.
    pub overflowed: bool,
    /// `100 Continue` was sent for the request now arriving.
    continued: bool,
    /// The peer shut down its side.
    eof: bool,
    /// Who it is, for the log: `pid 12 uid 1000` or `127.0.0.1:40000`.
    pub peer: String,
    /// The server's username and password, if it asks for them.
    pub auth: Option<Credentials>,
    /// When the first byte of the request now arriving came.
    started: Option<Instant>,
    /// When a request or an answer last moved.
    last_active: Instant,
    /// No request was taken yet: silent, it is closed at the request
    /// timeout, not the keep-alive one.
    fresh: bool,
    /// The address a TCP client reached (an `Origin` must name it).
    pub local: Option<std::net::SocketAddr>,
    /// Bytes past [`READ_BASE`] it may buffer for the request arriving,
    /// granted from the pool of all connections (`Http::bodies`).
    grant: usize,
}

impl HttpConn {
    pub fn new(stream: Stream, peer: String, auth: Option<Credentials>, now: Instant) -> Self {
        HttpConn {
            stream,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            phase: Phase::Reading,
            keep_alive: true,
            closing: false,
            dead: false,
            overflowed: false,
            continued: false,
            eof: false,
            peer,
            auth,
            started: None,
            last_active: now,
            fresh: true,
            local: None,
            grant: 0,
        }
    }

    /// Whether the loop should poll it for input. A log stream is read
    /// (and what comes is dropped) to notice the client going away.
    pub fn wants_read(&self) -> bool {
        if self.dead || self.closing || self.eof {
            return false;
        }
        match self.phase {
            Phase::Reading => self.unsent() == 0 && self.rbuf.len() < self.read_limit(),
            Phase::Waiting => false,
            Phase::Streaming { .. } => true,
        }
    }

    /// Whether the loop should watch for the client leaving: while its
    /// call waits (`startProcess` with wait), nothing is read, and a TCP
    /// client's close shows only as POLLRDHUP. A client that shuts its
    /// sending side is gone for the call, as supervisord takes it.
    pub fn wants_hangup(&self) -> bool {
        self.phase == Phase::Waiting && !self.dead
    }

    /// What the request arriving may fill of `rbuf`.
    fn read_limit(&self) -> usize {
        READ_BASE + self.grant
    }

    /// The bytes it holds of the pool of request bodies.
    pub fn granted(&self) -> usize {
        self.grant
    }

    /// Gives its grant back to the pool.
    fn release(&mut self, pool: &mut usize) {
        *pool -= self.grant.min(*pool);
        self.grant = 0;
    }

    pub fn wants_write(&self) -> bool {
        self.unsent() != 0 && !self.dead
    }

    /// Done with: dead, or closing with everything sent.
    pub fn finished(&self) -> bool {
        self.dead || (self.closing && self.unsent() == 0)
    }

    /// Reads what is there, up to one whole request beyond the buffer.
    pub fn fill(&mut self, now: Instant) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            // A log stream's client: what it sends is dropped.
            let room = if matches!(self.phase, Phase::Streaming { .. }) {
                buf.len()
            } else {
                self.read_limit().saturating_sub(self.rbuf.len())
            };
            if room == 0 {
                return;
            }
            let take = room.min(buf.len());
            match self.stream.read(&mut buf[..take]) {
                Ok(0) => {
                    self.eof = true;
                    if matches!(self.phase, Phase::Streaming { .. }) {
                        self.dead = true;
                    }
                    return;
                }
                Ok(n) => {
                    if matches!(self.phase, Phase::Streaming { .. }) {
                        continue;
                    }
                    if self.rbuf.is_empty() {
                        self.started = Some(now);
                    }
                    self.rbuf.extend_from_slice(&buf[..n]);
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

    /// The next whole request, once the answer before it has left; a bad
    /// one is Err(status, why), and the connection closes after its answer.
    /// A request's bytes past [`READ_BASE`] are granted from `pool` once
    /// its head tells its length; past [`BODIES_MAX`] it gets a 503.
    pub fn next_request(
        &mut self,
        now: Instant,
        pool: &mut usize,
    ) -> Option<Result<Request, (u16, &'static str)>> {
        if self.phase != Phase::Reading || self.closing || self.dead || self.unsent() != 0 {
            return None;
        }
        let parsed = http::parse(&self.rbuf);
        // Credentials are checked once the head is there: a client that
        // fails is neither invited to send its body nor waited for.
        if let Some(creds) = &self.auth {
            let head = match &parsed {
                Parsed::Done(req, _) => Some(req.header("authorization").map(str::to_string)),
                Parsed::Partial => http::head_header(&self.rbuf, "authorization"),
                Parsed::Error(..) => None,
            };
            if head.is_some_and(|h| !super::authorized(creds, h.as_deref())) {
                self.release(pool);
                self.rbuf.clear();
                return Some(Err((401, "this server needs a username and password")));
            }
        }
        match parsed {
            Parsed::Partial => {
                let need = http::request_len(&self.rbuf).map(|n| n.saturating_sub(READ_BASE));
                if let Some(need) = need.filter(|&n| n > self.grant) {
                    if *pool + need - self.grant > BODIES_MAX {
                        self.release(pool);
                        self.rbuf.clear();
                        return Some(Err((
                            503,
                            "too many request bodies arriving at once; try again later",
                        )));
                    }
                    *pool += need - self.grant;
                    self.grant = need;
                }
                if !self.continued && http::expects_continue(&self.rbuf) {
                    self.continued = true;
                    self.send(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                if self.eof {
                    // Nothing more will come: what is there is all of it.
                    self.closing = true;
                }
                None
            }
            Parsed::Done(req, used) => {
                self.release(pool);
                self.continued = false;
                self.rbuf.drain(..used);
                // A big body, once taken, leaves no big buffer behind.
                if self.rbuf.is_empty() && self.rbuf.capacity() > 64 * 1024 {
                    self.rbuf = Vec::new();
                }
                self.started = (!self.rbuf.is_empty()).then_some(now);
                self.last_active = now;
                self.fresh = false;
                self.keep_alive = req.keep_alive();
                Some(Ok(req))
            }
            Parsed::Error(status, why) => {
                self.release(pool);
                self.rbuf.clear();
                Some(Err((status, why)))
            }
        }
    }

    /// Sends what the socket takes of `bytes` now and queues the rest.
    pub fn send(&mut self, bytes: &[u8]) {
        if self.dead {
            return;
        }
        // A client that has not taken what it was sent before is dropped;
        // one answer goes out whole (getAllProcessInfo of 10 000 programs
        // is 12 MB; `/RPC2` answers are capped at 16 MiB, `rpc::ANSWER_MAX`).
        if self.unsent() > WBUF_LIMIT {
            self.dead = true;
            self.overflowed = true;
            return;
        }
        let mut bytes = bytes;
        // Nothing queued: straight from the caller's buffer, no copy.
        while self.unsent() == 0 && !bytes.is_empty() && !self.dead {
            match self.stream.write(bytes) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    bytes = &bytes[n..];
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if bytes.is_empty() || self.dead {
            return;
        }
        self.wbuf.extend_from_slice(bytes);
        self.flush();
    }

    /// [`send`](Self::send) of `a` then `b`, in one system call when
    /// nothing is queued (a head and its body: one wake-up of the client).
    fn send_two(&mut self, a: &[u8], b: &[u8]) {
        while self.unsent() == 0 && !self.dead {
            match self.stream.write_two(a, b) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.last_active = Instant::now();
                    if n >= a.len() {
                        return self.send(&b[n - a.len()..]);
                    }
                    self.send(&a[n..]);
                    return self.send(b);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        self.send(a);
        self.send(b);
    }

    /// Reads and drops what the client sent past what was buffered (up to
    /// a request's worth): a socket closed with unread input sends a
    /// reset, which can take the error answer with it.
    fn drain(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let mut left = http::MAX_HEAD + http::MAX_BODY;
        while left > 0 {
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Bytes queued and not yet taken by the socket.
    fn unsent(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// An error answer; the connection closes once it is sent.
    pub fn send_error(&mut self, status: u16, why: &str) {
        self.send(&http::error(status, why));
        self.drain();
        self.phase = Phase::Reading;
        self.closing = true;
    }

    /// The answer to the request under way: 200 with `body`.
    pub fn answer(&mut self, content_type: &str, body: &[u8]) {
        let close = !self.keep_alive || self.eof;
        let head = http::response_head(200, &[("Content-Type", content_type)], body.len(), close);
        self.send_two(&head, body);
        self.phase = Phase::Reading;
        self.last_active = Instant::now();
        if close {
            self.closing = true;
        }
    }

    /// [`answer`](Self::answer) with a body it takes: what the socket does
    /// not take now is queued as is, not copied (a scrape of 10 000
    /// services is 15 MB). The bounds are [`send`](Self::send)'s.
    pub fn answer_owned(&mut self, content_type: &str, body: Vec<u8>) {
        let close = !self.keep_alive || self.eof;
        let head = http::response_head(200, &[("Content-Type", content_type)], body.len(), close);
        let mut sent = 0;
        while self.unsent() == 0 && !self.dead && sent < head.len() {
            match self.stream.write_two(&head[sent..], &body) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    sent += n;
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if sent >= head.len() && !self.dead {
            // The head is out: the body becomes the output buffer.
            self.wbuf = body;
            self.wpos = sent - head.len();
            self.flush();
        } else {
            self.send(&head[sent..]);
            self.send(&body);
        }
        self.phase = Phase::Reading;
        self.last_active = Instant::now();
        if close {
            self.closing = true;
        }
    }

    /// More of a log stream: a chunk for HTTP/1.1, the bytes for 1.0.
    pub fn stream_data(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match self.phase {
            Phase::Streaming { chunked: true } => self.send(&http::chunk(data)),
            Phase::Streaming { chunked: false } => self.send(data),
            _ => {}
        }
    }

    /// Ends a log stream (its service is gone, or the daemon stops).
    pub fn end_stream(&mut self) {
        if self.phase == (Phase::Streaming { chunked: true }) {
            self.send(b"0\r\n\r\n");
        }
        self.closing = true;
    }

    /// Writes until the socket would block.
    pub fn flush(&mut self) {
        while self.unsent() != 0 && !self.dead {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.wpos += n;
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if self.unsent() == 0 {
            self.wbuf.clear();
            self.wpos = 0;
            if self.wbuf.capacity() > 64 * 1024 {
                self.wbuf = Vec::new();
            }
        } else if self.wpos > 64 * 1024 && self.wpos > self.wbuf.len() / 2 {
            // What was sent goes, now and then, not after every write.
            self.wbuf.drain(..self.wpos);
            self.wpos = 0;
        }
    }

    /// When it must be dealt with: a request not whole in time, a stalled
    /// write, an idle keep-alive; None while it waits for its answer or
    /// streams a log the client takes.
    pub fn deadline(&self) -> Option<Instant> {
        if self.dead {
            return None;
        }
        if self.closing {
            return Some(self.last_active + LINGER);
        }
        if self.unsent() != 0 {
            return Some(self.last_active + WRITE_TIMEOUT);
        }
        match self.phase {
            Phase::Reading => Some(match self.started {
                Some(t) if !self.rbuf.is_empty() => t + request_timeout(),
                _ if self.fresh => self.last_active + request_timeout(),
                _ => self.last_active + IDLE_TIMEOUT,
            }),
            Phase::Waiting | Phase::Streaming { .. } => None,
        }
    }

    /// Its deadline has passed: a request still arriving gets a 408,
    /// anything else is dropped. Returns whether it was a 408.
    pub fn expire(&mut self) -> bool {
        let slow = !self.closing
            && self.unsent() == 0
            && self.phase == Phase::Reading
            && !self.rbuf.is_empty();
        if slow {
            self.rbuf.clear();
            self.send_error(408, "the request did not arrive in time");
            self.last_active = Instant::now();
        } else {
            self.dead = true;
        }
        slow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn pair() -> (HttpConn, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let now = Instant::now();
        (HttpConn::new(Stream::Unix(a), "test".into(), None, now), b)
    }

    #[test]
    fn deadlines_follow_the_phase() {
        let (mut c, mut peer) = pair();
        let t0 = Instant::now();
        // New and silent: the request timeout from the connection.
        assert!(c.deadline().unwrap() <= Instant::now() + request_timeout());
        // Half a request: the request timeout from its first byte.
        peer.write_all(b"POST /RPC2 HTTP/1.1\r\nContent-Le")
            .unwrap();
        c.fill(t0);
        assert_eq!(c.next_request(t0, &mut 0), None);
        assert_eq!(c.deadline(), Some(t0 + request_timeout()));
        // Past it: a 408, and the connection closes once it is sent.
        assert!(c.expire());
        assert!(c.finished());
        drop(c);
        // Idle after a request: the keep-alive timeout.
        let (mut c, mut peer2) = pair();
        peer2.write_all(b"GET /a HTTP/1.1\r\n\r\n").unwrap();
        c.fill(t0);
        assert!(c.next_request(t0, &mut 0).is_some());
        assert_eq!(c.deadline(), Some(t0 + IDLE_TIMEOUT));
        let mut got = String::new();
        peer.read_to_string(&mut got).unwrap_or_default();
        assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
        // Waiting for a deferred answer: no deadline.
        let (mut c, _peer) = pair();
        c.phase = Phase::Waiting;
        assert_eq!(c.deadline(), None);
        assert!(!c.wants_read());
    }

    #[test]
    fn a_request_is_taken_once_the_answer_before_it_has_left() {
        let (mut c, mut peer) = pair();
        let now = Instant::now();
        let req = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        peer.write_all(req).unwrap();
        c.fill(now);
        let first = c.next_request(now, &mut 0).unwrap().unwrap();
        assert_eq!(first.target, "/a");
        c.answer("text/plain", &vec![b'x'; 1 << 20]);
        // The answer did not all fit in the socket: the next waits.
        assert!(c.wants_write());
        assert_eq!(c.next_request(now, &mut 0), None);
        let mut sink = vec![0u8; 2 << 20];
        while c.wants_write() {
            let _ = peer.read(&mut sink);
            c.flush();
        }
        assert_eq!(c.next_request(now, &mut 0).unwrap().unwrap().target, "/b");
    }

    #[test]
    fn an_owned_body_is_queued_as_is_and_arrives_whole() {
        let (mut c, mut peer) = pair();
        let body: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
        let want = body.clone();
        let at = body.as_ptr();
        c.answer_owned("text/plain", body);
        // More than a socket buffer: the rest waits in the body itself.
        assert!(c.wants_write());
        assert_eq!(c.wbuf.as_ptr(), at, "the body was copied");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).unwrap();
            got
        });
        while c.wants_write() {
            c.flush();
            std::thread::yield_now();
        }
        drop(c);
        let got = reader.join().unwrap();
        let split = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&got[..split]);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}", want.len())),
            "{head}"
        );
        assert!(got[split..] == want[..], "the body arrived changed");
    }
}
