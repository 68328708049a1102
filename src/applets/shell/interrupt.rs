//! Ctrl-C inside the shell: the shell runs applets in its own process, so
//! SIGINT must end the command at hand (a `tail -f`) or clear the prompt's
//! line, not the shell. [`catch`] installs a handler *without* SA_RESTART:
//! a blocking read then fails with EINTR, and the reader looks at the flag.
//!
//! Outside the shell no handler is installed: Ctrl-C ends `sv tail -f` by
//! the default disposition as before, and [`interrupted`] stays false.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler; an atomic store is async-signal-safe.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Sets the flag and ends the line the terminal echoed `^C` on at once, so
/// whatever comes next (a message, the prompt) starts a line of its own.
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // SAFETY: write(2) and errno are async-signal-safe; errno is restored
    // for the code the signal interrupted.
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(libc::STDOUT_FILENO, b"\n".as_ptr().cast(), 1);
        *libc::__errno_location() = errno;
    }
}

/// sigaction(2) for SIGINT with no SA_RESTART, so blocking reads return EINTR.
/// Only for a shell at a terminal: the handler writes to stdout.
pub fn catch() -> io::Result<()> {
    let act = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic.
    unsafe { sigaction(Signal::SIGINT, &act) }
        .map(drop)
        .map_err(io::Error::from)
}

/// Whether Ctrl-C was pressed since the last [`take`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Reads and clears the flag.
pub fn take() -> bool {
    INTERRUPTED.swap(false, Ordering::SeqCst)
}

/// A reader that ends (reads 0 bytes, as at end of stream) once Ctrl-C was
/// pressed, instead of retrying the EINTR the way `read_exact` and the frame
/// reader do: `tail -f` and every wait for an answer wrap their socket in it
/// to return to the prompt. Writes pass through.
pub struct Reader<'a, R>(pub &'a mut R);

impl<R: Read> Read for Reader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if interrupted() {
                return Ok(0);
            }
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

impl<W: Write> Write for Reader<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that fails with EINTR once, as a read does when SIGINT lands.
    struct Eintr(bool);

    impl Read for Eintr {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if std::mem::take(&mut self.0) {
                INTERRUPTED.store(true, Ordering::SeqCst);
                return Err(io::ErrorKind::Interrupted.into());
            }
            buf[0] = b'x';
            Ok(1)
        }
    }

    #[test]
    fn eintr_with_the_flag_ends_the_read_and_take_clears_it() {
        let mut inner = Eintr(true);
        assert_eq!(Reader(&mut inner).read(&mut [0u8; 4]).unwrap(), 0);
        assert!(take());
        assert!(!interrupted());
        assert_eq!(Reader(&mut inner).read(&mut [0u8; 4]).unwrap(), 1);
    }
}
