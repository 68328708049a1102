//! Thin `io::Result` wrappers over the system calls std and nix do not cover
//! the way the daemon needs them. Each names its C call and man page.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `pidfd_open(2)`: a descriptor that becomes readable when `pid` exits, so
/// an adopted process is watched with no polling (SPEC §6).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this descriptor (opened O_CLOEXEC).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `kill(2)` / `killpg(2)`: a signal to a process or to its group.
pub fn send_signal(pid: i32, sig: i32, group: bool) -> io::Result<()> {
    let target = if group { -pid } else { pid };
    // SAFETY: plain syscall.
    check(unsafe { libc::kill(target, sig) }).map(drop)
}

/// Whether any process is left in group `pgid`: `kill(-pgid, 0)`, which
/// answers at once but counts zombies too (see [`live_groups`]).
pub fn group_present(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Which of `pgids` have a member that is not a zombie, in one pass over
/// /proc for all of them. A zombie nobody reaps (its parent is not us
/// after a daemon crash) must not keep a stop waiting for ever. An
/// unreadable /proc counts every group as alive.
pub fn live_groups(pgids: &[i32]) -> std::collections::HashSet<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pgids.iter().copied().collect();
    };
    let wanted: std::collections::HashSet<i32> = pgids.iter().copied().collect();
    let mut live = std::collections::HashSet::new();
    for pid in dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        if let Some(g) = pgrp.filter(|g| wanted.contains(g)) {
            if state != Some("Z") && state != Some("X") {
                live.insert(g);
                if live.len() == wanted.len() {
                    break;
                }
            }
        }
    }
    live
}

/// How long ago a process started, from its /proc start time (clock ticks
/// since boot) and /proc/uptime.
pub fn age(start_ticks: u64) -> Option<std::time::Duration> {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    let started = start_ticks as f64 / hz as f64;
    std::time::Duration::try_from_secs_f64((uptime - started).max(0.0)).ok()
}

/// `pipe2(2)` with O_CLOEXEC: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both were just created and are ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `fcntl(2)` F_SETFL O_NONBLOCK.
pub fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we hold.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) }).map(drop)
}

/// `prctl(2)` PR_SET_CHILD_SUBREAPER: orphaned grandchildren are reparented
/// to the daemon, which reaps them, so none is left a zombie.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: plain prctl.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// `getsockopt(2)` SO_PEERCRED: the pid, uid and gid of the process at
/// the other end of a unix socket (the daemon checks its clients, the
/// client checks its daemon).
pub fn peer_cred(fd: &impl AsRawFd) -> io::Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len describe a valid ucred buffer.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(cred)
}

/// `flock(2)` LOCK_EX|LOCK_NB: Ok(false) when another process holds it.
pub fn try_lock(fd: &impl AsRawFd) -> io::Result<bool> {
    // SAFETY: flock on a descriptor we hold.
    match check(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The start time of a process in clock ticks since boot: field 22 of
/// `/proc/PID/stat`. With the pid it identifies a process across pid reuse.
pub fn start_time(pid: i32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_start_time(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc stat"))
}

/// Field 22 of a stat line; the comm field (2) may hold spaces and parens,
/// so fields are counted after its last `)`.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The short name of a process, from `/proc/PID/comm`.
pub fn comm(pid: i32) -> io::Result<String> {
    Ok(std::fs::read_to_string(format!("/proc/{pid}/comm"))?
        .trim_end()
        .to_string())
}

/// `close_range(2)` from `lo` up: drops every descriptor this process
/// inherited past `lo`. Where the kernel lacks it, the open ones listed in
/// /proc/self/fd are closed one by one.
pub fn close_from(lo: RawFd) {
    // SAFETY: plain syscall; called before the process opens anything of
    // its own, so no descriptor in use is closed under anyone's feet.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            lo as libc::c_uint,
            libc::c_uint::MAX,
            0,
        )
    };
    if rc == 0 {
        return;
    }
    let open: Vec<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|fd| *fd >= lo)
            .collect(),
        Err(_) => (lo..1024).collect(),
    };
    for fd in open {
        // SAFETY: as above; a descriptor already closed gives EBADF.
        unsafe { libc::close(fd) };
    }
}

/// The real uid of this process.
pub fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_skips_comm_with_spaces_and_parens() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_start_time(line), Some(123456));
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn an_empty_group_is_not_alive_and_ours_is() {
        // SAFETY: getpgrp cannot fail.
        let mine = unsafe { libc::getpgrp() };
        assert!(group_present(mine));
        assert!(live_groups(&[mine]).contains(&mine));
        assert!(!group_present(i32::MAX - 7));
        assert!(live_groups(&[i32::MAX - 7]).is_empty());
    }

    #[test]
    fn own_age_is_small_and_sane() {
        let t = start_time(std::process::id() as i32).unwrap();
        let age = age(t).unwrap();
        assert!(age < std::time::Duration::from_secs(24 * 3600), "{age:?}");
    }

    #[test]
    fn own_start_time_is_stable() {
        let pid = std::process::id() as i32;
        let a = start_time(pid).unwrap();
        assert_eq!(a, start_time(pid).unwrap());
    }
}
