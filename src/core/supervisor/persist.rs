//! Saving the services to the state file (SPEC §8), whole, when anything
//! changed (`state_file::write` makes it atomic); taking them back from it
//! after the daemon was killed is `recover.rs`.

use super::Supervisor;
use crate::core::service::{ExitKind, Reason, State, Want};
use crate::core::state_file::{self, Saved, SavedExit, SavedReason, SavedService};
use crate::wire::Response;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch, as the state file records a deadline.
pub(super) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One service as the state file records it.
fn saved(
    s: &super::Service,
    restarting: &std::collections::HashSet<super::Id>,
    now: Instant,
    wall: SystemTime,
) -> SavedService {
    SavedService {
        name: s.spec.name.clone().into(),
        origin: s.origin.clone(),
        pid: s.machine.pid.unwrap_or(0),
        start_time: if s.machine.pid.is_some() {
            s.start_time
        } else {
            0
        },
        state: s.machine.state.name().into(),
        restarts: s.machine.restarts,
        attempts: s.machine.attempts,
        held: s.held,
        want: match s.machine.want {
            // Stopped by a `restart` under way: it is to run again.
            _ if restarting.contains(&s.id) => 0,
            Want::Up => 0,
            Want::Down => 1,
            Want::Gone => 2,
        },
        due_unix_ms: s
            .machine
            .deadline
            .filter(|_| matches!(s.machine.state, State::Pending | State::Backoff))
            .map(|d| unix_ms(wall + d.saturating_duration_since(now)))
            .unwrap_or(0),
        last_exit: match s.machine.last_exit {
            None => SavedExit::default(),
            Some(ExitKind::Code(c)) => SavedExit { kind: 1, value: c },
            Some(ExitKind::Signal(n)) => SavedExit { kind: 2, value: n },
            Some(ExitKind::Unknown) => SavedExit { kind: 3, value: 0 },
        },
        reason: match &s.machine.reason {
            Reason::None => SavedReason::default(),
            // Kept as its text: shown the same after a take-back.
            Reason::SpawnError(t) | Reason::NotReady(t) => SavedReason {
                kind: 1,
                text: t.clone().into(),
                n: 0,
            },
            Reason::TooQuickly => SavedReason {
                kind: 2,
                ..Default::default()
            },
            Reason::RestartLimit(n) => SavedReason {
                kind: 3,
                n: *n,
                ..Default::default()
            },
        },
        ever_started: s.machine.ever_started,
    }
}

impl Supervisor {
    /// Writes the state file if anything changed. A failure is logged once
    /// (until its reason changes) and returned, so that a request whose
    /// change it was is answered as failed; the write is tried again after
    /// the next pass, and supervision goes on.
    pub fn persist(&mut self, now: Instant) -> Result<(), String> {
        if !self.dirty {
            return Ok(());
        }
        let wall = SystemTime::now();
        let restarting = self.restarting();
        let services = self
            .services
            .values()
            .map(|s| saved(s, &restarting, now, wall))
            .collect();
        let schedules = self.saved_schedules();
        let path = self.paths.state();
        match state_file::write(
            &path,
            &Saved {
                services,
                schedules,
            },
        ) {
            Ok(()) => {
                self.dirty = false;
                if self.persist_error.take().is_some() {
                    self.log
                        .info(&format!("{} is written again", path.display()));
                }
                Ok(())
            }
            Err(e) => {
                let why = e.to_string();
                if self.persist_error.as_deref() != Some(&why) {
                    self.log.error(&format!("cannot save the state: {why}"));
                    self.persist_error = Some(why.clone());
                }
                Err(why)
            }
        }
    }

    /// The answer to a request once its change is on disk. When `changed`
    /// and the state file cannot be written, a success becomes an error
    /// that says the change was made but would be lost with the daemon.
    pub fn durable(&mut self, changed: bool, resp: Response, now: Instant) -> Response {
        let Err(why) = self.persist(now) else {
            return resp;
        };
        if !changed {
            return resp;
        }
        let done = match &resp {
            Response::Error(_) => return resp,
            Response::Ok(t) => t.0.clone(),
            Response::Outcomes(o) | Response::OutcomesPart(o) => o
                .iter()
                .map(|o| format!("{}: {}", o.name, o.message))
                .collect::<Vec<_>>()
                .join("; "),
            Response::Status(_)
            | Response::StatusPart(_)
            | Response::Info(_)
            | Response::Bytes(_) => return resp,
        };
        Response::Error(
            format!(
                "{done}; but the state cannot be saved ({why}): the daemon would lose this change if it died"
            )
            .into(),
        )
    }
}
