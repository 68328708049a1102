//! Client connections on the control socket (SPEC §9).
//!
//! Each connection has a read buffer that never holds more than one maximal
//! frame and a write buffer drained as the socket allows, so a slow or stuck
//! client costs memory bounded by [`WBUF_LIMIT`] and blocks nobody. A bad
//! frame gets an error response and the connection closes after it.

use crate::wire::{self, frame, FrameError, Request, Response};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

/// A client whose unread responses pass this is dropped.
pub const WBUF_LIMIT: usize = 4 << 20;
/// Status rows per frame: a row is a few hundred bytes at most, so 1000
/// stay well inside the 1 MiB frame.
const STATUS_ROWS_PER_FRAME: usize = 1000;
/// At most this many connections at once; more are closed on accept.
pub const MAX_CONNS: usize = 512;

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
}

impl Conn {
    pub fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            busy: false,
            closing: false,
            dead: false,
            eof: false,
        }
    }

    pub fn wants_read(&self) -> bool {
        !self.busy && !self.closing && !self.dead && !self.eof
    }

    /// May another request be taken from the buffer now?
    fn serving(&self) -> bool {
        !self.busy && !self.closing && !self.dead
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
        self.send(&Response::Error(format!("bad request: {e}").into()));
        self.closing = true;
    }

    /// Queues a response and sends what the socket takes now. A status of
    /// many services goes out in parts that each fit a frame.
    pub fn send(&mut self, resp: &Response) {
        if let Response::Status(rows) = resp {
            if rows.len() > STATUS_ROWS_PER_FRAME {
                let mut chunks = rows.chunks(STATUS_ROWS_PER_FRAME).peekable();
                while let Some(chunk) = chunks.next() {
                    let list = chunk.to_vec().into();
                    if chunks.peek().is_some() {
                        self.send_one(&Response::StatusPart(list));
                    } else {
                        self.send_one(&Response::Status(list));
                    }
                }
                return;
            }
        }
        self.send_one(resp);
    }

    fn send_one(&mut self, resp: &Response) {
        let mut frame = wire::encode(resp);
        if frame.len() > wire::MAX_FRAME + 4 {
            // The peer would refuse it; say so in a frame it can read.
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
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
    }
}
