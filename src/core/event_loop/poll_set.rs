//! The pollfd array the loop hands to ppoll(2), with a parallel list of
//! tokens that say what each descriptor is (mio's `Token`s).
//!
//! Both vectors live as long as the loop and are cleared, not dropped,
//! each pass: rebuilding them allocates nothing once they have grown to
//! the daemon's size. Apart from the loop, so that the loop's file reads
//! as its steps.

use super::Token;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// The descriptors of one pass and what each one is.
#[derive(Default)]
pub(super) struct PollSet {
    fds: Vec<libc::pollfd>,
    tokens: Vec<Token>,
}

impl PollSet {
    /// Empties the set for the next pass, keeping its capacity.
    pub(super) fn clear(&mut self) {
        self.fds.clear();
        self.tokens.clear();
    }

    /// Watches `fd` for `events`; `token` comes back with its readiness.
    pub(super) fn add(&mut self, fd: RawFd, events: libc::c_short, token: Token) {
        self.fds.push(libc::pollfd {
            fd,
            events,
            revents: 0,
        });
        self.tokens.push(token);
    }

    /// `ppoll(fds, n, timeout, NULL)`: sleeps until a descriptor is ready
    /// or `timeout` has passed (never, if `None`).
    ///
    /// See <https://man7.org/linux/man-pages/man2/poll.2.html>.
    pub(super) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // In nanoseconds: a timer is never run early, and a busy pipe's
        // pause is not rounded up to a millisecond.
        let ts = timeout.map(|d| {
            let d = d.min(Duration::from_secs(i32::MAX as u64));
            libc::timespec {
                tv_sec: d.as_secs() as _,
                tv_nsec: d.subsec_nanos() as _,
            }
        });
        // SAFETY: fds is a valid array of fds.len() pollfds; the
        // timespec, if any, lives across the call; no signal mask.
        let n = unsafe {
            libc::ppoll(
                self.fds.as_mut_ptr(),
                self.fds.len() as libc::nfds_t,
                ts.as_ref().map_or(std::ptr::null(), |t| t as *const _),
                std::ptr::null(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The tokens that poll found ready, with what it found.
    pub(super) fn ready(&self) -> impl Iterator<Item = (Token, libc::c_short)> + '_ {
        // HUP and ERR count as readable: the read finds out what happened.
        self.fds
            .iter()
            .zip(self.tokens.iter())
            .filter(|(pfd, _)| pfd.revents != 0)
            .map(|(pfd, token)| (*token, pfd.revents))
    }
}
