//! A launched child until its exec: the report pipe the loop polls, and
//! the memory lent to the child, freed only once that pipe has ended.

use super::child::ChildCtx;
use super::stack::Stack;
use super::{Child, Command};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// A child started by [`Command::launch`] that may not have exec'd yet.
/// Its report pipe is non-blocking: the daemon polls it with everything
/// else and calls [`Pending::try_wait`] when it is readable. Dropping an
/// unsettled Pending waits for the pipe to end, since the child may still
/// be using its memory; a daemon on its way out leaks it instead
/// (`std::mem::forget`), which is always safe.
pub struct Pending {
    pub(super) pid: i32,
    pub(super) report: OwnedFd,
    /// What the child wrote so far: its errno, 4 bytes, if it failed.
    pub(super) buf: [u8; 8],
    pub(super) got: usize,
    /// The child's context (from Box::into_raw), freed once it is done
    /// with it; null after that.
    pub(super) ctx: *mut ChildCtx,
    /// The child's stack, kept for the next launch once it is done.
    pub(super) stack: Option<Stack>,
    pub(super) _cmd: Arc<Command>,
    pub(super) start_time: Option<u64>,
    pub(super) _hold: (Vec<OwnedFd>, Vec<OwnedFd>),
}

impl Pending {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The read end of the report pipe, to poll: readable once the child
    /// has exec'd (end of file) or failed (its errno, then end of file).
    pub fn report_fd(&self) -> RawFd {
        self.report.as_raw_fd()
    }

    /// Its start time in clock ticks since boot (0 when /proc cannot say).
    pub fn start_time(&self) -> u64 {
        self.start_time
            .unwrap_or_else(|| crate::core::sys::start_time(self.pid).unwrap_or(0))
    }

    /// SIGKILL for a child that takes too long to reach its exec. Its
    /// memory stays lent to it until the report pipe ends.
    pub fn kill(&self) {
        // SAFETY: a plain kill(2) of our own child, not yet reaped (a
        // Pending is dropped before or when its pid is reaped).
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }

    /// SIGKILL for the child and its whole process group (a check that
    /// timed out: `sh -c "curl ..."` must not leave its curl behind). The
    /// child is not reaped yet, so its pid is still its group's id and
    /// cannot name anyone else's group; the pid itself is signalled too,
    /// for a child that has not reached its setpgid.
    pub fn kill_group(&self) {
        // SAFETY: kill(2) of our own unreaped child's group, then of it.
        unsafe {
            libc::kill(-self.pid, libc::SIGKILL);
            libc::kill(self.pid, libc::SIGKILL);
        }
    }

    /// Without blocking: None while the report pipe is open (the child has
    /// neither exec'd nor exited), else Ok once it has exec'd, or the
    /// reason it could not. Call again after None when the pipe is readable.
    pub fn try_wait(&mut self) -> Option<io::Result<Child>> {
        match self.settle()? {
            None => Some(Ok(Child {
                pid: self.pid,
                // It did exec: a /proc that cannot be read must not turn
                // that into a failure (0 then, as "unknown").
                start_time: self.start_time(),
            })),
            Some(errno) => {
                // The child exits 127 at once (its descriptors are closed,
                // so it is past its last instruction on our memory); reap
                // it if it is a zombie already, else the SIGCHLD handler
                // will and ignore it: its pid is nobody's.
                let mut status = 0;
                // SAFETY: waiting for our own child, without blocking.
                unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
                Some(Err(io::Error::from_raw_os_error(errno)))
            }
        }
    }

    /// Reads the report pipe as far as it goes. None while it is open;
    /// Some(None) once exec closed it, Some(Some(errno)) if the child
    /// failed. Once it ended the child is done with our memory, freed here.
    fn settle(&mut self) -> Option<Option<i32>> {
        loop {
            // SAFETY: reading into our own buffer from a pipe we own.
            let n = unsafe {
                libc::read(
                    self.report.as_raw_fd(),
                    self.buf[self.got..].as_mut_ptr().cast(),
                    self.buf.len() - self.got,
                )
            };
            if n > 0 {
                self.got += n as usize;
                if self.got < self.buf.len() {
                    continue;
                }
                // More than the child ever writes: cannot happen; treat
                // it as the end so the buffer cannot overflow.
                break;
            }
            if n == 0 {
                break;
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return None,
                // Any other error: the pipe is unusable; settle as if it
                // ended (never happens on a pipe we own).
                _ => break,
            }
        }
        if !self.ctx.is_null() {
            // SAFETY: made by Box::into_raw in launch, freed only here, and
            // the child no longer uses it (the report pipe has ended).
            drop(unsafe { Box::from_raw(self.ctx) });
            self.ctx = std::ptr::null_mut();
        }
        if let Some(stack) = self.stack.take() {
            stack.give_back();
        }
        let buf = self.buf;
        Some((self.got >= 4).then(|| i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]])))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        while !self.ctx.is_null() {
            if self.settle().is_some() {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: self.report.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; EINTR just loops.
            unsafe { libc::poll(&mut pfd, 1, -1) };
        }
    }
}
