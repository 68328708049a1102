//! The kernel's table of listening TCP sockets (NETLINK_SOCK_DIAG, as
//! `ss -ltn` reads it), so that a `ready=tcp:` or `http://` check on a
//! loopback address can be tried the moment its port opens instead of at
//! the next scheduled try. One read costs about as much as two refused
//! connects, whatever the number of programs waiting; it is only a hint:
//! readiness is still a connection that succeeds.
//!
//! Everything here is non-blocking: the kernel builds a dump's messages
//! while the request is sent and while it is read, so each `recv` finds the
//! next part at once; a read that would wait is given up as an error.
//!
//! See <https://man7.org/linux/man-pages/man7/sock_diag.7.html>.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// linux/sock_diag.h
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// include/net/tcp_states.h
const TCP_LISTEN: u8 = 10;
const NLMSG_HDRLEN: usize = 16;
/// struct inet_diag_req_v2: family, protocol, ext, pad, states, sockid (48).
const REQ_LEN: usize = 56;
/// struct inet_diag_msg up to the end of its sockid's addresses.
const MSG_MIN: usize = 4 + 4 + 16 + 16;
/// A dump of thousands of listeners takes a few reads; more is a fault.
const MAX_READS: usize = 256;

/// The local addresses with a TCP listener in this network namespace,
/// IPv4 and IPv6.
pub fn read() -> io::Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    for family in [libc::AF_INET, libc::AF_INET6] {
        dump(family as u8, &mut buf, &mut out)?;
    }
    Ok(out)
}

/// Whether a listener bound to `listener` takes connections to `target`:
/// the same port and address, or a wildcard of the family (an IPv6
/// wildcard also takes IPv4 unless it is v6-only, which the table does not
/// say: a false hint costs one refused try).
pub fn serves(listener: &SocketAddr, target: &SocketAddr) -> bool {
    if listener.port() != target.port() {
        return false;
    }
    let l = listener.ip();
    match (l, target.ip()) {
        (IpAddr::V4(l), IpAddr::V4(t)) => l == t || l.is_unspecified(),
        (IpAddr::V6(l), IpAddr::V6(t)) => l == t || l.is_unspecified(),
        (IpAddr::V6(l), IpAddr::V4(t)) => l.is_unspecified() || l.to_ipv4_mapped() == Some(t),
        (IpAddr::V4(_), IpAddr::V6(t)) => t.to_ipv4_mapped().is_some_and(|t| l == IpAddr::V4(t)),
    }
}

/// Whether the table speaks for connections to `target`: only for the
/// loopback addresses (and the wildcard, which connects to them).
pub fn covers(target: &SocketAddr) -> bool {
    target.ip().is_loopback() || target.ip().is_unspecified()
}

/// One family's listeners into `out`, through a socket of its own (a dump
/// left half-read never meets the next one).
fn dump(family: u8, buf: &mut [u8], out: &mut Vec<SocketAddr>) -> io::Result<()> {
    // SAFETY: plain socket(2); the descriptor is owned right after.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor that nothing else owns.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
    let req = request(family);
    // SAFETY: all-zero is a valid sockaddr_nl (pid 0: the kernel).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: req and kernel live across the call, with their lengths.
    let sent = unsafe {
        libc::sendto(
            fd,
            req.as_ptr().cast(),
            req.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    for _ in 0..MAX_READS {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if parse(&buf[..n as usize], out)? {
            return Ok(());
        }
    }
    Err(io::Error::other("the listening table did not end"))
}

/// The dump request for `family`'s TCP listeners.
fn request(family: u8) -> [u8; NLMSG_HDRLEN + REQ_LEN] {
    let mut r = [0u8; NLMSG_HDRLEN + REQ_LEN];
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    r[0..4].copy_from_slice(&((NLMSG_HDRLEN + REQ_LEN) as u32).to_ne_bytes());
    r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    r[6..8].copy_from_slice(&flags.to_ne_bytes());
    // seq and pid stay 0.
    let req = &mut r[NLMSG_HDRLEN..];
    req[0] = family;
    req[1] = libc::IPPROTO_TCP as u8;
    req[4..8].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    r
}

/// The messages of one read into `out`; true once the dump is done.
fn parse(mut b: &[u8], out: &mut Vec<SocketAddr>) -> io::Result<bool> {
    while b.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let kind = u16::from_ne_bytes([b[4], b[5]]);
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(io::Error::other(
                "a malformed message in the listening table",
            ));
        }
        let body = &b[NLMSG_HDRLEN..len];
        match kind {
            k if k == libc::NLMSG_DONE as u16 => return Ok(true),
            k if k == libc::NLMSG_ERROR as u16 => {
                let code = body
                    .get(..4)
                    .map_or(0, |c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
                return Err(io::Error::from_raw_os_error(
                    code.checked_neg().unwrap_or(libc::EIO),
                ));
            }
            SOCK_DIAG_BY_FAMILY => out.extend(listener(body)),
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        b = b.get((len + 3) & !3..).unwrap_or_default();
    }
    Ok(false)
}

/// The local address of one `struct inet_diag_msg` in LISTEN.
fn listener(m: &[u8]) -> Option<SocketAddr> {
    if m.len() < MSG_MIN || m[1] != TCP_LISTEN {
        return None;
    }
    let port = u16::from_be_bytes([m[4], m[5]]);
    let src = &m[8..24];
    let ip = match m[0] as i32 {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3])),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(src).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_listener_serves_its_address_and_the_wildcards_serve_all() {
        let t = sa("127.0.0.1:8080");
        assert!(serves(&sa("127.0.0.1:8080"), &t));
        assert!(serves(&sa("0.0.0.0:8080"), &t));
        assert!(serves(&sa("[::]:8080"), &t));
        assert!(serves(&sa("[::ffff:127.0.0.1]:8080"), &t));
        assert!(!serves(&sa("127.0.0.1:8081"), &t));
        assert!(!serves(&sa("10.1.2.3:8080"), &t));
        assert!(!serves(&sa("[::1]:8080"), &t));
        let t6 = sa("[::1]:80");
        assert!(serves(&sa("[::1]:80"), &t6));
        assert!(serves(&sa("[::]:80"), &t6));
        assert!(!serves(&sa("0.0.0.0:80"), &t6));
        assert!(covers(&t) && covers(&t6) && covers(&sa("0.0.0.0:1")));
        assert!(!covers(&sa("10.1.2.3:80")));
    }

    /// One inet_diag_msg as the kernel sends it.
    fn msg(family: i32, state: u8, port: u16, src: &[u8]) -> Vec<u8> {
        let mut body = vec![0u8; 72];
        body[0] = family as u8;
        body[1] = state;
        body[4..6].copy_from_slice(&port.to_be_bytes());
        body[8..8 + src.len()].copy_from_slice(src);
        let mut m = ((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn a_dump_is_read_to_its_end_and_an_error_is_said() {
        let mut b = msg(libc::AF_INET, TCP_LISTEN, 8080, &[127, 0, 0, 1]);
        b.extend(msg(libc::AF_INET, 1, 9, &[127, 0, 0, 1])); // ESTABLISHED
        let mut ip6 = [0u8; 16];
        ip6[15] = 1;
        b.extend(msg(libc::AF_INET6, TCP_LISTEN, 443, &ip6));
        let mut out = Vec::new();
        assert!(!parse(&b, &mut out).unwrap());
        assert_eq!(out, vec![sa("127.0.0.1:8080"), sa("[::1]:443")]);
        let mut done = (NLMSG_HDRLEN as u32 + 4).to_ne_bytes().to_vec();
        done.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        done.extend_from_slice(&[0; 14]);
        assert!(parse(&done, &mut out).unwrap());
        let mut err = (NLMSG_HDRLEN as u32 + 4).to_ne_bytes().to_vec();
        err.extend_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        err.extend_from_slice(&[0; 10]);
        err.extend_from_slice(&(-libc::EPERM).to_ne_bytes());
        let e = parse(&err, &mut out).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert!(!parse(&[20, 0, 0, 0, 0, 0], &mut out).unwrap());
        assert!(parse(
            &[200, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &mut out
        )
        .is_err());
    }

    #[test]
    fn the_table_shows_a_port_once_it_listens() {
        // Where the kernel has no sock_diag (or a sandbox refuses it), the
        // checks fall back to their schedule: nothing to test here.
        if let Err(e) = read() {
            eprintln!("no sock_diag here ({e}): skipped");
            return;
        }
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = l.local_addr().unwrap();
        let after = read().unwrap();
        assert!(
            after.iter().any(|a| serves(a, &at)),
            "{at} not in {after:?}"
        );
        drop(l);
        assert!(!read().unwrap().iter().any(|a| serves(a, &at)));
    }
}
