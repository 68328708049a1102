//! The daemon's lines about its own decisions on a service: a state change
//! at notice, BACKOFF at warning with the attempt, FATAL at err with why
//! it gave up, and the SIGKILL after stopwaitsecs (SPEC §7).
//!
//! Run as the `supervisord` applet, the changes supervisord logs are said
//! in its words and at its levels (process.py, supervisord.py), so the
//! greps of its users' alerting keep matching: `spawned: 'x' with pid 1`,
//! `success: x entered RUNNING state, ...`, `exited: x (exit status 1; not
//! expected)`, `gave up: x entered FATAL state, ...`, `stopped: x
//! (terminated by SIGTERM)`, `waiting for x to stop` (`to die` at
//! shutdown, one line per program where supervisord joins the names) and
//! `killing 'x' (1) with SIGKILL`. The changes it has no words for keep
//! sv's.

use super::{Id, Supervisor};
use crate::core::log::Level;
use crate::core::service::{signal_name, ExitKind, Reason, RestartRule, State};

impl Supervisor {
    /// Logs `line` (`web: STARTING -> BACKOFF`) at the level its new state
    /// calls for, with what the status detail alone does not say.
    pub(super) fn log_change(&mut self, id: Id, after: State, line: String) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let m = &svc.machine;
        match after {
            State::Fatal => {
                let why = match &m.reason {
                    Reason::TooQuickly => format!(
                        "exited too quickly; gave up after {} attempt{}",
                        m.attempts,
                        if m.attempts == 1 { "" } else { "s" }
                    ),
                    Reason::RestartLimit(n) => format!("restart limit of {n} reached"),
                    Reason::SpawnError(e) | Reason::NotReady(e) => e.clone(),
                    Reason::None => String::new(),
                };
                let msg = if why.is_empty() {
                    line
                } else {
                    format!("{line}: {why}")
                };
                self.log.error(&msg);
            }
            State::Backoff => {
                let of = match svc.spec.policy.restart {
                    RestartRule::Auto { startretries, .. } if startretries > 0 => {
                        format!(" of {startretries}")
                    }
                    _ => String::new(),
                };
                let secs = svc.spec.policy.backoff_delay(m.attempts).as_secs();
                let msg = format!(
                    "{line}: exited too quickly (attempt {}{of}); retry in {secs} s",
                    m.attempts
                );
                self.log.warn(&msg);
            }
            _ => self.log.notice(&line),
        }
    }

    /// Logs supervisord's lines for one step of a service (the daemon
    /// runs as the `supervisord` applet): its exit, then its new state.
    /// Returns whether the change of state was said (else sv's line is).
    pub(super) fn say_as_supervisord(
        &mut self,
        id: Id,
        before: State,
        old_pid: Option<i32>,
        exited: Option<ExitKind>,
    ) -> bool {
        let Some(svc) = self.services.get(&id) else {
            return false;
        };
        let (name, m, p) = (&svc.spec.name, &svc.machine, &svc.spec.policy);
        let after = m.state;
        let mut lines: Vec<(Level, String)> = Vec::new();
        if let (Some(kind), Some(_)) = (exited, old_pid) {
            let how = match kind {
                ExitKind::Code(c) => format!("exit status {c}"),
                ExitKind::Signal(s) => format!("terminated by {}", signal_name(s)),
                ExitKind::Unknown => "exit status unknown".to_string(),
            };
            let expected = matches!(kind, ExitKind::Code(c) if p.exitcodes.contains(&c));
            let level = if expected {
                Level::Info
            } else {
                Level::Warning
            };
            lines.push(match before {
                State::Stopping => (level, format!("stopped: {name} ({how})")),
                // It did not stay up for startsecs: never expected.
                State::Starting => (
                    Level::Warning,
                    format!("exited: {name} ({how}; not expected)"),
                ),
                _ if expected => (level, format!("exited: {name} ({how}; expected)")),
                _ => (level, format!("exited: {name} ({how}; not expected)")),
            });
        }
        // A spawn; with startsecs=0 straight to RUNNING.
        let spawned = m.pid.filter(|_| m.pid != old_pid && after.has_process());
        if let Some(pid) = spawned {
            lines.push((Level::Info, format!("spawned: '{name}' with pid {pid}")));
        }
        match (before, after) {
            (b, State::Running) if b == State::Starting || spawned.is_some() => lines.push((
                Level::Info,
                format!(
                    "success: {name} entered RUNNING state, process has stayed up for > \
                     than {} seconds (startsecs)",
                    p.startsecs.as_secs()
                ),
            )),
            (b, State::Fatal) if b != State::Fatal => lines.push((
                Level::Info,
                format!("gave up: {name} entered FATAL state, too many start retries too quickly"),
            )),
            (b, State::Stopping) if b != State::Stopping => {
                let how = if self.shutdown.requested() {
                    "die"
                } else {
                    "stop"
                };
                lines.push((Level::Info, format!("waiting for {name} to {how}")));
            }
            _ => {}
        }
        // The exit line (now or at the exit before) says BACKOFF, EXITED
        // and STOPPED.
        let ended = before.has_process()
            && matches!(after, State::Backoff | State::Exited | State::Stopped);
        let said = !lines.is_empty() || ended;
        for (level, line) in lines {
            self.log.log(level, &line);
        }
        said
    }

    /// The stop signal did not end it in stopwaitsecs: SIGKILL is next.
    pub(super) fn log_kill(&mut self, id: Id, leader: Option<i32>) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let p = &svc.spec.policy;
        let sig = signal_name(p.stopsignal);
        let msg = match leader {
            Some(pid) if self.log.supervisord() => {
                format!("killing '{}' ({pid}) with SIGKILL", svc.spec.name)
            }
            Some(_) => format!(
                "{}: still running {} s after {sig}; sending SIGKILL",
                svc.name(),
                p.stopwait.as_secs_f64()
            ),
            None => format!(
                "{}: its process group is still there after {sig}; sending SIGKILL",
                svc.name()
            ),
        };
        self.log.warn(&msg);
    }
}
