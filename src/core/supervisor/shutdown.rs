//! Whether the daemon is closing, whom it answers when it has, and the
//! grace period of a stop signal.

use super::{ConnId, Id, Supervisor};
use crate::core::service::{Event, State};
use std::time::Instant;

/// Set by `close` or a signal (SIGTERM, SIGINT, SIGQUIT); never unset:
/// the loop ends once every service is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Running,
    /// Every service is being stopped. `by` is the connection whose
    /// `close` is answered at the end; None when a signal asked.
    Requested {
        by: Option<ConnId>,
    },
}

impl Shutdown {
    pub fn requested(self) -> bool {
        self != Shutdown::Running
    }
}

/// The grace period a stop signal gives (SPEC §15): SIGTERM from a
/// container platform is followed by SIGKILL after its own grace period,
/// so the daemon is done within the largest `stopwaitsecs` (plus the
/// moment reaping takes), however many priority levels and dependencies
/// the stop rules go through. Levels still stop in order; what is still
/// running when the period ends gets SIGKILL, later levels included.
#[derive(Default)]
pub(super) struct Grace {
    /// When the period ends; None until a stop signal came.
    until: Option<Instant>,
    /// The period is over and its SIGKILLs were sent.
    over: bool,
}

impl Supervisor {
    /// A stop signal came: the grace period begins, if it has not yet.
    pub fn begin_grace(&mut self, now: Instant) {
        if self.ending.grace.until.is_some() {
            return;
        }
        let longest = (self.services.values())
            .filter(|s| !s.spec.policy.adopted)
            .map(|s| s.spec.policy.stopwait)
            .max()
            .unwrap_or_default();
        self.ending.grace.until = Some(now + longest);
    }

    /// When the grace period ends, while it has not.
    pub(super) fn grace_due(&self) -> Option<Instant> {
        self.ending.grace.until.filter(|_| !self.ending.grace.over)
    }

    /// The end of the grace period, once a stop signal began one.
    pub(super) fn grace_end(&self) -> Option<Instant> {
        self.ending.grace.until
    }

    /// The latest a SIGKILL may come: `at`, or the end of the grace period
    /// if sooner.
    pub(super) fn grace_cap(&self, at: Instant) -> Instant {
        self.grace_end().map_or(at, |u| at.min(u))
    }

    /// At the end of the grace period: every service still running is
    /// stopped at once and sent SIGKILL (its stop's deadline brought
    /// forward: the machine's own `Timer` cell sends it).
    pub(super) fn run_grace(&mut self, now: Instant) {
        if self.grace_due().is_none_or(|t| t > now) {
            return;
        }
        self.ending.grace.over = true;
        let ids: Vec<Id> = (self.services.values())
            .filter(|s| !s.spec.policy.adopted && s.machine.state.has_process())
            .map(|s| s.id)
            .collect();
        if ids.is_empty() {
            return;
        }
        self.log.warn(&format!(
            "grace period over: sending SIGKILL to {} service{} still running",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        ));
        self.begin_batch();
        for &id in &ids {
            let state = self.services.get(&id).map(|s| s.machine.state);
            if state != Some(State::Stopping) {
                self.apply(id, Event::Stop, now);
            }
            self.apply(id, Event::Timer, now);
        }
        self.end_batch(now);
    }
}
