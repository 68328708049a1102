//! The shell's lines, read as bytes straight from fd 0: std's line readers
//! retry EINTR (so Ctrl-C could not clear the line) and stop at the first
//! line that is not UTF-8 (so the rest of a script was lost silently).
//! At a terminal, stdin is polled beside the Ctrl-C pipe (see
//! [`interrupt`]), so a Ctrl-C is seen even when it came just before the read.

use super::interrupt;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// What one read of a line gives.
pub enum Line {
    /// A line without its `\n` (or `\r\n`); the last one may lack the `\n`.
    Text(Vec<u8>),
    /// Ctrl-C: what was typed so far is dropped.
    Interrupted,
    /// End of input (Ctrl-D at a terminal).
    End,
    Failed(io::Error),
}

pub struct Input<'a> {
    fd: BorrowedFd<'a>,
    /// The read end of the Ctrl-C pipe, at a terminal.
    wake: Option<OwnedFd>,
    buf: Vec<u8>,
    eof: bool,
}

impl<'a> Input<'a> {
    pub fn new(fd: BorrowedFd<'a>, wake: Option<OwnedFd>) -> Input<'a> {
        Input {
            fd,
            wake,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Forgets Ctrl-Cs pressed so far (during a command that they ended),
    /// so that they do not also clear the next prompt's line. Lines typed
    /// ahead go with them, as the terminal drops its own on Ctrl-C.
    pub fn forget_interrupts(&mut self) {
        if let Some(wake) = &self.wake {
            let mut sink = [0u8; 64];
            while matches!(nix::unistd::read(wake, &mut sink), Ok(n) if n > 0) {}
        }
        if interrupt::take() {
            self.buf.clear();
        }
    }

    /// Waits until stdin is readable (true) or Ctrl-C was pressed (false).
    fn wait(&mut self) -> io::Result<bool> {
        let Some(wake) = &self.wake else {
            return Ok(true);
        };
        loop {
            let mut fds = [
                PollFd::new(self.fd, PollFlags::POLLIN),
                PollFd::new(wake.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                // The pipe says whether it was Ctrl-C.
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            if fds[1].any().unwrap_or(false) {
                self.forget_interrupts();
                return Ok(false);
            }
            // Readable, or hung up / in error: read says which.
            if fds[0].any().unwrap_or(false) {
                return Ok(true);
            }
        }
    }

    pub fn next_line(&mut self) -> Line {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Line::Text(line);
            }
            if self.eof {
                return match self.buf.is_empty() {
                    true => Line::End,
                    false => Line::Text(std::mem::take(&mut self.buf)),
                };
            }
            match self.wait() {
                Ok(true) => {}
                Ok(false) => {
                    self.buf.clear();
                    return Line::Interrupted;
                }
                Err(e) => return Line::Failed(e),
            }
            let mut chunk = [0u8; 4096];
            match nix::unistd::read(self.fd.as_fd(), &mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                // The Ctrl-C pipe says so on the next pass.
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Line::Failed(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(input: &[u8]) -> Vec<Vec<u8>> {
        let (r, w) = nix::unistd::pipe().unwrap();
        std::fs::File::from(w).write_all(input).unwrap();
        let mut input = Input::new(r.as_fd(), None);
        let mut out = Vec::new();
        loop {
            match input.next_line() {
                Line::Text(t) => out.push(t),
                Line::End => return out,
                Line::Interrupted => panic!("no Ctrl-C here"),
                Line::Failed(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn lines_are_bytes_with_crlf_and_a_last_line_without_newline() {
        let got = lines(b"status\r\n\xff\xfe\n\nstop web");
        assert_eq!(
            got,
            [&b"status"[..], b"\xff\xfe", b"", b"stop web"].map(<[u8]>::to_vec)
        );
    }
}
