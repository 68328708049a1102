//! `ready=notify` (SPEC §12): the sd_notify protocol, inside the one loop.
//!
//! One datagram socket, `notify` in the instance directory, bound the first
//! time a program with `ready=notify` is spawned (a daemon without one has
//! no such socket), with SO_PASSCRED: the kernel tells us each sender's pid.
//! Its mode is 0600, as the control socket's: the instance directory is
//! 0700 (SPEC §2), so a program running as another user could not reach a
//! looser socket anyway, and loosening the directory would let that user
//! plant files beside the state. Such a program uses `ready=fd:N`, whose
//! pipe it inherits whatever its user.
//!
//! A sender is mapped to a service by process group, as systemd's
//! NotifyAccess=all: its pid is the service's process, or its
//! /proc/PID/stat pgrp is the service's group. `READY=1` is
//! [`Event::Ready`], `STATUS=` is kept for `status`, `WATCHDOG=1` re-arms the
//! watchdog, a timer that exists only while a service with `watchdog_secs`
//! is RUNNING. Anything else is dropped with a rate-limited line.

use super::{Id, Supervisor};
use crate::core::checks::Kind;
use crate::core::service::{Event, State};
use crate::core::spec::ServiceSpec;
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
use std::collections::BTreeMap;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::Instant;

/// The largest datagram read whole; a longer one is dropped as malformed.
const DATAGRAM_MAX: usize = 4096;
/// Datagrams read per pass: a flood cannot keep the loop from the rest.
const PER_PASS: usize = 64;
/// The longest `STATUS=` kept, in characters.
const STATUS_MAX: usize = 200;

/// The socket and what programs told it.
#[derive(Default)]
pub(super) struct Notify {
    sock: Option<UnixDatagram>,
    /// Its path, once bound: the children's `NOTIFY_SOCKET`.
    path: Option<String>,
    /// Binding failed once: said once, not tried on every spawn.
    failed: bool,
    /// The last `STATUS=` of each service's current process.
    status: BTreeMap<Id, (i32, String)>,
    /// Running services with a watchdog: their process and when its next
    /// `WATCHDOG=1` is due at the latest.
    watchdog: BTreeMap<Id, (i32, Instant)>,
    /// `ready=fd:N`: the read end of each starting program's pipe.
    fds: BTreeMap<Id, OwnedFd>,
}

impl Drop for Notify {
    fn drop(&mut self) {
        // A clean exit leaves no socket behind (as `sock`).
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn wants_notify(spec: &ServiceSpec) -> bool {
    spec.policy
        .ready
        .as_ref()
        .is_some_and(|c| c.kind == Kind::Notify)
}

/// What one datagram says, by the protocol's `KEY=VALUE` lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Message {
    ready: bool,
    watchdog: bool,
    status: Option<String>,
}

/// Reads a datagram; Err says why it is malformed. Keys sv does not use
/// (MAINPID, RELOADING, ...) are ignored, as systemd ignores unknown ones.
fn parse(data: &[u8]) -> Result<Message, String> {
    let text = std::str::from_utf8(data).map_err(|_| "not UTF-8".to_string())?;
    let mut m = Message::default();
    let mut any = false;
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line '{}' is not KEY=VALUE", clean(line, 40)))?;
        any = true;
        match key {
            "READY" => m.ready |= value == "1",
            "WATCHDOG" => m.watchdog |= value == "1",
            "STATUS" => m.status = Some(clean(value, STATUS_MAX)),
            _ => {}
        }
    }
    if !any {
        return Err("empty".into());
    }
    Ok(m)
}

/// At most `max` characters, control characters dropped.
fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The process group of `pid`, from /proc/PID/stat (field 5).
fn pgrp_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

impl Supervisor {
    /// Binds the socket before the first spawn of a `ready=notify`
    /// program. A failure is logged once; such programs then never become
    /// ready, and their ready_timeout says so.
    pub(super) fn bind_notify(&mut self, id: Id) {
        let n = &self.notify;
        if n.sock.is_some() || n.failed {
            return;
        }
        if !self
            .services
            .get(&id)
            .is_some_and(|s| wants_notify(&s.spec))
        {
            return;
        }
        let path = self.paths.dir.join("notify");
        let bound = (|| {
            // A daemon killed before us left its socket: we hold the lock.
            let _ = std::fs::remove_file(&path);
            let sock = UnixDatagram::bind(&path)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            sock.set_nonblocking(true)?;
            setsockopt(&sock, sockopt::PassCred, &true)?;
            Ok::<_, std::io::Error>(sock)
        })();
        match bound {
            Ok(sock) => {
                self.notify.sock = Some(sock);
                self.notify.path = Some(path.to_string_lossy().into_owned());
            }
            Err(e) => {
                self.notify.failed = true;
                let msg = format!(
                    "cannot bind the notify socket {}: {}; ready=notify programs will not become ready",
                    path.display(),
                    super::os_reason(&e)
                );
                self.log.error(&msg);
            }
        }
    }

    /// `NOTIFY_SOCKET` for a program with `ready=notify`.
    pub(super) fn notify_socket_for(&self, spec: &ServiceSpec) -> Option<String> {
        wants_notify(spec).then(|| self.notify.path.clone())?
    }

    /// The socket, for the poll set.
    pub fn notify_fd(&self) -> Option<RawFd> {
        self.notify.sock.as_ref().map(|s| s.as_raw_fd())
    }

    /// Reads what is waiting, [`PER_PASS`] datagrams at most (the rest
    /// next pass), never blocking.
    pub fn notify_read(&mut self, now: Instant) {
        for _ in 0..PER_PASS {
            let Some(sock) = &self.notify.sock else {
                return;
            };
            let mut buf = [0u8; DATAGRAM_MAX];
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!(libc::ucred, [RawFd; 16]);
            let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC;
            let got = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags);
            let (len, truncated, pid) = match got {
                Ok(msg) => {
                    let mut pid = None;
                    for c in msg.cmsgs().into_iter().flatten() {
                        match c {
                            ControlMessageOwned::ScmCredentials(cr) => pid = Some(cr.pid()),
                            ControlMessageOwned::ScmRights(fds) => {
                                // Descriptors (FDSTORE=1) are not kept.
                                for fd in fds {
                                    // SAFETY: received just now, owned by no one else.
                                    unsafe { libc::close(fd) };
                                }
                            }
                            _ => {}
                        }
                    }
                    let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
                    (msg.bytes, truncated, pid)
                }
                Err(nix::errno::Errno::EAGAIN) => return,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    let msg = format!("cannot read the notify socket: {}", e.desc());
                    self.log.warn_limited("notify read", &msg);
                    return;
                }
            };
            let Some(pid) = pid else {
                let msg = "notify: dropped a datagram without its sender's credentials";
                self.log.warn_limited("notify sender", msg);
                continue;
            };
            if truncated {
                let msg = format!(
                    "notify: dropped a datagram from pid {pid}: longer than {DATAGRAM_MAX} bytes"
                );
                self.log.warn_limited("notify malformed", &msg);
                continue;
            }
            self.notify_datagram(pid, &buf[..len], now);
        }
    }

    /// The service whose process `pid` is, or one of its group.
    fn notify_sender(&self, pid: i32) -> Option<Id> {
        let notifying = || {
            (self.services.values()).filter(|s| wants_notify(&s.spec) && s.machine.pid.is_some())
        };
        if let Some(s) = notifying().find(|s| s.machine.pid == Some(pid)) {
            return Some(s.id);
        }
        let pgrp = pgrp_of(pid)?;
        notifying()
            .find(|s| s.machine.pgid == Some(pgrp))
            .map(|s| s.id)
    }

    fn notify_datagram(&mut self, pid: i32, data: &[u8], now: Instant) {
        let Some(id) = self.notify_sender(pid) else {
            let msg = format!(
                "notify: dropped a datagram from pid {pid}: not a process of any program with ready=notify"
            );
            self.log.warn_limited("notify sender", &msg);
            return;
        };
        let message = match parse(data) {
            Ok(m) => m,
            Err(why) => {
                let name = self.services.get(&id).map_or("", |s| s.name());
                let msg = format!("notify: dropped a datagram from {name} (pid {pid}): {why}");
                self.log.warn_limited("notify malformed", &msg);
                return;
            }
        };
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let (state, main) = (svc.machine.state, svc.machine.pid.unwrap_or(0));
        let wd = svc.spec.policy.watchdog;
        if let Some(text) = message.status {
            self.notify.status.insert(id, (main, text));
        }
        if message.watchdog && state == State::Running && !wd.is_zero() {
            self.notify.watchdog.insert(id, (main, now + wd));
        }
        if message.ready && state == State::Starting {
            self.apply(id, Event::Ready, now);
        }
    }

    /// After any event: a service's status text lives as long as its
    /// process; its watchdog runs while it is RUNNING with watchdog_secs.
    pub(super) fn sync_notify(&mut self, id: Id, now: Instant) {
        self.sync_ready_fd(id);
        // A process taken back from a killed daemon notifies on the same
        // path: it must be bound again even if nothing is spawned.
        if self
            .services
            .get(&id)
            .is_some_and(|s| s.machine.pid.is_some())
        {
            self.bind_notify(id);
        }
        let svc = self.services.get(&id);
        let pid = svc.and_then(|s| s.machine.pid);
        if self
            .notify
            .status
            .get(&id)
            .is_some_and(|(p, _)| Some(*p) != pid)
        {
            self.notify.status.remove(&id);
        }
        let watched = svc.and_then(|s| {
            let on = s.machine.state == State::Running
                && wants_notify(&s.spec)
                && !s.spec.policy.watchdog.is_zero();
            on.then_some((pid?, s.spec.policy.watchdog))
        });
        match watched {
            None => {
                self.notify.watchdog.remove(&id);
            }
            Some((pid, wd)) => {
                if self.notify.watchdog.get(&id).map(|(p, _)| *p) != Some(pid) {
                    self.notify.watchdog.insert(id, (pid, now + wd));
                }
            }
        }
    }

    /// The earliest watchdog, for poll's timeout.
    pub(super) fn watchdog_due(&self) -> Option<Instant> {
        self.notify.watchdog.values().map(|(_, d)| *d).min()
    }

    /// Restarts every RUNNING program whose watchdog ran out.
    pub(super) fn run_watchdogs(&mut self, now: Instant) {
        let late: Vec<(Id, i32)> = (self.notify.watchdog.iter())
            .filter(|(_, (_, due))| *due <= now)
            .map(|(id, (pid, _))| (*id, *pid))
            .collect();
        for (id, pid) in &late {
            self.notify.watchdog.remove(id);
            if let Some(s) = self.services.get(id) {
                let msg = format!(
                    "{}: no WATCHDOG=1 within watchdog_secs={} s; restarting pid {pid}",
                    s.spec.name,
                    s.spec.policy.watchdog.as_secs()
                );
                self.log.warn(&msg);
            }
        }
        self.restart_quietly(late.into_iter().map(|(id, _)| id).collect(), now);
    }

    /// Before a spawn of a `ready=fd:N` program: a pipe whose read end the
    /// loop polls; the write end, to become the child's N, and N.
    pub(super) fn ready_fd_pipe(&mut self, id: Id) -> std::io::Result<Option<(OwnedFd, RawFd)>> {
        let check = self
            .services
            .get(&id)
            .and_then(|s| s.spec.policy.ready.as_ref());
        let Some(Kind::Fd(n)) = check.map(|c| &c.kind) else {
            return Ok(None);
        };
        let n = *n;
        let (read, write) = crate::core::sys::pipe()?;
        crate::core::sys::set_nonblocking(&read)?;
        self.notify.fds.insert(id, read);
        Ok(Some((write, n)))
    }

    /// The read ends of `ready=fd:N` pipes, for the poll set.
    pub fn ready_fd_polls(&self) -> impl Iterator<Item = (RawFd, Id)> + '_ {
        (self.notify.fds.iter()).map(|(id, fd)| (fd.as_raw_fd(), *id))
    }

    /// A `ready=fd:N` pipe is readable: a newline is READY=1; end of file
    /// (the program closed it unsaid) leaves it to its ready_timeout.
    pub fn ready_fd_read(&mut self, id: Id, now: Instant) {
        let Some(fd) = self.notify.fds.get(&id) else {
            return;
        };
        let mut buf = [0u8; 512];
        let (mut ready, mut done) = (false, false);
        // Bounded: a program writing without a newline cannot hold the loop.
        for _ in 0..8 {
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => done = true,
                Ok(n) => ready = buf[..n].contains(&b'\n'),
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => done = true,
            }
            if ready || done {
                break;
            }
        }
        if ready || done {
            self.notify.fds.remove(&id);
        }
        let starting = self.services.get(&id).map(|s| s.machine.state) == Some(State::Starting);
        if ready && starting {
            self.apply(id, Event::Ready, now);
        }
    }

    /// A pipe lives from the launch until its program is ready or gone.
    fn sync_ready_fd(&mut self, id: Id) {
        let keep = self.services.get(&id).is_some_and(|s| {
            !matches!(
                s.machine.state,
                State::Running | State::Stopping | State::Stopped | State::Exited | State::Fatal
            )
        });
        if !keep {
            self.notify.fds.remove(&id);
        }
    }

    /// The program's last `STATUS=`, for `status`.
    pub(super) fn notify_status(&self, id: Id) -> Option<&str> {
        self.notify.status.get(&id).map(|(_, s)| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn datagrams_parse_and_bad_ones_say_why() {
        let m = parse(b"READY=1\nSTATUS=up \x1b[1mnow\x07\nMAINPID=7\n").unwrap();
        assert!(m.ready && !m.watchdog);
        assert_eq!(m.status.as_deref(), Some("up [1mnow"));
        assert!(parse(b"WATCHDOG=1").unwrap().watchdog);
        assert!(!parse(b"READY=0").unwrap().ready);
        let long = format!("STATUS={}", "x".repeat(1000));
        assert_eq!(
            parse(long.as_bytes()).unwrap().status.unwrap().len(),
            STATUS_MAX
        );
        assert_eq!(parse(b"").unwrap_err(), "empty");
        assert_eq!(parse(b"\xff").unwrap_err(), "not UTF-8");
        assert_eq!(
            parse(b"hello").unwrap_err(),
            "line 'hello' is not KEY=VALUE"
        );
    }

    #[test]
    fn pgrp_of_reads_our_own_group() {
        let me = std::process::id() as i32;
        // SAFETY: getpgrp has no preconditions.
        assert_eq!(pgrp_of(me), Some(unsafe { libc::getpgrp() }));
        assert_eq!(pgrp_of(-1), None);
    }

    #[test]
    fn watchdog_secs_is_a_key() {
        let mut s = ServiceSpec::new("x", vec!["/bin/true".into()]);
        assert_eq!(s.policy.watchdog, Duration::ZERO);
        s.set("watchdog_secs", "3").unwrap();
        assert_eq!(s.policy.watchdog, Duration::from_secs(3));
        assert!(s.set("watchdog_secs", "x").is_err());
        s.set("ready", "notify").unwrap();
        assert!(wants_notify(&s));
    }
}
