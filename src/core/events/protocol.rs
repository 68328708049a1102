//! The listener's side of protocol 3.0, read from its stdout as
//! supervisord's `PEventListenerDispatcher` reads it: `READY\n` in
//! ACKNOWLEDGED makes it READY; in BUSY a `RESULT N\n` line and N bytes
//! of result (`OK` accepts the event, anything else rejects it). Anything
//! else is a protocol error: the listener goes UNKNOWN and gets no more
//! events until its process is replaced. What it holds is bounded: a
//! result line longer than [`MAX_LINE`] is an error too, and only the first
//! bytes of a result are kept.

/// supervisord's listener states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerState {
    Acknowledged,
    Ready,
    Busy,
    Unknown,
}

/// The longest `RESULT N` line taken (supervisord waits for ever).
pub const MAX_LINE: usize = 64;

/// What the listener said.
#[derive(Debug, PartialEq, Eq)]
pub enum Said {
    Ready,
    /// The whole result came: `OK` or not.
    Result(bool),
    /// A protocol error (it is UNKNOWN now), and what it sent.
    Bad(String),
}

#[derive(Debug)]
pub struct Parser {
    pub state: ListenerState,
    buf: Vec<u8>,
    /// Bytes of result still to come, once the RESULT line is read.
    needed: Option<usize>,
    /// The result so far, its first 3 bytes (enough to tell `OK`).
    result: Vec<u8>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            state: ListenerState::Acknowledged,
            buf: Vec::new(),
            needed: None,
            result: Vec::new(),
        }
    }
}

impl Parser {
    /// The daemon sent it an event.
    pub fn sent(&mut self) {
        self.state = ListenerState::Busy;
        self.needed = None;
        self.result.clear();
    }

    /// Bytes held until more comes (at most [`MAX_LINE`] and a bit).
    pub fn held(&self) -> usize {
        self.buf.len() + self.result.len()
    }

    /// Takes what the listener wrote; what it said, in order.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Said>) {
        if self.state == ListenerState::Unknown {
            return;
        }
        self.buf.extend_from_slice(data);
        while !self.buf.is_empty() {
            match self.state {
                ListenerState::Unknown => {
                    self.buf.clear();
                }
                ListenerState::Acknowledged => {
                    if self.buf.len() < 6 {
                        return;
                    }
                    if self.buf.starts_with(b"READY\n") {
                        self.buf.drain(..6);
                        self.state = ListenerState::Ready;
                        out.push(Said::Ready);
                    } else {
                        out.push(self.bad());
                    }
                }
                // Spurious data: supervisord is strict about it.
                ListenerState::Ready => out.push(self.bad()),
                ListenerState::Busy => match self.needed {
                    None => {
                        let Some(pos) = self.buf.iter().position(|b| *b == b'\n') else {
                            if self.buf.len() > MAX_LINE {
                                out.push(self.bad());
                            }
                            return;
                        };
                        let n = (self.buf[..pos].strip_prefix(b"RESULT "))
                            .and_then(|n| std::str::from_utf8(n).ok())
                            .and_then(|n| n.trim().parse::<usize>().ok());
                        match n {
                            Some(n) if pos <= MAX_LINE => {
                                self.buf.drain(..=pos);
                                self.needed = Some(n);
                                self.result.clear();
                                self.take_result(out);
                            }
                            _ => {
                                self.buf.truncate(pos);
                                out.push(self.bad());
                            }
                        }
                    }
                    Some(_) => self.take_result(out),
                },
            }
        }
    }

    /// Takes result bytes; when the last has come, the verdict.
    fn take_result(&mut self, out: &mut Vec<Said>) {
        let Some(needed) = self.needed else { return };
        let n = needed.min(self.buf.len());
        let keep = n.min(3usize.saturating_sub(self.result.len()));
        self.result.extend_from_slice(&self.buf[..keep]);
        self.buf.drain(..n);
        self.needed = Some(needed - n);
        if needed == n {
            self.needed = None;
            self.state = ListenerState::Acknowledged;
            out.push(Said::Result(self.result == b"OK"));
        }
    }

    /// A protocol error: UNKNOWN, and what was held is dropped.
    fn bad(&mut self) -> Said {
        let shown = String::from_utf8_lossy(&self.buf[..self.buf.len().min(MAX_LINE)]).into_owned();
        self.buf.clear();
        self.needed = None;
        self.state = ListenerState::Unknown;
        Said::Bad(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ListenerState as L;

    fn feed(p: &mut Parser, data: &[u8]) -> Vec<Said> {
        let mut out = Vec::new();
        p.feed(data, &mut out);
        out
    }

    #[test]
    fn ready_then_result_in_pieces() {
        let mut p = Parser::default();
        assert_eq!(feed(&mut p, b"REA"), []);
        assert_eq!(feed(&mut p, b"DY\n"), [Said::Ready]);
        assert_eq!(p.state, L::Ready);
        p.sent();
        assert_eq!(feed(&mut p, b"RESULT"), []);
        assert_eq!(feed(&mut p, b" 2\nO"), []);
        assert_eq!(feed(&mut p, b"KREADY\n"), [Said::Result(true), Said::Ready]);
        p.sent();
        assert_eq!(feed(&mut p, b"RESULT 4\nFAIL"), [Said::Result(false)]);
        assert_eq!(p.state, L::Acknowledged);
    }

    #[test]
    fn garbage_makes_it_unknown_for_good() {
        let mut p = Parser::default();
        assert_eq!(feed(&mut p, b"hello\n"), [Said::Bad("hello\n".into())]);
        assert_eq!(p.state, L::Unknown);
        assert_eq!(feed(&mut p, b"READY\n"), []);
        // Spurious data while READY.
        let mut p = Parser::default();
        assert_eq!(
            feed(&mut p, b"READY\nx"),
            [Said::Ready, Said::Bad("x".into())]
        );
        // A bad result line.
        let mut p = Parser::default();
        feed(&mut p, b"READY\n");
        p.sent();
        assert_eq!(
            feed(&mut p, b"RESULT x\nOK"),
            [Said::Bad("RESULT x".into())]
        );
    }

    #[test]
    fn a_flood_without_line_ends_is_bounded() {
        let mut p = Parser::default();
        feed(&mut p, b"READY\n");
        p.sent();
        let out = feed(&mut p, &[b'R'; 10_000]);
        assert!(matches!(&out[..], [Said::Bad(s)] if s.len() == MAX_LINE));
        assert_eq!(p.buf.len(), 0);
    }

    #[test]
    fn a_result_of_the_wrong_length_rejects_and_desyncs_as_supervisord() {
        // Longer than said: `OK` and one more byte is not `OK`; the rest
        // of `READY\n` is then garbage.
        let mut p = Parser::default();
        feed(&mut p, b"READY\n");
        p.sent();
        let out = feed(&mut p, b"RESULT 3\nOKREADY\n");
        assert_eq!(out, [Said::Result(false)]);
        assert_eq!(feed(&mut p, b"x"), [Said::Bad("EADY\nx".into())]);
        // Shorter: `O` is not `OK`, then `K` is garbage... once 6 bytes came.
        let mut p = Parser::default();
        feed(&mut p, b"READY\n");
        p.sent();
        assert_eq!(feed(&mut p, b"RESULT 1\nOK"), [Said::Result(false)]);
        assert_eq!(feed(&mut p, b"READY\n"), [Said::Bad("KREADY\n".into())]);
        // A huge length only counts.
        let mut p = Parser::default();
        feed(&mut p, b"READY\n");
        p.sent();
        assert_eq!(feed(&mut p, b"RESULT 100000\n"), []);
        assert_eq!(feed(&mut p, &vec![b'x'; 100_000]), [Said::Result(false)]);
        assert!(p.result.len() <= 3);
    }
}
