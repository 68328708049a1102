//! The daemon's own stdout and stderr as a log target of its children
//! (`stdout_logfile=/dev/stdout`, SPEC §15): every program's output comes
//! here as whole lines (see [`super::shape::whole_lines`]) and is written
//! in pieces that end at a line end, by the one daemon thread, so lines of
//! two programs never interleave.
//!
//! Never blocking the loop: a descriptor of its own, non-blocking, for a
//! pipe or terminal (as the daemon's log has for stderr); what does not fit
//! waits, in order, and the loop polls for room ([`Shared::waiting`]).
//! Past [`HIGH`] waiting, the pipes of the programs writing there are not
//! read until it drains ([`Shared::full`]): they wait as they would on a
//! full stdout of their own, and nothing is lost. At most [`PENDING_MAX`]
//! waits (the last words of a process that ends are read all the same);
//! a read's lines past it are dropped whole.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::core::log::{own_fd, write_whole, WriteGone};

/// The most bytes held for one stream that cannot take them yet.
const PENDING_MAX: usize = 4 << 20;
/// Held past this, the programs writing there are not read for a while.
const HIGH: usize = 256 << 10;

/// fd 1 and fd 2 of the daemon, for its children's lines.
#[derive(Debug, Default)]
pub struct Shared {
    outs: [Out; 2],
}

#[derive(Debug, Default)]
struct Out {
    /// Opened on first use: None with `opened` is fd 1 or 2 itself (a
    /// regular file, which never blocks, or what /proc cannot reopen).
    fd: Option<OwnedFd>,
    opened: bool,
    pending: Vec<u8>,
    /// Its reader is gone for good (EPIPE, closed): lines are dropped.
    gone: bool,
}

impl Shared {
    /// Queues whole `lines` for the daemon's fd `n` (1 or 2) and writes
    /// what fits now. False when they were dropped (the queue is full).
    pub fn push(&mut self, n: i32, lines: &[u8]) -> bool {
        let Some(out) = self.outs.get_mut((n as usize).wrapping_sub(1)) else {
            return true;
        };
        if lines.is_empty() || out.gone {
            return true;
        }
        if !out.opened {
            out.fd = own_fd(n);
            out.opened = true;
        }
        if out.pending.len() + lines.len() > PENDING_MAX {
            return false;
        }
        out.pending.extend_from_slice(lines);
        out.write(n);
        true
    }

    /// Whether fd `n` holds so much waiting that its writers are not read.
    pub fn full(&self, n: i32) -> bool {
        let i = (n as usize).wrapping_sub(1);
        self.outs.get(i).is_some_and(|o| o.pending.len() >= HIGH)
    }

    /// Writes what waits, as far as it fits (the loop found room).
    pub fn write(&mut self) {
        for (n, out) in (1..).zip(&mut self.outs) {
            out.write(n);
        }
    }

    /// The daemon is leaving: what waits is written as room comes, for at
    /// most `within` (a reader that does not read loses the rest).
    pub fn write_before_exit(&mut self, within: std::time::Duration) {
        let deadline = std::time::Instant::now() + within;
        loop {
            self.write();
            let fds: Vec<RawFd> = self.waiting().collect();
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if fds.is_empty() || left.is_zero() {
                return;
            }
            let mut pfds: Vec<libc::pollfd> = (fds.iter())
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                })
                .collect();
            // SAFETY: a valid array of pollfds, for at most `left`.
            unsafe {
                libc::poll(
                    pfds.as_mut_ptr(),
                    pfds.len() as _,
                    left.as_millis() as i32 + 1,
                )
            };
        }
    }

    /// The descriptors with lines waiting for room, for POLLOUT.
    pub fn waiting(&self) -> impl Iterator<Item = RawFd> + '_ {
        (1..)
            .zip(&self.outs)
            .filter(|(_, o)| !o.pending.is_empty())
            .map(|(n, o)| o.fd.as_ref().map_or(n, |fd| fd.as_raw_fd()))
    }
}

impl Out {
    fn write(&mut self, n: RawFd) {
        if self.pending.is_empty() {
            return;
        }
        let fd = self.fd.as_ref().map_or(n, |fd| fd.as_raw_fd());
        match write_whole(fd, &self.pending) {
            Ok(done) => drop(self.pending.drain(..done)),
            Err(WriteGone::Full) => self.pending.clear(),
            Err(WriteGone::ForGood) => {
                self.gone = true;
                self.pending = Vec::new();
            }
        }
    }
}

impl Drop for Shared {
    /// The daemon ends: the last lines go out if they fit.
    fn drop(&mut self) {
        self.write();
    }
}
