//! The daemon's stderr, written so that it can never block the loop: a
//! descriptor of its own, non-blocking, for a pipe or terminal, and lines
//! written whole, as far as they fit.

/// Whether anyone may read the daemon's stderr: it is open and is not
/// /dev/null (`init` detaches to /dev/null; so may a service manager).
pub fn stderr_heard() -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat(2) fills the buffer on success.
    if unsafe { libc::fstat(2, st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat succeeded.
    let st = unsafe { st.assume_init() };
    let null = std::fs::metadata("/dev/null").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.rdev()
    });
    !(st.st_mode & libc::S_IFMT == libc::S_IFCHR && null.is_ok_and(|r| r == st.st_rdev))
}

/// Writes lines to stderr only as far as that cannot block: a full pipe
/// (a reader that stopped reading) keeps them for later, never stalls the
/// daemon. poll(2) reports a pipe writable when PIPE_BUF bytes fit, and a
/// write of at most PIPE_BUF is taken whole, so `bytes` is sent in pieces
/// of at most PIPE_BUF that end at a line end, each after its own poll.
/// Ok is how much was written; Err says why the rest cannot be.
pub(crate) fn write_stderr(fd: std::os::fd::RawFd, all: &[u8]) -> Result<usize, Gone> {
    let mut bytes = all;
    while !bytes.is_empty() {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            return Err(Gone::ForGood);
        }
        if n != 1 || pfd.revents & libc::POLLOUT == 0 {
            break;
        }
        let mut n = bytes.len().min(libc::PIPE_BUF);
        if n < bytes.len() {
            // End the piece at a line end, unless one line is longer.
            if let Some(end) = bytes[..n].iter().rposition(|&b| b == b'\n') {
                n = end + 1;
            }
        }
        // SAFETY: writing a valid buffer to an open descriptor.
        let wrote = unsafe { libc::write(fd, bytes.as_ptr().cast(), n) };
        if wrote < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => break,
                Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG | libc::EIO) => {
                    return Err(Gone::Full)
                }
                _ => return Err(Gone::ForGood),
            }
        }
        if wrote == 0 {
            break;
        }
        bytes = &bytes[wrote as usize..];
    }
    Ok(all.len() - bytes.len())
}

/// Why stderr took no more.
pub(crate) enum Gone {
    /// A file on a full disk: these lines are lost, later ones may pass.
    Full,
    /// Closed, EPIPE, EBADF: nobody will read it again.
    ForGood,
}

/// A descriptor of the daemon's own for its stderr when that is a pipe,
/// FIFO or terminal: opened again through /proc with O_NONBLOCK, it is a
/// new open file description, so a write that does not fit returns EAGAIN
/// instead of blocking the loop (a pty of a frozen ssh session takes part
/// of a write and waits for the rest even after poll said there was room),
/// and the children's shared fd 2 stays blocking as they expect. None
/// (write fd 2) for a regular file, which never blocks, or where /proc
/// cannot reopen it (a socket).
pub(super) fn own_stderr() -> Option<std::os::fd::OwnedFd> {
    own_fd(2)
}

/// [`own_stderr`] for fd 1 or 2 (children's output to `/dev/stdout`).
pub(crate) fn own_fd(n: std::os::fd::RawFd) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat(2) fills the buffer on success.
    if unsafe { libc::fstat(n, st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded.
    let kind = unsafe { st.assume_init() }.st_mode & libc::S_IFMT;
    if kind != libc::S_IFIFO && kind != libc::S_IFCHR {
        return None;
    }
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    let path = if n == 1 {
        c"/proc/self/fd/1"
    } else {
        c"/proc/self/fd/2"
    };
    // SAFETY: open(2) of a NUL-terminated path; the descriptor is ours.
    let fd = unsafe { libc::open(path.as_ptr(), flags) };
    // SAFETY: just opened, owned by nobody else.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
