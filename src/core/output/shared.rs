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
//! read until it drains ([`Shared::full`], checked after each read of a
//! pass too): they wait as they would on a full stdout of their own, and
//! nothing is lost. At most [`PENDING_MAX`]
//! waits (the last words of a process that ends are read all the same);
//! a read's lines past it are dropped whole.
//!
//! A partial line (a prompt) goes out after [`QUIET`] with no more bytes
//! from its pipe, as it is. Its program then owns the stream until it
//! ends that line: the lines of others wait (in `others`, counted for
//! [`Shared::full`]) for at most [`OWN_MAX`], then go out even though the
//! line is still open. A simple bound: a prompt never hides the others'
//! lines for long, and a line that ends normally is never cut.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::core::log::{own_fd, write_whole, WriteGone};

/// The most bytes held for one stream that cannot take them yet.
const PENDING_MAX: usize = 4 << 20;
/// Held past this, the programs writing there are not read for a while.
const HIGH: usize = 256 << 10;
/// A partial line with no more bytes for this long goes out as it is.
pub const QUIET: Duration = Duration::from_millis(150);
/// The longest others' lines wait for a program to end its line.
const OWN_MAX: Duration = Duration::from_secs(1);

/// fd 1 and fd 2 of the daemon, for its children's lines.
#[derive(Debug, Default)]
pub struct Shared {
    outs: [Out; 2],
    /// Writers holding a partial line, and when it goes out (see [`QUIET`]).
    quiet: Vec<(u64, i32, Instant)>,
}

#[derive(Debug, Default)]
struct Out {
    /// Opened on first use: None with `opened` is fd 1 or 2 itself (a
    /// regular file, which never blocks, or what /proc cannot reopen).
    fd: Option<OwnedFd>,
    opened: bool,
    pending: Vec<u8>,
    /// The writer whose partial line is out, and until when the others'
    /// lines wait for its end.
    owner: Option<(u64, Instant)>,
    /// Others' lines waiting for the owner's line to end.
    others: Vec<u8>,
    /// Its reader is gone for good (EPIPE, closed): lines are dropped.
    gone: bool,
}

impl Shared {
    /// Queues `lines` of writer `who` for the daemon's fd `n` (1 or 2) and
    /// writes what fits now. Whole lines, or a partial line (see [`QUIET`]).
    /// False when they were dropped (the queue is full).
    pub fn push(&mut self, n: i32, who: u64, lines: &[u8]) -> bool {
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
        let now = Instant::now();
        out.expire(now);
        let queue = match out.owner {
            Some((o, _)) if o != who => &mut out.others,
            _ => &mut out.pending,
        };
        if queue.len() + lines.len() > PENDING_MAX {
            return false;
        }
        queue.extend_from_slice(lines);
        match out.owner {
            Some((o, _)) if o != who => {}
            // Its line ended: the others' lines go out after it.
            Some(_) if lines.ends_with(b"\n") => out.release(),
            Some(_) => {}
            None if lines.ends_with(b"\n") => {}
            None => out.owner = Some((who, now + OWN_MAX)),
        }
        out.write(n);
        true
    }

    /// Writer `who` is gone: the others need not wait for its line.
    pub fn release(&mut self, who: u64) {
        self.quiet.retain(|(w, ..)| *w != who);
        for (n, out) in (1..).zip(&mut self.outs) {
            if out.owner.is_some_and(|(o, _)| o == who) {
                out.release();
                out.write(n);
            }
        }
    }

    /// Writer `who` of fd `n` holds a partial line since now, or
    /// (`false`) none.
    pub fn hold(&mut self, n: i32, who: u64, holding: bool) {
        self.quiet.retain(|(w, ..)| *w != who);
        if holding {
            self.quiet.push((who, n, Instant::now() + QUIET));
        }
    }

    /// The writers whose partial line is due to go out; the others' lines
    /// that waited long enough go out.
    pub fn due(&mut self, now: Instant) -> Vec<u64> {
        for (n, out) in (1..).zip(&mut self.outs) {
            // An owner whose reader stalls is not read, so it cannot end
            // its line: the others' wait starts again, as a quiet writer's.
            let stalled = out.pending.len() >= HIGH;
            if let Some((_, until)) = &mut out.owner {
                if *until <= now && stalled {
                    *until = now + OWN_MAX;
                }
            }
            if out.owner.is_some_and(|(_, until)| until <= now) {
                out.expire(now);
                out.write(n);
            }
        }
        // A writer not read because fd `n` is full is not quiet: it waits.
        for (_, n, t) in &mut self.quiet {
            if *t <= now && self.outs[(*n as usize - 1) & 1].is_full() {
                *t = now + QUIET;
            }
        }
        let due = (self.quiet.iter())
            .filter(|(.., t)| *t <= now)
            .map(|(w, ..)| *w)
            .collect();
        self.quiet.retain(|(.., t)| *t > now);
        due
    }

    /// When [`due`](Self::due) has work: only while something is held.
    pub fn deadline(&self) -> Option<Instant> {
        let owners = (self.outs.iter())
            .filter(|o| !o.others.is_empty())
            .filter_map(|o| o.owner.map(|(_, until)| until));
        self.quiet.iter().map(|(.., t)| *t).chain(owners).min()
    }

    /// Whether fd `n` holds so much waiting that its writers are not read.
    pub fn full(&self, n: i32) -> bool {
        let i = (n as usize).wrapping_sub(1);
        self.outs.get(i).is_some_and(Out::is_full)
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
        for out in &mut self.outs {
            out.release();
        }
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
    fn is_full(&self) -> bool {
        self.pending.len() >= HIGH || self.others.len() >= HIGH
    }

    /// The owner's line is still open past its time: the others go on.
    fn expire(&mut self, now: Instant) {
        if self.owner.is_some_and(|(_, until)| until <= now) {
            self.release();
        }
    }

    fn release(&mut self) {
        self.owner = None;
        self.pending.append(&mut self.others);
    }

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
        for out in &mut self.outs {
            out.release();
        }
        self.write();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partial line that is out owns the stream: another writer's line
    /// waits until it ends, then follows it; a line that never ends holds
    /// the others for [`OWN_MAX`] at most.
    #[test]
    fn others_wait_for_a_partial_line_to_end_for_a_bounded_time() {
        let (r, w) = crate::core::sys::pipe().unwrap();
        crate::core::sys::set_nonblocking(&r).unwrap();
        let mut shared = Shared::default();
        shared.outs[0].fd = Some(w);
        shared.outs[0].opened = true;
        let read = || {
            let mut buf = [0u8; 256];
            // SAFETY: reading into a local buffer from a pipe we hold.
            let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            buf[..n.max(0) as usize].to_vec()
        };
        assert!(shared.push(1, 7, b"ask> "));
        assert!(shared.push(1, 8, b"B line\n"));
        assert_eq!(read(), b"ask> ");
        assert!(shared.push(1, 7, b"yes\n"));
        assert_eq!(read(), b"yes\nB line\n");
        // A line left open: the others go on once its time is up.
        assert!(shared.push(1, 7, b"again> "));
        assert!(shared.push(1, 8, b"C\n"));
        assert!(shared.deadline().is_some());
        assert!(shared.due(Instant::now() + OWN_MAX).is_empty());
        assert_eq!(read(), b"again> C\n");
        assert_eq!(shared.deadline(), None, "no timer once nothing waits");
        // A writer that is gone releases the stream at once.
        assert!(shared.push(1, 7, b"bye> "));
        assert!(shared.push(1, 8, b"D\n"));
        shared.release(7);
        assert_eq!(read(), b"bye> D\n");
    }
}
