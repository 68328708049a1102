//! `tcp:HOST:PORT` (a connection succeeds), and the socket half of
//! `http://`: a non-blocking connect the loop polls for POLLOUT, then for
//! http the request and the status line. Each call does what the socket
//! allows at once and returns; the caller keeps the deadline.

use super::{http, Outcome};
use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

enum Phase {
    Connecting,
    /// http: bytes of the request sent so far.
    Sending(usize),
    /// http: waiting for the status line.
    Reading,
}

/// One try of a tcp or http check under way.
pub struct SockProbe {
    fd: OwnedFd,
    phase: Phase,
    /// http: the request to send once connected.
    request: Option<Vec<u8>>,
    buf: Vec<u8>,
}

/// What a try is after a step: still waiting for its socket, or over.
pub enum Progress {
    Waiting(SockProbe),
    Done(Outcome),
}

impl SockProbe {
    /// Begins a try: a non-blocking connect to `addr`; `request` is sent
    /// once connected (http), else the connection alone is the success.
    pub fn start(addr: SocketAddr, request: Option<Vec<u8>>) -> Progress {
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::Inet,
            SocketAddr::V6(_) => AddressFamily::Inet6,
        };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd = match socket::socket(family, SockType::Stream, flags, None) {
            Ok(fd) => fd,
            Err(e) => return Progress::Done(Err(format!("cannot make a socket: {}", e.desc()))),
        };
        let probe = SockProbe {
            fd,
            phase: Phase::Connecting,
            request,
            buf: Vec::new(),
        };
        match connect(probe.fd.as_raw_fd(), addr) {
            Ok(()) => probe.connected(),
            Err(Errno::EINPROGRESS | Errno::EINTR) => probe.settled_now(),
            Err(e) => Progress::Done(Err(e.desc().to_lowercase())),
        }
    }

    /// On loopback the kernel has answered (or refused) before connect(2)
    /// returns EINPROGRESS: a poll that does not wait ends such a try in
    /// this pass of the loop rather than the next.
    fn settled_now(self) -> Progress {
        let (fd, events) = self.interest();
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a zero timeout never sleeps.
        if unsafe { libc::poll(&mut p, 1, 0) } == 1 {
            self.advance()
        } else {
            Progress::Waiting(self)
        }
    }

    /// The descriptor to poll and for what.
    pub fn interest(&self) -> (RawFd, libc::c_short) {
        let ev = match self.phase {
            Phase::Connecting | Phase::Sending(_) => libc::POLLOUT,
            Phase::Reading => libc::POLLIN,
        };
        (self.fd.as_raw_fd(), ev)
    }

    /// Its descriptor is ready (or in error): goes as far as it can.
    pub fn advance(self) -> Progress {
        match self.phase {
            Phase::Connecting => match socket::getsockopt(&self.fd, socket::sockopt::SocketError) {
                Ok(0) => self.connected(),
                Ok(e) => Progress::Done(Err(Errno::from_raw(e).desc().to_lowercase())),
                Err(e) => Progress::Done(Err(e.desc().to_lowercase())),
            },
            Phase::Sending(_) => self.send(),
            Phase::Reading => self.read(),
        }
    }

    fn connected(mut self) -> Progress {
        if self.request.is_none() {
            return Progress::Done(Ok(()));
        }
        self.phase = Phase::Sending(0);
        self.send()
    }

    fn send(mut self) -> Progress {
        let Phase::Sending(mut off) = self.phase else {
            return Progress::Waiting(self);
        };
        let req = self.request.take().unwrap_or_default();
        while off < req.len() {
            match socket::send(self.fd.as_raw_fd(), &req[off..], MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    self.phase = Phase::Sending(off);
                    self.request = Some(req);
                    return Progress::Waiting(self);
                }
                Err(e) => return Progress::Done(Err(e.desc().to_lowercase())),
            }
        }
        self.phase = Phase::Reading;
        self.read()
    }

    fn read(mut self) -> Progress {
        let mut chunk = [0u8; 512];
        loop {
            // Never more than the status line may take: a hostile or broken
            // server cannot make the daemon hold more.
            let room = http::MAX_STATUS_LINE.saturating_sub(self.buf.len());
            match socket::recv(
                self.fd.as_raw_fd(),
                &mut chunk[..room.min(512)],
                MsgFlags::empty(),
            ) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    let end = n == 0 || self.buf.len() >= http::MAX_STATUS_LINE;
                    match http::status(&self.buf, end) {
                        Some(outcome) => return Progress::Done(outcome),
                        None if end => {
                            return Progress::Done(Err("no answer from the server".into()))
                        }
                        None => {}
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Progress::Waiting(self),
                Err(e) => return Progress::Done(Err(e.desc().to_lowercase())),
            }
        }
    }
}

/// Whether a failed try was refused: nothing listens there (yet).
pub fn refused(why: &str) -> bool {
    why == Errno::ECONNREFUSED.desc().to_lowercase()
}

/// `connect(fd, addr, len)` with a std address (nix converts one only with
/// its `net` feature, which sv does not otherwise need). On a non-blocking
/// socket: EINPROGRESS, then POLLOUT and SO_ERROR say how it went.
///
/// See <https://man7.org/linux/man-pages/man2/connect.2.html>.
fn connect(fd: RawFd, addr: SocketAddr) -> Result<(), Errno> {
    // SAFETY: all-zero is a valid sockaddr_in and sockaddr_in6.
    let mut v4: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut v6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let (ptr, len) = match addr {
        SocketAddr::V4(a) => {
            v4.sin_family = libc::AF_INET as libc::sa_family_t;
            v4.sin_port = a.port().to_be();
            v4.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            (
                (&v4 as *const libc::sockaddr_in).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_in>(),
            )
        }
        SocketAddr::V6(a) => {
            v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            v6.sin6_port = a.port().to_be();
            v6.sin6_addr.s6_addr = a.ip().octets();
            v6.sin6_flowinfo = a.flowinfo();
            v6.sin6_scope_id = a.scope_id();
            (
                (&v6 as *const libc::sockaddr_in6).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_in6>(),
            )
        }
    };
    // SAFETY: ptr points to a filled sockaddr of `len` bytes that lives
    // across the call; fd is our socket.
    let r = unsafe { libc::connect(fd, ptr, len as libc::socklen_t) };
    Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_try_ends_in_the_call_that_began_it() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = l.local_addr().unwrap();
        assert!(matches!(SockProbe::start(at, None), Progress::Done(Ok(()))));
        drop(l);
        match SockProbe::start(at, None) {
            Progress::Done(Err(why)) => assert!(refused(&why), "{why}"),
            Progress::Done(Ok(())) => panic!("connected to a closed port"),
            Progress::Waiting(_) => panic!("a refused loopback try was left to the next pass"),
        }
        assert!(!refused("timed out"));
    }
}
