//! The daemon's lines about its own decisions on a service: a state change
//! at notice, BACKOFF at warning with the attempt, FATAL at err with why
//! it gave up, and the SIGKILL after stopwaitsecs (SPEC §7).

use super::{Id, Supervisor};
use crate::core::service::{signal_name, Reason, RestartRule, State};

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

    /// The stop signal did not end it in stopwaitsecs: SIGKILL is next.
    pub(super) fn log_kill(&mut self, id: Id, leader: Option<i32>) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let p = &svc.spec.policy;
        let sig = signal_name(p.stopsignal);
        let msg = match leader {
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
