//! Signals and reaping: what the loop does when its signalfd, or the
//! pidfd of an adopted process, is readable.
//!
//! Every pending signal is read before any is acted on, and each kind is
//! acted on once. SIGCHLD reaps with waitpid(2) until no child is left to
//! reap, with no cap: signalfd merges SIGCHLDs, so one can stand for many
//! children (STYLE 6). Apart from the loop, so that the loop's file shows
//! only how sources are polled and dispatched.

use super::Daemon;
use crate::core::service::{Event, ExitKind};
use crate::core::supervisor::Id;
use crate::core::wait;
use nix::sys::signal::Signal;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

impl Daemon {
    // ============================================================= signals

    /// Reads every pending signal first, then acts once per kind: a
    /// SIGCHLD that arrives while restarts are being made waits for the
    /// next pass, so children that die at once cannot hold the loop here.
    pub(super) fn on_signals(&mut self, now: Instant) {
        let mut seen = Vec::new();
        // Up to 16 at a time: one read(2) in the usual case of one signal.
        const BATCH: usize = 16;
        const SIZE: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        let mut buf = [0u8; BATCH * SIZE];
        loop {
            // SAFETY: reading into a local buffer from the signalfd we own.
            let n = unsafe {
                libc::read(
                    self.signals.as_fd().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {}
                    _ => self
                        .sup
                        .log
                        .error(&format!("reading the signalfd failed: {e}")),
                }
                break;
            }
            let n = n as usize;
            for info in buf[..n - n % SIZE].chunks_exact(SIZE) {
                // ssi_signo is the first field, a u32 in native byte order.
                let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
                if let Ok(sig) = Signal::try_from(signo as i32) {
                    if !seen.contains(&sig) {
                        seen.push(sig);
                    }
                }
            }
            if n < buf.len() {
                break;
            }
        }
        for sig in seen {
            match sig {
                Signal::SIGCHLD => self.reap(now),
                Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT => {
                    // Adopted processes are only watched: they are left running.
                    let n = self
                        .sup
                        .services()
                        .filter(|s| s.machine.state.has_process() && !s.spec.policy.adopted)
                        .count();
                    let s = if n == 1 { "" } else { "s" };
                    self.sup.log.notice(&format!(
                        "received {}: stopping {n} service{s}",
                        sig.as_str()
                    ));
                    self.sup.begin_shutdown(None, now);
                    // As a container platform's grace period runs (SPEC §15).
                    self.sup.begin_grace(now);
                }
                Signal::SIGHUP => {
                    self.sup
                        .log
                        .notice("received SIGHUP: reloading the config file");
                    self.reload(now);
                }
                Signal::SIGUSR2 => {
                    self.sup.log.info("received SIGUSR2: reopening log files");
                    self.sup.log.reopen();
                    let ids: Vec<u64> = self.sup.services().map(|s| s.id).collect();
                    for id in ids {
                        if let Some(s) = self.sup.service_mut(id) {
                            s.logs.iter_mut().for_each(|l| l.reopen());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Reaps every child that changed state. signalfd merges SIGCHLDs, so
    /// one signal can stand for many children: loop until none is left.
    fn reap(&mut self, now: Instant) {
        // Restarts wait until the loop is done: a child that dies at once
        // would otherwise keep this loop (and the daemon) busy for ever.
        self.sup.begin_batch();
        self.reap_all(now);
        self.sup.end_batch(now);
    }

    /// An adopted process exited: not our child, so how is unknown.
    pub(super) fn on_pidfd(&mut self, service: Id, pid: i32, now: Instant) {
        // Only for the process the pidfd watched: one that went earlier in
        // this pass (reaped as our child too) took its pidfd along, and the
        // service may have another process by now.
        if (self.sup.services()).any(|s| s.id == service && s.machine.pid == Some(pid)) {
            self.sup
                .apply(service, Event::Exited(ExitKind::Unknown), now);
        }
    }

    /// waitpid(2) itself, not nix's: nix has no way to say "killed by a
    /// real-time signal" and fails such a status after reaping it, which
    /// lost the exit for good (see `wait`).
    fn reap_all(&mut self, now: Instant) {
        loop {
            let Some((pid, ev)) = wait::wait_any() else {
                return;
            };
            if let Event::Exited(_) = ev {
                // Its report pipe has ended: settle its exec first.
                self.sup.exec_report(pid, true, now);
            }
            self.sup.child_event(pid, ev, now);
        }
    }
}

/// SIGCHLD to its default disposition, whatever the daemon inherited: an
/// ignored SIGCHLD (a parent's `signal(SIGCHLD, SIG_IGN)` survives exec)
/// makes the kernel reap every child itself, so their exits were never
/// seen (a program stayed RUNNING for ever, and `close` never ended). As
/// PID 1 this matters most: every orphan of the container is reaped here.
pub(super) fn default_sigchld() {
    // SAFETY: setting a disposition to SIG_DFL runs no code of ours.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}
