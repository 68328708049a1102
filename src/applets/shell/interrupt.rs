//! Ctrl-C inside the shell: the shell runs applets in its own process, so
//! SIGINT must end the command at hand (a `tail -f`, a wait for `stop`) or
//! clear the prompt's line, not the shell.
//!
//! A flag alone would race: a Ctrl-C that lands just before a blocking read
//! begins is seen only after that read returns, maybe never. So the handler
//! also leaves a mark that cannot be missed: a byte in a pipe the prompt
//! polls beside stdin, and `shutdown(SHUT_RD)` of the command's connection
//! to the daemon ([`watch`]), after which every read of it returns at once.
//!
//! Outside the shell no handler is installed: Ctrl-C ends `sv tail -f` by
//! the default disposition as before, and [`interrupted`] stays false.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::io;
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by the handler; atomics are async-signal-safe.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The write end of the prompt's wake-up pipe, or -1.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// The current command's socket to the daemon, or -1.
static CONN: AtomicI32 = AtomicI32::new(-1);

/// Sets the flag, ends the line the terminal echoed `^C` on (so a message or
/// the prompt starts a line of its own), wakes the prompt and ends the
/// command's reads from the daemon.
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // SAFETY: write(2) and shutdown(2) are async-signal-safe; errno is
    // restored for the code the signal interrupted. A stale CONN (closed
    // since) gets ENOTSOCK or ENOTCONN at worst.
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(libc::STDOUT_FILENO, b"\n".as_ptr().cast(), 1);
        let wake = WAKE.load(Ordering::SeqCst);
        if wake >= 0 {
            libc::write(wake, b"!".as_ptr().cast(), 1);
        }
        let conn = CONN.load(Ordering::SeqCst);
        if conn >= 0 {
            libc::shutdown(conn, libc::SHUT_RD);
        }
        *libc::__errno_location() = errno;
    }
}

/// Installs the handler (sigaction(2) for SIGINT, no SA_RESTART, so a
/// blocking read returns EINTR) and returns the read end of the wake-up
/// pipe, readable after each Ctrl-C. Only for a shell at a terminal: the
/// handler writes to stdout.
pub fn catch() -> io::Result<OwnedFd> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
    // Kept for the life of the process: the handler may write at any time.
    WAKE.store(w.into_raw_fd(), Ordering::SeqCst);
    let act = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only touches atomics and makes signal-safe calls.
    unsafe { sigaction(Signal::SIGINT, &act) }?;
    Ok(r)
}

/// Whether Ctrl-C was pressed since the last [`take`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Reads and clears the flag, and forgets the last command's connection.
pub fn take() -> bool {
    CONN.store(-1, Ordering::SeqCst);
    INTERRUPTED.swap(false, Ordering::SeqCst)
}

/// Marks `fd` as the connection a Ctrl-C ends; one already pressed ends it
/// now. The client calls this for every connection; outside the shell
/// nothing reads the mark.
pub fn watch(fd: RawFd) {
    CONN.store(fd, Ordering::SeqCst);
    if interrupted() {
        // SAFETY: shutdown(2) of a socket the caller just opened.
        unsafe { libc::shutdown(fd, libc::SHUT_RD) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_connection_watched_after_ctrl_c_reads_as_ended() {
        let (mut a, _b) = UnixStream::pair().unwrap();
        INTERRUPTED.store(true, Ordering::SeqCst);
        watch(a.as_raw_fd());
        assert_eq!(a.read(&mut [0u8; 4]).unwrap(), 0, "no wait for the peer");
        assert!(take());
        assert!(!interrupted());
        assert_eq!(CONN.load(Ordering::SeqCst), -1);
    }
}
